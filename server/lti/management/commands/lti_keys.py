"""manage.py lti_keys rotate | retire KID | list: Bellman's LTI keys (published in /lti/jwks/)."""
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from server.lti import keys
from server.lti.models import ToolKey


class Command(BaseCommand):
    help = "Rotate, retire or list Bellman's LTI signing keys."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        rotate = sub.add_parser("rotate", help="publish a new key, which signs once the lead time has passed")
        rotate.add_argument("--lead-hours", type=float, default=keys.PUBLISH_LEAD.total_seconds() / 3600,
                            help="hours between publishing the new key and its first signature (default: 24)")
        retire = sub.add_parser("retire", help="stop publishing a key that no longer signs")
        retire.add_argument("kid")
        sub.add_parser("list", help="the keys, which one signs, which are published")

    def handle(self, *args, **options):
        if options["action"] == "rotate":
            keys.signing_key()  # a first key signs at once
            key = keys.rotate(lead=timedelta(hours=options["lead_hours"]))
            self.stdout.write(f"published {key.kid}; it signs from {key.signs_from:%Y-%m-%d %H:%M %Z}")
        elif options["action"] == "retire":
            try:
                key = keys.retire(options["kid"])
            except ToolKey.DoesNotExist:
                raise CommandError(f"no published key {options['kid']}") from None
            except keys.KeyInUse as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"retired {key.kid}")
        else:
            signing = ToolKey.signing()
            for key in ToolKey.objects.order_by("signs_from", "id"):
                state = "retired" if key.retired_at else "signs" if key == signing else \
                    "published, signs later" if key.signs_from > timezone.now() else "published"
                self.stdout.write(f"{key.kid}  {state}  signs from {key.signs_from:%Y-%m-%d %H:%M %Z}")
