from django.urls import path

from server.dashboard import views

urlpatterns = [
    path("c/<slug:course_slug>/", views.course_page, name="course"),
    path("c/<slug:course_slug>/gradebook.csv", views.gradebook, name="gradebook"),
    path("c/<slug:course_slug>/roster/", views.roster, name="roster"),
    path("c/<slug:course_slug>/<slug:slug>/dashboard/", views.dashboard, name="dashboard"),
    path("c/<slug:course_slug>/<slug:slug>/settings/", views.assignment_settings, name="assignment_settings"),
    path("c/<slug:course_slug>/<slug:slug>/regrade/", views.regrade, name="regrade"),
]
