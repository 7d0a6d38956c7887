from django.urls import path

from server.similarity import views

urlpatterns = [
    path("c/<slug:course_slug>/<slug:slug>/similarity/", views.similarity_page, name="similarity"),
    path("c/<slug:course_slug>/<slug:slug>/similarity/<int:pair_id>/", views.pair_page, name="similarity_pair"),
]
