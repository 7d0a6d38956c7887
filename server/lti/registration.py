"""LTI Dynamic Registration (1EdTech, version 1.0): an LMS administrator registers Bellman from the LMS alone.
The LMS opens /lti/register/ with its OpenID configuration's URL and a registration token; Bellman reads the
configuration (over HTTPS, from the issuer's own host, never from a private or loopback address), registers
itself at the LMS's registration endpoint, and keeps the platform pending until a Bellman administrator approves
it. /lti/canvas.json is the same configuration as Canvas's developer-key JSON."""
import ipaddress
import socket
import urllib.parse

import requests
from django.conf import settings
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


def public_address(url: str) -> bool:
    """The URL's host resolves only to public addresses (BELLMAN_LTI_ALLOW_INSECURE also lets loopback pass)."""
    host = urllib.parse.urlsplit(url).hostname
    if not host:
        return False
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_loopback and settings.BELLMAN_LTI_ALLOW_INSECURE:
            continue
        if not ip.is_global:
            return False
    return bool(addresses)


def _get_json(url: str, **kwargs) -> dict:
    if not url_allowed(url) or not public_address(url):
        raise LaunchRefused(f"Bellman reads registration data only over HTTPS from a public address: {url}")
    try:
        response = requests.request(kwargs.pop("method", "GET"), url, timeout=TIMEOUT_S, allow_redirects=False,
                                    **kwargs)
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise LaunchRefused(f"The LMS's registration service could not be used: {exc}", status=502) from None
    if not isinstance(data, dict):
        raise LaunchRefused("The LMS's registration service did not answer a JSON object.", status=502)
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
    issuer_host = urllib.parse.urlsplit(issuer).netloc
    if not issuer_host or urllib.parse.urlsplit(configuration_url).netloc != issuer_host:
        raise LaunchRefused("The LMS's OpenID configuration must come from its issuer's own host.")
    endpoints = {key: str(config.get(key) or "") for key in ("authorization_endpoint", "token_endpoint", "jwks_uri",
                                                              "registration_endpoint")}
    missing = [key for key, url in endpoints.items() if not url_allowed(url)]
    if missing:
        raise LaunchRefused(f"The LMS's OpenID configuration lacks HTTPS URLs for {', '.join(missing)}.")
    headers = {"Authorization": f"Bearer {registration_token}"} if registration_token else {}
    answer = _get_json(endpoints["registration_endpoint"], method="POST", json=tool_configuration(request),
                       headers=headers)
    client_id = str(answer.get("client_id") or "")
    if not client_id:
        raise LaunchRefused("The LMS's registration answer has no client id.", status=502)
    name = str((config.get(PLATFORM_CONFIGURATION) or {}).get("product_family_code") or issuer)[:200]
    platform, _ = Platform.objects.update_or_create(
        issuer=issuer, client_id=client_id,
        defaults={"name": name, "auth_login_url": endpoints["authorization_endpoint"],
                  "auth_token_url": endpoints["token_endpoint"], "key_set_url": endpoints["jwks_uri"],
                  "approved": False})
    deployment = (answer.get(TOOL_CONFIGURATION) or {}).get("deployment_id")
    if deployment:
        Deployment.objects.get_or_create(platform=platform, deployment_id=str(deployment)[:255])
    return platform


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
