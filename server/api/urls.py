from django.urls import path

from server.api import views

urlpatterns = [
    path("account/tokens/", views.token_list, name="api_tokens"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="api_token_revoke"),
]
