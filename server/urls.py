from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from server.api.api import api
from server.scrape import metrics_view

handler400 = "server.security.bad_request"  # the message of a form field that should have held an id

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),  # Prometheus (docs/deploy.md): staff or the metrics token
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(post_reset_login=False),
         name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("", include("server.dashboard.urls")),
    path("", include("server.notifications.urls")),
    path("", include("server.api.urls")),
    path("", include("server.submissions.urls")),
    path("", include("server.reviews.urls")),
    path("", include("server.lti.urls")),
    path("", include("server.similarity.urls")),
]

# A provider's bounce webhooks suppress addresses: served only when a provider is configured and the
# webhook is protected by its shared secret (ANYMAIL_WEBHOOK_SECRET), never open to anyone.
if settings.EMAIL_BACKEND.startswith("anymail.") and getattr(settings, "ANYMAIL_WEBHOOK_SECRET", ""):
    urlpatterns.append(path("anymail/", include("anymail.urls")))
