from django.urls import path

from server.reviews import views

urlpatterns = [
    path("c/<slug:course_slug>/<slug:slug>/review/", views.review_queue, name="review_queue"),
    path("submissions/<int:pk>/review/", views.review_submission, name="review_submission"),
]
