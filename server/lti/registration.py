"""LTI Dynamic Registration (1EdTech, version 1.0): an LMS administrator registers Bellman from the LMS alone.
The LMS opens /lti/register/ with its OpenID configuration's URL and a registration token; Bellman reads the
configuration (over HTTPS, from the issuer's own host, never from a private or loopback address), registers
itself at the LMS's registration endpoint, and keeps the platform pending until a Bellman administrator approves
it. /lti/canvas.json is the same configuration as Canvas's developer-key JSON."""
import ipaddress
import json
import os
import socket
import urllib.parse

import certifi
import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from server.lti.launch import LaunchRefused, url_allowed
from server.lti.models import Deployment, Platform

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
SCOPES = ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
          "https://purl.imsglobal.org/spec/lti-ags/scope/score",
          "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
          "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"]
TIMEOUT_S = 10


def _addresses(host: str) -> list[str]:
    try:
        return sorted({info[4][0].split("%")[0] for info in socket.getaddrinfo(host, None)})
    except OSError:
        return []


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global or (ip.is_loopback and settings.BELLMAN_LTI_ALLOW_INSECURE)


def public_address(url: str) -> bool:
    """The URL's host resolves only to public addresses (BELLMAN_LTI_ALLOW_INSECURE also lets loopback pass)."""
    host = urllib.parse.urlsplit(url).hostname
    addresses = _addresses(host) if host else []
    return bool(addresses) and all(_public(a) for a in addresses)


def _pinned(url: str) -> tuple:
    """(the URL as urllib3 reads it, the one address it is fetched from): HTTPS (or loopback HTTP in tests), no
    user information or backslash (which parsers read differently), every address of the host public. The
    request then goes to that address, so that a second DNS answer cannot point it elsewhere."""
    parts, split = urllib3.util.parse_url(url), urllib.parse.urlsplit(url)
    if not url_allowed(url) or "@" in split.netloc or "\\" in url or parts.host != split.hostname:
        raise LaunchRefused("Bellman reads registration data only from a plain HTTPS URL.")
    addresses = _addresses(parts.host)
    if not addresses or not all(_public(a) for a in addresses):
        raise LaunchRefused("Bellman reads registration data only from a public address.")
    return parts, addresses[0]


def _get_json(url: str, *, method: str = "GET", json_body=None, headers=None) -> dict:
    parts, address = _pinned(url)
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(address, parts.port or 443, server_hostname=parts.host,
                                           assert_hostname=parts.host, cert_reqs="CERT_REQUIRED",
                                           ca_certs=os.environ.get("REQUESTS_CA_BUNDLE") or certifi.where(),
                                           timeout=TIMEOUT_S, retries=False)
    else:
        pool = urllib3.HTTPConnectionPool(address, parts.port or 80, timeout=TIMEOUT_S, retries=False)
    body = json.dumps(json_body).encode() if json_body is not None else None
    try:
        response = pool.request(method, parts.request_uri, body=body, redirect=False, headers={
            "Host": parts.netloc, "Accept": "application/json",
            **({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})})
        data = json.loads(response.data) if 200 <= response.status < 300 else None
    except (urllib3.exceptions.HTTPError, ValueError):
        data = None
    finally:
        pool.close()
    if not isinstance(data, dict):
        raise LaunchRefused("The LMS's registration service did not answer as LTI Dynamic Registration says.",
                            status=502)
    return data


def tool_configuration(request) -> dict:
    """What Bellman registers: its URLs, the messages it takes, the claims and scopes it asks for."""
    launch_url = request.build_absolute_uri(reverse("lti_launch"))
    return {
        "application_type": "web", "response_types": ["id_token"], "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": request.build_absolute_uri(reverse("lti_login")), "redirect_uris": [launch_url],
        "client_name": "Bellman", "jwks_uri": request.build_absolute_uri(reverse("lti_jwks")),
        "token_endpoint_auth_method": "private_key_jwt", "scope": " ".join(SCOPES),
        TOOL_CONFIGURATION: {
            "domain": request.get_host(), "target_link_uri": launch_url,
            "description": "Autograder for reinforcement-learning coursework",
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [{"type": "LtiResourceLinkRequest"},
                         {"type": "LtiDeepLinkingRequest", "target_link_uri": launch_url,
                          "placements": ["link_selection", "assignment_selection"]}]},
    }


