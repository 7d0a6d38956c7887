"""LTI 1.3 launches, on PyLTI1p3 (1EdTech's message flow, its claim validators, its service connectors for the
grade and roster services), with the checks it lacks done here (each has a test in tests/server/test_lti.py):

- the nonce is used once (a re-posted id_token is refused), and it must be the one this browser's login made;
- the state is bound to the browser by a signed cookie of its own, over plain HTTP as over HTTPS (PyLTI1p3's
  cache keys lose their session prefix over HTTP, so that a launch replayed from another browser passes);
- the signature is RS256 only, checked with the issuer, the audience (a list needs ``azp``, which must be Bellman's
  client id; PyLTI1p3 takes the list's first entry and never looks at ``azp``), expiry and issued-at with a
  leeway of at most a minute (PyLTI1p3 has none: a platform clock two seconds ahead is a 500);
- the platform's key set is cached and fetched again once for an unknown ``kid``; in the cache that every web
  process shares (Redis), not one per process;
- the platform must be approved and the deployment one of its own;
- every refusal is a LaunchRefused with words for the person who can fix it, shown as a 4xx page (PyLTI1p3's
  exceptions would reach Django as 500s).
"""
import ipaddress
import urllib.parse

import jwt
import requests
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from pylti1p3.contrib.django import DjangoMessageLaunch
from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.exception import LtiException
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract

from server.errors import Refused
from server.lti import keys
from server.lti.models import Deployment, Platform, UsedNonce

LEEWAY_S = 60  # clocks of platforms and Bellman may differ by this much (expiry, issued-at)
STATE_COOKIE = "bellman_lti_state"
STATE_MAX_AGE_S = 600  # from the login's redirect to the launch
JWKS_CACHE_S = 3600
REFETCH_EVERY_S = 60
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


def context_id(body: dict) -> str:
    """The launch's LMS course (its context claim's id), or ''."""
    context = body.get(CLAIM + "context")
    return str(context.get("id") or "")[:255] if isinstance(context, dict) else ""


class LaunchRefused(Refused):
    """A launch Bellman does not accept; the message says what to fix, and who can."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


# -- where platforms' URLs may point ------------------------------------------------------------------------------
def url_allowed(url: str) -> bool:
    """HTTPS, or (BELLMAN_LTI_ALLOW_INSECURE: tests and local development) plain HTTP on a loopback address."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme == "http" and settings.BELLMAN_LTI_ALLOW_INSECURE and parts.hostname:
        try:
            return ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            return parts.hostname == "localhost"
    return False


# -- PyLTI1p3's tool configuration, from the database -----------------------------------------------------------
def registration(platform: Platform) -> Registration:
    key = keys.signing_key()
    return (Registration().set_issuer(platform.issuer).set_client_id(platform.client_id)
            .set_key_set_url(platform.key_set_url).set_auth_token_url(platform.auth_token_url)
            .set_auth_login_url(platform.auth_login_url).set_tool_private_key(key.private_pem)
            .set_tool_public_key(keys.public_pem(key)))


class DatabaseToolConf(ToolConfAbstract):
    """Approved platforms and their deployments, as PyLTI1p3 asks for them."""

    def _platforms(self, iss: str):
        return Platform.objects.filter(issuer=iss, approved=True)

    def check_iss_has_one_client(self, iss: str) -> bool:
        return self._platforms(iss).count() == 1

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return self._platforms(iss).count() > 1

    def find_registration_by_issuer(self, iss: str, *args, **kwargs):
        platform = self._platforms(iss).first()
        return registration(platform) if platform else None

    def find_registration_by_params(self, iss: str, client_id: str, *args, **kwargs):
        platform = self._platforms(iss).filter(client_id=client_id).first()
        return registration(platform) if platform else None

    def find_deployment(self, iss: str, deployment_id: str):
        return self._deployment(self._platforms(iss), deployment_id)

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str, *args, **kwargs):
        return self._deployment(self._platforms(iss).filter(client_id=client_id), deployment_id)

    @staticmethod
    def _deployment(platforms, deployment_id: str):
        found = Deployment.objects.filter(platform__in=platforms, deployment_id=deployment_id).exists()
        return LtiDeployment().set_deployment_id(deployment_id) if found else None


# -- the login's state, bound to the browser -------------------------------------------------------------------------
def state_cookie(state: str, nonce: str, platform: Platform) -> str:
    return signing.dumps({"state": state, "nonce": nonce, "platform": platform.pk}, salt="lti-state")


