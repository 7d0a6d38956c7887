from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "server.notifications"
    label = "notifications"
    verbose_name = "E-mail"

    def ready(self):
        from server.notifications import bounces  # noqa: F401 - connects the provider's bounce signal
