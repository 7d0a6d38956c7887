from django.urls import path

from server.submissions import views

urlpatterns = [
    path("", views.home, name="home"),
    path("c/<slug:course_slug>/<slug:slug>/", views.assignment_page, name="assignment"),
    path("c/<slug:course_slug>/<slug:slug>/files/<str:name>", views.template_download, name="template"),
    path("c/<slug:course_slug>/<slug:slug>/notebook-token/", views.notebook_token, name="notebook_token"),
    path("bellman_submit.py", views.client_download, name="client_download"),
    path("submissions/<int:pk>/", views.submission_page, name="submission"),
]
