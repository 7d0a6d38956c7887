"""An LTI 1.3 platform (an LMS) for the tests, on a JWT library with real RS256 keys: its own key set served over
HTTP on a loopback port (rotatable), OIDC login initiation, signed id_tokens, and the launch a browser makes.
Nothing of the protocol is mocked: Bellman fetches this platform's keys over HTTP and checks its signatures."""
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTRUCTOR, LEARNER = ROLE + "Instructor", ROLE + "Learner"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TestPlatform:
    """One LMS: ``issuer``, Bellman's ``client_id`` there, one ``deployment``; ``start()`` serves its key set."""

    __test__ = False  # not a test class

    def __init__(self, issuer="https://lms.example.edu", client_id="bellman-tool", deployment="deployment-1"):
        self.issuer, self.client_id, self.deployment = issuer, client_id, deployment
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: list[str] = []
        self.kid = self.add_key()
        self.jwks_requests = 0
        self._server: ThreadingHTTPServer | None = None
        self.tool_jwks_url = ""  # Bellman's /lti/jwks/, where the token endpoint checks its assertions
        self.tls_client = None  # an ssl.SSLContext that trusts Bellman's certificate, over HTTPS
        self.tokens: dict[str, set] = {}
        self.tokens_issued = 0
        self.assertions_seen: set[str] = set()
        self.line_items: dict[str, dict] = {}
        self.scores: dict[tuple[str, str], dict] = {}
        self.score_posts = 0
        self.score_delay = 0.0
        self.scheme = "http"
        # A browser's side of the LMS (the test on two host names): its course page frames ``tool_login_url``;
        # its authorisation endpoint signs a launch for the user the login hint names, with these roles and claims.
        self.tool_login_url = ""
        self.people: dict[str, list] = {}
        self.launch_claims: dict = {}
        self.deep_link_responses: list[str] = []
        self.storage = False  # offers its storage frame (lti_storage_target) to the tool's login
        self.hold_launch = False  # its launch form waits for a click (a test drops cookies meanwhile)
        self.faults: list[tuple[int, dict]] = []  # the next answers of the grade service: (status, headers)
        self.requests: list[tuple[str, str]] = []
        self.registration_token = secrets.token_urlsafe(12)
        self.registrations: list[dict] = []
        self.members: list[dict] = []  # the roster its Names and Role service gives, page_size at a time
        self.page_size = 2

    # -- its keys ---------------------------------------------------------------------------------------------------
    def add_key(self, *, publish: bool = True) -> str:
        kid = secrets.token_hex(6)
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.append(kid)
        return kid

    def jwks(self) -> dict:
        out = []
        for kid in self.published:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            out.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": out}

    def public_pem(self, kid: str | None = None) -> bytes:
        return self.keys[kid or self.kid].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    # -- its HTTP side ----------------------------------------------------------------------------------------------
    def start(self, tls=None) -> "TestPlatform":
        """Serve on a loopback port; ``tls``: an ssl.SSLContext, for HTTPS."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        self._server.platform = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    # -- its grade service (AGS) ------------------------------------------------------------------------------------
    def check_assertion(self, form: dict) -> None:
        """Bellman's client assertion, verified against Bellman's published key set (``tool_jwks_url``)."""
        assert form.get("grant_type") == "client_credentials"
        assert form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        assertion = form["client_assertion"]
        kid = jwt.get_unverified_header(assertion)["kid"]
        keys = {k["kid"]: k for k in json.load(urllib.request.urlopen(self.tool_jwks_url, timeout=10,
                                                                     context=self.tls_client))["keys"]}
        key = jwt.PyJWK(keys[kid], algorithm="RS256").key
        claims = jwt.decode(assertion, key, algorithms=["RS256"], audience=self.base + "/token")
        assert claims["iss"] == claims["sub"] == self.client_id
        assert claims["jti"] not in self.assertions_seen, "an assertion replayed"
        self.assertions_seen.add(claims["jti"])

    def token_ok(self, header: str, scope: str) -> bool:
        token = header.removeprefix("Bearer ")
        return scope in self.tokens.get(token, set())

    def expire_tokens(self):
        self.tokens.clear()

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return self._server.server_address[1]

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def register(self, *, approved: bool = True):
        """Registered with Bellman as an administrator does it: ``manage.py lti_platform add``."""
        call_command("lti_platform", "add", "--issuer", self.issuer, "--client-id", self.client_id,
                     "--auth-url", self.base + "/auth", "--token-url", self.base + "/token",
                     "--jwks-url", self.base + "/jwks", "--deployment", self.deployment)
        if not approved:
            from server.lti.models import Platform

            Platform.objects.filter(issuer=self.issuer, client_id=self.client_id).update(approved=False)

    # -- tokens -----------------------------------------------------------------------------------------------------
    def claims(self, *, nonce: str, sub="student-1", roles=(LEARNER,), context="course-101", **more) -> dict:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": self.client_id, "sub": sub, "iat": now, "exp": now + 300, "nonce": nonce,
                CLAIM + "message_type": "LtiResourceLinkRequest", CLAIM + "version": "1.3.0",
                CLAIM + "deployment_id": self.deployment, CLAIM + "roles": list(roles),
                CLAIM + "resource_link": {"id": "link-1"},
                CLAIM + "context": {"id": context, "label": "RL101", "title": "Reinforcement Learning"},
                "name": "Ada Lovelace", "email": "ada@example.edu"}
        body.update(more)
        return {k: v for k, v in body.items() if v is not None}

    def sign(self, body: dict, *, kid: str | None = None, alg: str = "RS256") -> str:
        kid = kid or self.kid
        if alg == "none":
            return jwt.encode(body, key=None, algorithm="none", headers={"kid": kid})
        if alg == "HS256-public-key":  # the classic confusion: HMAC keyed with the platform's public key
            header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
            payload = _b64(json.dumps(body).encode())
            mac = hmac.new(self.public_pem(kid), f"{header}.{payload}".encode(), hashlib.sha256).digest()
            return f"{header}.{payload}.{_b64(mac)}"
        return jwt.encode(body, self.keys[kid], algorithm=alg, headers={"kid": kid})

    # -- a browser's launch -----------------------------------------------------------------------------------------
    def login(self, client, *, login_hint="user-1", **params) -> dict:
        """The OIDC login initiation; returns the authorisation request's parameters Bellman sent the browser to."""
        response = client.get("/lti/login/", {"iss": self.issuer, "client_id": self.client_id,
                                              "login_hint": login_hint,
                                              "target_link_uri": "http://testserver/lti/launch/", **params})
        assert response.status_code == 302, response.content[:500]
        location = urllib.parse.urlsplit(response["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == self.base + "/auth"
        return dict(urllib.parse.parse_qsl(location.query))

    def launch(self, client, *, token: str | None = None, state: str | None = None, **claims):
        """Login, then the form post of a signed id_token to Bellman's redirect URI, as the LMS's page makes it."""
        auth = self.login(client)
        token = token or self.sign(self.claims(nonce=auth["nonce"], **claims))
        response = client.post(auth["redirect_uri"], {"id_token": token, "state": state or auth["state"]})
        response.auth, response.token = auth, token
        return response

    def ags_claim(self, *, lineitem: str | None = None, scope=(SCOPE_LINEITEM, SCOPE_SCORE)) -> dict:
        """The grade service's claim of a launch: the context's line items, the scopes Bellman is given."""
        claim = {"scope": list(scope), "lineitems": self.base + "/lineitems"}
        if lineitem:
            claim["lineitem"] = lineitem
        return {AGS: claim}

    # -- deep linking ---------------------------------------------------------------------------------------------
    def deep_linking_claims(self, *, accept_multiple=True) -> dict:
        return {CLAIM + "message_type": "LtiDeepLinkingRequest", CLAIM + "resource_link": None,
                "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
                    "deep_link_return_url": self.base + "/deep-link-return", "accept_types": ["ltiResourceLink"],
                    "accept_presentation_document_targets": ["iframe", "window"],
                    "accept_multiple": accept_multiple, "data": "opaque-platform-data"}}

    def deep_linking_response(self, token: str, tool_jwks: dict, *, deployment: str | None = None) -> list:
        """The content items of Bellman's LtiDeepLinkingResponse, after every check the specification asks of
        the platform: signed by a key of the tool's key set (RS256), the tool as issuer, the platform as
        audience, fresh, the deployment, the message type and version, the settings' data echoed."""
        kid = jwt.get_unverified_header(token)["kid"]
        key = jwt.PyJWK(next(k for k in tool_jwks["keys"] if k["kid"] == kid), algorithm="RS256").key
        claims = jwt.decode(token, key, algorithms=["RS256"], audience=self.issuer, issuer=self.client_id,
                            options={"require": ["exp", "iat", "nonce"]})
        assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
        assert claims[CLAIM + "version"] == "1.3.0"
        assert claims[CLAIM + "deployment_id"] == (deployment or self.deployment)
        assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-platform-data"
        return claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]

    # -- its roster (NRPS) ------------------------------------------------------------------------------------------
    def nrps_claim(self) -> dict:
        return {NRPS: {"context_memberships_url": self.base + "/memberships", "service_versions": ["2.0"]}}

    def member(self, sub: str, *, roles=(LEARNER,), status="Active", email=None) -> dict:
        return {"user_id": sub, "roles": list(roles), "status": status, "given_name": sub.title(),
                "family_name": "Student", **({"email": email} if email else {})}