def read_state_cookie(value: str | None) -> dict | None:
    if not value:
        return None
    try:
        return signing.loads(value, salt="lti-state", max_age=STATE_MAX_AGE_S)
    except signing.BadSignature:
        return None


def same_origin(request) -> bool:
    """Whether a POST came from Bellman's own page (its Origin header): the second step of a launch whose state the
    LMS's storage frame kept. Another site cannot post a state of its choosing there (a login forced on a
    victim's browser)."""
    own = urllib.parse.urlsplit(request.build_absolute_uri("/"))
    return request.headers.get("Origin") == f"{own.scheme}://{own.netloc}"


# -- the launch ------------------------------------------------------------------------------------------------------
class Launch(DjangoMessageLaunch):
    """One launch (a POST of an id_token and a state to /lti/launch/), validated by ``check()``."""

    def __init__(self, request):
        super().__init__(request, DatabaseToolConf())
        self.platform: Platform | None = None
        self._login: dict | None = None

    def check(self) -> "Launch":
        """Every check of a launch, in an order that touches nothing before the signature is verified but the
        state; raises LaunchRefused."""
        try:
            self._validated = True
            (self.validate_state().validate_jwt_format().validate_registration().validate_jwt_signature()
             .validate_deployment().validate_message().validate_nonce())
        except LtiException as exc:
            self._validated = False
            raise LaunchRefused(f"The launch is not valid: {exc}.") from None
        except LaunchRefused:
            self._validated = False
            raise
        return self

    def validate_jwt_format(self):
        super().validate_jwt_format()
        if not isinstance(self._jwt.get("header"), dict) or not isinstance(self._jwt.get("body"), dict):
            raise LaunchRefused("The id_token's header and claims must be JSON objects.")
        return self

    def validate_message(self):
        body = self._jwt.get("body", {})
        settings_claim = body.get("https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings")
        if settings_claim is not None and not isinstance(settings_claim, dict):
            raise LaunchRefused("The deep linking settings claim (deep_linking_settings) must be a JSON object.")
        try:
            return super().validate_message()
        except (AttributeError, TypeError, KeyError):  # PyLTI1p3's validators read claims as the types they expect
            raise LaunchRefused("A claim of the launch is not of the type LTI 1.3 gives it (an object where an "
                                "object is expected, a string where a string is).") from None

    def validate_state(self):
        state = self._get_request_param("state")
        login = read_state_cookie(self._request.get_cookie(STATE_COOKIE))
        if login is None and same_origin(self._request._request):  # the state the LMS's storage frame kept (storage.py)
            login = read_state_cookie(self._get_request_param("lti_storage_state"))
        if not state or login is None or login.get("state") != state:
            raise LaunchRefused(
                "This launch did not start in this browser, or its login is more than ten minutes old: open "
                "Bellman again from your course in the LMS (if it keeps failing, your browser may block the "
                "LMS's cookies for Bellman: allow them, or open Bellman in a new tab).", status=403)
        self._login = login
        return self

    def validate_registration(self):
        body = self._jwt.get("body", {})
        iss, aud, azp = body.get("iss"), body.get("aud"), body.get("azp")
        if not iss:
            raise LaunchRefused("The id_token names no issuer (iss).")
        if isinstance(aud, list):
            # A list of audiences must say which one is the token's authorised party, and it must be Bellman.
            if not azp or azp not in aud:
                raise LaunchRefused("The id_token has several audiences and no authorised party (azp) among them.")
            client_id = azp
        elif isinstance(aud, str):
            if azp is not None and azp != aud:
                raise LaunchRefused("The id_token's authorised party (azp) is not its audience.")
            client_id = aud
        else:
            raise LaunchRefused("The id_token has no audience (aud).")
        platform = Platform.objects.filter(issuer=iss, client_id=client_id).first()
        if platform is None:
            raise LaunchRefused(f"No platform with the issuer {iss!r} and the client id {client_id!r} is registered "
                                "with Bellman: a Bellman administrator registers it (docs/lti.md).")
        if not platform.approved:
            raise LaunchRefused("This platform's registration waits for a Bellman administrator's approval.",
                                status=403)
        if self._login is not None and self._login.get("platform") != platform.pk:
            raise LaunchRefused("The launch comes from another platform than the login that started it.", status=403)
        self.platform = platform
        self._registration = registration(platform)
        return self

    def validate_jwt_signature(self):
        assert self.platform is not None  # validate_registration found it
        header = self._jwt.get("header", {})
        if header.get("alg") != "RS256":
            raise LaunchRefused(f"The id_token is signed with {header.get('alg')!r}; LTI 1.3 launches are signed "
                                "with RS256.")
        kid = header.get("kid")
        if not kid:
            raise LaunchRefused("The id_token's header names no key (kid).")
        key = platform_key(self.platform, kid)
        try:
            jwt.decode(self._get_id_token(), key=key, algorithms=["RS256"], audience=self.platform.client_id,
                       issuer=self.platform.issuer, leeway=LEEWAY_S, options={"require": ["exp", "iat", "aud", "iss"]})
        except jwt.ExpiredSignatureError:
            raise LaunchRefused("The id_token has expired: open Bellman again from the LMS (and check that the "
                                "LMS's clock is right).") from None
        except jwt.ImmatureSignatureError:
            raise LaunchRefused(f"The id_token was issued in the future, more than {LEEWAY_S} s ahead of Bellman's "
                                "clock: the LMS's clock (or Bellman's) is wrong.") from None
        except jwt.InvalidTokenError as exc:
            raise LaunchRefused(f"The id_token's signature or claims are not valid: {exc}.") from None
        return self

    def validate_deployment(self):
        assert self.platform is not None
        deployment_id = self._jwt.get("body", {}).get(CLAIM + "deployment_id")
        if not deployment_id or not self.platform.deployments.filter(deployment_id=deployment_id).exists():
            raise LaunchRefused(f"The deployment {deployment_id!r} is not registered for this platform: a Bellman "
                                "administrator adds it to the platform's deployments.")
        return self

    def validate_nonce(self):
        nonce = self._jwt.get("body", {}).get("nonce")
        if not nonce or self._login is None or nonce != self._login.get("nonce"):
            raise LaunchRefused("The id_token's nonce is not the one this browser's login asked for.", status=403)
        try:
            with transaction.atomic():
                UsedNonce.objects.create(issuer=self.platform.issuer if self.platform else "", nonce=nonce)
        except IntegrityError:
            raise LaunchRefused("This launch was already used: open Bellman again from the LMS.", status=403) \
                from None
        return self

    def save_launch_data(self):
        return self  # nothing of the launch is kept but what the views store

    @property
    def body(self) -> dict:
        return self._jwt.get("body", {})


