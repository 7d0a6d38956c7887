from django.urls import path

from server.lti import views

urlpatterns = [
    path("lti/login/", views.login_initiation, name="lti_login"),
    path("lti/launch/", views.launch, name="lti_launch"),
    path("lti/jwks/", views.jwks, name="lti_jwks"),
    path("lti/register/", views.register, name="lti_register"),
    path("lti/canvas.json", views.canvas_json, name="lti_canvas"),
    path("lti/deep-link/<str:key>/", views.deep_link, name="lti_deep_link"),
    path("c/<slug:course_slug>/<slug:slug>/lms-grades/", views.lms_grades, name="lms_grades"),
]
