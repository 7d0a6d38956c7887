from django.urls import path

from server.notifications import views

urlpatterns = [
    path("mail/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("account/mail/", views.preferences, name="mail_preferences"),
]