def platform_key(platform: Platform, kid: str):
    """The platform's public key ``kid``, from its key set (cached; fetched again for an unknown kid, at most once a
    minute per platform: unsigned tokens with made-up kids must not make Bellman fetch on every request)."""
    for fresh in (False, True):
        if fresh and not cache.add(f"lti:jwks-refetch:{platform.pk}", True, REFETCH_EVERY_S):
            break
        keyset = _key_set(platform, fresh=fresh)
        for jwk_data in keyset.get("keys", []):
            if isinstance(jwk_data, dict) and jwk_data.get("kid") == kid:
                if jwk_data.get("kty") != "RSA":
                    raise LaunchRefused(f"The platform's key {kid!r} is not an RSA key.")
                try:
                    return jwt.PyJWK(jwk_data, algorithm="RS256").key
                except (jwt.PyJWKError, ValueError) as exc:
                    raise LaunchRefused(f"The platform's key {kid!r} cannot be read: {exc}.") from None
    raise LaunchRefused(f"The id_token is signed with a key ({kid!r}) that the platform's key set does not hold.")


def _key_set(platform: Platform, *, fresh: bool) -> dict:
    cache_key = f"lti:jwks:{platform.pk}"
    if not fresh:
        cached = cache.get(cache_key)
        if cached is not None:
            return cached
    if not url_allowed(platform.key_set_url):
        raise LaunchRefused("The platform's key set URL must be HTTPS.")
    try:
        response = requests.get(platform.key_set_url, timeout=10, allow_redirects=False)
        response.raise_for_status()
        keyset = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise LaunchRefused(f"The platform's key set ({platform.key_set_url}) could not be read: {exc}.",
                            status=502) from None
    if not isinstance(keyset, dict):
        raise LaunchRefused("The platform's key set is not a JSON object.", status=502)
    cache.set(cache_key, keyset, JWKS_CACHE_S)
    return keyset