@transaction.atomic
def register(request, configuration_url: str, registration_token: str) -> Platform:
    """Read the LMS's OpenID configuration, register Bellman there, keep the platform pending approval."""
    config = _get_json(configuration_url)
    issuer = str(config.get("issuer") or "")
    if not issuer or configuration_url != issuer.rstrip("/") + "/.well-known/openid-configuration":
        raise LaunchRefused("The LMS's OpenID configuration must be its issuer's own "
                            "(<issuer>/.well-known/openid-configuration).")
    endpoints = {key: str(config.get(key) or "") for key in ("authorization_endpoint", "token_endpoint", "jwks_uri",
                                                              "registration_endpoint")}
    missing = [key for key, url in endpoints.items() if not url_allowed(url)]
    if missing:
        raise LaunchRefused(f"The LMS's OpenID configuration lacks HTTPS URLs for {', '.join(missing)}.")
    if urllib.parse.urlsplit(endpoints["registration_endpoint"]).netloc != urllib.parse.urlsplit(issuer).netloc:
        raise LaunchRefused("The LMS's registration endpoint must be on its issuer's host.")
    refuse_issuer_conflict(issuer, endpoints["jwks_uri"])
    headers = {"Authorization": f"Bearer {registration_token}"} if registration_token else {}
    answer = _get_json(endpoints["registration_endpoint"], method="POST", json_body=tool_configuration(request),
                       headers=headers)
    client_id = str(answer.get("client_id") or "")[:255]
    if not client_id:
        raise LaunchRefused("The LMS's registration answer has no client id.", status=502)
    if Platform.objects.filter(issuer=issuer, client_id=client_id).exists():
        raise LaunchRefused("This LMS registration exists already: a Bellman administrator changes it in the "
                            "admin.", status=409)
    platform_config = config.get(PLATFORM_CONFIGURATION)
    family = platform_config.get("product_family_code") if isinstance(platform_config, dict) else None
    platform = Platform.objects.create(
        issuer=issuer, client_id=client_id, name=str(family or issuer)[:200], approved=False,
        auth_login_url=endpoints["authorization_endpoint"], auth_token_url=endpoints["token_endpoint"],
        key_set_url=endpoints["jwks_uri"])
    tool = answer.get(TOOL_CONFIGURATION)
    deployment = tool.get("deployment_id") if isinstance(tool, dict) else None
    if deployment:
        Deployment.objects.get_or_create(platform=platform, deployment_id=str(deployment)[:255])
    return platform


def refuse_issuer_conflict(issuer: str, key_set_url: str, *, exclude=None) -> None:
    """One issuer, one key set: accounts are (issuer, subject), so a second registration of an issuer that signs
    with other keys could sign in as any of the first one's users."""
    try:
        Platform(issuer=issuer, key_set_url=key_set_url, pk=exclude).clean()
    except ValidationError as exc:
        raise LaunchRefused(" ".join(exc.messages), status=409) from None


def canvas_configuration(request) -> dict:
    """Canvas's developer-key JSON (Admin > Developer Keys > LTI Key > Paste JSON or Enter URL)."""
    launch_url = request.build_absolute_uri(reverse("lti_launch"))
    placements = [{"placement": placement, "message_type": "LtiDeepLinkingRequest", "target_link_uri": launch_url}
                  for placement in ("link_selection", "assignment_selection")]
    placements.append({"placement": "course_navigation", "message_type": "LtiResourceLinkRequest",
                       "target_link_uri": launch_url, "default": "disabled"})
    return {"title": "Bellman", "description": "Autograder for reinforcement-learning coursework",
            "oidc_initiation_url": request.build_absolute_uri(reverse("lti_login")),
            "target_link_uri": launch_url, "public_jwk_url": request.build_absolute_uri(reverse("lti_jwks")),
            "scopes": SCOPES,
            "extensions": [{"platform": "canvas.instructure.com", "privacy_level": "public",
                            "settings": {"placements": placements}}],
            "custom_fields": {}}
