from django.apps import AppConfig


class LtiConfig(AppConfig):
    """LTI 1.3: launches from a university's LMS (OIDC login, signed id_tokens), the tool's keys, platforms."""

    name = "server.lti"
    label = "lti"
