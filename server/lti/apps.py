from django.apps import AppConfig


class LtiConfig(AppConfig):
    """LTI 1.3: launches from a university's LMS (OIDC login, signed id_tokens), the tool's keys, platforms."""

    name = "server.lti"
    label = "lti"

    def ready(self):
        from server.courses.signals import score_changed
        from server.lti.receivers import score_changed as record

        score_changed.connect(record, dispatch_uid="lti.score_changed")
