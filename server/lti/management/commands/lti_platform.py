"""manage.py lti_platform add --issuer ISS --client-id ID --auth-url URL --token-url URL --jwks-url URL
--deployment DEP [--deployment DEP2] [--name NAME]: register an LMS without the admin, approved."""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from server.lti.launch import url_allowed
from server.lti.models import Deployment, Platform


class Command(BaseCommand):
    help = "Register an LTI 1.3 platform (an LMS), approved, with its deployments."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="register a platform (or add deployments to a registered one)")
        add.add_argument("--issuer", required=True)
        add.add_argument("--client-id", required=True)
        add.add_argument("--auth-url", required=True, help="the platform's OIDC authorisation endpoint")
        add.add_argument("--token-url", required=True, help="the platform's OAuth2 token endpoint")
        add.add_argument("--jwks-url", required=True, help="the platform's public keys (JWKS)")
        add.add_argument("--deployment", action="append", required=True, help="a deployment id (repeatable)")
        add.add_argument("--name", default="")

    @transaction.atomic
    def handle(self, *args, **options):
        urls = {"auth_login_url": options["auth_url"], "auth_token_url": options["token_url"],
                "key_set_url": options["jwks_url"]}
        bad = [url for url in urls.values() if not url_allowed(url)]
        if bad:
            raise CommandError(f"not HTTPS: {', '.join(bad)} (plain http is allowed only on loopback with "
                               "BELLMAN_LTI_ALLOW_INSECURE=true)")
        existing = Platform.objects.filter(issuer=options["issuer"], client_id=options["client_id"]).first()
        try:
            Platform(issuer=options["issuer"], key_set_url=urls["key_set_url"],
                     pk=existing.pk if existing else None).clean()
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        platform, created = Platform.objects.update_or_create(
            issuer=options["issuer"], client_id=options["client_id"],
            defaults={**urls, "approved": True, **({"name": options["name"]} if options["name"] else {})})
        for deployment_id in options["deployment"]:
            Deployment.objects.get_or_create(platform=platform, deployment_id=deployment_id)
        self.stdout.write(f"{'registered' if created else 'updated'} {platform} with deployments "
                          f"{', '.join(d.deployment_id for d in platform.deployments.all())}")