class Handler(BaseHTTPRequestHandler):
    """The platform's HTTP side: its key set, OpenID configuration, registration, token, line items, scores and
    roster endpoints, and the faults a test injects."""

    def do_GET(self):  # noqa: N802 - http.server's name
        platform = self.server.platform  # type: ignore[attr-defined]
        platform.requests.append(("GET", self.path))
        if self.path.startswith("/jwks"):
            platform.jwks_requests += 1
            return self._json(200, platform.jwks())
        if self._fault():
            return None
        if self.path.startswith("/course"):  # the LMS's course page, Bellman in its iframe
            hint = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)).get("as", "")
            query = urllib.parse.urlencode({"iss": platform.issuer, "client_id": platform.client_id,
                                            "login_hint": hint, "lti_message_hint": hint,
                                            "target_link_uri": platform.tool_login_url.replace("/login/", "/launch/")})
            storage = ""
            if platform.storage:  # the LTI client-side postMessage storage: a frame of the LMS's own origin
                query += "&lti_storage_target=post_message_forwarding"
                storage = '<iframe name="post_message_forwarding" src="/storage" hidden></iframe>'
            return self._html(f'<h1>LMS course</h1>{storage}<iframe id="tool" width="1000" height="1200" '
                              f'src="{platform.tool_login_url}?{query}"></iframe>')
        if self.path == "/storage":  # keeps values per origin, answers only the origin that put them
            return self._html("""<script>
var kept = {};
window.addEventListener("message", function (event) {
  var m = event.data, box = kept[event.origin] = kept[event.origin] || {};
  if (m.subject === "lti.put_data") { box[m.key] = m.value; }
  if (m.subject !== "lti.put_data" && m.subject !== "lti.get_data") { return; }
  window.storage_requests = (window.storage_requests || 0) + 1;
  event.source.postMessage({subject: m.subject + ".response", message_id: m.message_id, key: m.key,
                            value: box[m.key]}, event.origin);
});
</script>""")
        if self.path.startswith("/auth"):  # the authorisation endpoint: the signed launch, posted by the browser
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            hint = query["login_hint"]
            claims = platform.claims(nonce=query["nonce"], sub=hint, roles=platform.people[hint],
                                     **platform.launch_claims.get(hint, {}))
            token = platform.sign(claims)
            storage = '<input type="hidden" name="lti_storage_target" value="post_message_forwarding">'
            go = ('<button id="continue">Continue</button>' if platform.hold_launch
                  else '<script>document.getElementById("launch").submit();</script>')
            return self._html(f'<form id="launch" method="post" action="{query["redirect_uri"]}">'
                              f'<input type="hidden" name="id_token" value="{token}">'
                              f'{storage if platform.storage else ""}'
                              f'<input type="hidden" name="state" value="{query["state"]}">{go}</form>')
        if self.path == "/.well-known/openid-configuration":
            return self._json(200, {
                "issuer": platform.issuer, "authorization_endpoint": platform.base + "/auth",
                "token_endpoint": platform.base + "/token", "jwks_uri": platform.base + "/jwks",
                "registration_endpoint": platform.base + "/register",
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "test-lms", "version": "1.0"}})
        if self.path.startswith("/memberships"):
            if not platform.token_ok(self.headers.get("Authorization", ""), SCOPE_NRPS):
                return self._json(401, {"error": "invalid token"})
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            page = int(query.get("Page", "1"))
            size = platform.page_size
            members = platform.members[(page - 1) * size:page * size]
            headers = {}
            if page * size < len(platform.members):  # a paging token with capitals, as real ones have
                headers["Link"] = f'<{platform.base}/memberships?Page={page + 1}&Token=AbC>; rel="next"'
            return self._json(200, {"id": platform.base + "/memberships",
                                    "context": {"id": "course-101"}, "members": members}, headers)
        if self.path.startswith("/lineitems"):
            if not platform.token_ok(self.headers.get("Authorization", ""), SCOPE_LINEITEM):
                return self._json(401, {"error": "invalid token"})
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            items = [i for i in platform.line_items.values()
                     if "resource_id" not in query or i.get("resourceId") == query["resource_id"]]
            return self._json(200, items)
        return self.send_error(404)

    def do_POST(self):  # noqa: N802 - http.server's name
        platform = self.server.platform  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        platform.requests.append(("POST", self.path))
        if self.path == "/token":
            return self._token(dict(urllib.parse.parse_qsl(raw)))
        if self.path == "/deep-link-return":
            platform.deep_link_responses.append(dict(urllib.parse.parse_qsl(raw))["JWT"])
            return self._html('<p id="added">Added to the course.</p>')
        if self.path == "/register":
            if self.headers.get("Authorization") != f"Bearer {platform.registration_token}":
                return self._json(401, {"error": "invalid registration token"})
            platform.registrations.append(json.loads(raw))
            return self._json(200, {"client_id": platform.client_id, **json.loads(raw),
                                    "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                                        "deployment_id": platform.deployment}})
        if self._fault():
            return None
        if self.path == "/lineitems":
            if not platform.token_ok(self.headers.get("Authorization", ""), SCOPE_LINEITEM):
                return self._json(401, {"error": "invalid token"})
            item = json.loads(raw)
            item["id"] = f"{platform.base}/lineitems/{len(platform.line_items) + 1}"
            platform.line_items[item["id"]] = item
            return self._json(201, item)
        if self.path.startswith("/lineitems/") and self.path.endswith("/scores"):
            if not platform.token_ok(self.headers.get("Authorization", ""), SCOPE_SCORE):
                return self._json(401, {"error": "invalid token"})
            line_item = platform.base + self.path[:-len("/scores")]
            if line_item not in platform.line_items:
                return self._json(404, {"error": "no such line item"})
            score = json.loads(raw)
            platform.score_posts += 1
            kept = platform.scores.get((line_item, score["userId"]))
            # AGS: a score older than the one on record does not replace it.
            if kept is None or score["timestamp"] >= kept["timestamp"]:
                platform.scores[(line_item, score["userId"])] = score
            time.sleep(platform.score_delay)  # kept, but the answer is slow: a sender may die waiting
            return self._json(200, {})
        return self.send_error(404)

    def _fault(self) -> bool:
        platform = self.server.platform  # type: ignore[attr-defined]
        if not platform.faults:
            return False
        status, headers = platform.faults.pop(0)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return True

    def _token(self, form: dict):
        platform = self.server.platform  # type: ignore[attr-defined]
        try:
            platform.check_assertion(form)
        except Exception as exc:  # noqa: BLE001 - the token endpoint answers any bad assertion with 401
            return self._json(401, {"error": "invalid_client", "error_description": str(exc)})
        token = secrets.token_urlsafe(16)
        platform.tokens[token] = set(form.get("scope", "").split())
        platform.tokens_issued += 1
        return self._json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                                "scope": form.get("scope", "")})

    def _html(self, body: str):
        data = f"<!doctype html><html><body>{body}</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, data, headers=None):
        body = json.dumps(data).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass
