"""Bellman's own RSA keys for LTI: made, rotated and published (jwcrypto, which PyLTI1p3 already uses)."""
import json
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from jwcrypto import jwk

from server.errors import Refused
from server.lti.models import ToolKey


class KeyInUse(Refused):
    """The key asked to be retired is the one that signs."""

# A new key is published this long before it signs: platforms cache a tool's key set, typically for an hour or a
# day, and must have fetched the new key before the first message it signs reaches them.
PUBLISH_LEAD = timedelta(days=1)


def key_create(*, signs_from=None) -> ToolKey:
    key = jwk.JWK.generate(kty="RSA", size=2048)
    key.update(kid=key.thumbprint())  # the kid PyLTI1p3 derives from the public key (RFC 7638)
    public = json.loads(key.export_public())
    public.update({"alg": "RS256", "use": "sig"})
    pem = key.export_to_pem(private_key=True, password=None).decode()
    return ToolKey.objects.create(kid=public["kid"], private_pem=pem, public_jwk=public,
                                  signs_from=signs_from or timezone.now())


def public_pem(key: ToolKey) -> str:
    return jwk.JWK(**key.public_jwk).export_to_pem().decode()


def signing_key() -> ToolKey:
    """The key that signs now; the first one is made when there is none."""
    return ToolKey.signing() or key_create()


@transaction.atomic
def rotate(*, lead: timedelta = PUBLISH_LEAD) -> ToolKey:
    """Publish a new key that signs from ``lead`` from now; the current one signs until then and stays published
    until it is retired (``retire``)."""
    return key_create(signs_from=timezone.now() + lead)


def retire(kid: str) -> ToolKey:
    """Take a key out of the published set; the signing key cannot be retired (rotate first)."""
    key = ToolKey.published().get(kid=kid)
    if ToolKey.signing() == key:
        raise KeyInUse(f"{kid} signs now: rotate first, and retire it once the new key signs")
    key.retired_at = timezone.now()
    key.save(update_fields=["retired_at"])
    return key


def jwks() -> dict:
    """The published key set (/lti/jwks/)."""
    if not ToolKey.published().exists():
        signing_key()
    return {"keys": [k.public_jwk for k in ToolKey.published().order_by("signs_from", "id")]}
