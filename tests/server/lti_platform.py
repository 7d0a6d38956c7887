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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
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
    def start(self) -> "TestPlatform":
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                if self.path.startswith("/jwks"):
                    platform.jwks_requests += 1
                    body = json.dumps(platform.jwks()).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_error(404)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

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
