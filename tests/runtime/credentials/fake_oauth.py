"""A fake OAuth2 provider on 127.0.0.1: an authorization endpoint that approves (or denies) at
once, and a token endpoint that checks what a real one checks (client, redirect URI, PKCE, the
refresh token) and counts what it was asked.

Tokens are `at-<n>`, refresh tokens `rt-<n>`, client-credentials tokens `cc-<n>` with a long
random tail, so that a test can look for them in a database file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote_plus, urlencode, urlsplit

CLIENT_ID = "client-abc"
CLIENT_SECRET = "client-secret-5b7e2f"
CC_CLIENT_ID = "cc-client"
CC_CLIENT_SECRET = "cc-secret-9d1a44"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str | None
    scope: str | None


@dataclass
class FakeOAuth:
    """The provider's state; tests change its behaviour through the public fields."""

    expires_in: int | None = 3600
    rotate_refresh_tokens: bool = True
    refresh_fails: bool = False
    deny: bool = False
    token_delay_s: float = 0.0
    json_answers: bool = True
    counts: dict[str, int] = field(default_factory=lambda: {"code": 0, "refresh": 0, "cc": 0})
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    _codes: dict[str, Grant] = field(default_factory=dict)
    _refresh_tokens: set[str] = field(default_factory=set)
    _serial: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _new(self, prefix: str) -> str:
        self._serial += 1
        value = f"{prefix}-{self._serial}-{secrets.token_hex(8)}"
        self.issued.append(value)
        return value

    def issue_tokens(self) -> dict[str, Any]:
        """Tokens as the code exchange would answer them (the refresh token is valid)."""
        with self._lock:
            return self._tokens(with_refresh=True)

    # --- /authorize -----------------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> str:
        """Where the consent page sends the browser back to."""
        with self._lock:
            self.authorize_requests.append(query)
            back = query["redirect_uri"]
            state = query.get("state", "")
            if self.deny:
                said = {"error": "access_denied", "error_description": "<b>User</b> said no"}
                return f"{back}?{urlencode({**said, 'state': state})}"
            code = self._new("code")
            self._codes[code] = Grant(
                query.get("client_id", ""),
                back,
                query.get("code_challenge"),
                query.get("scope"),
            )
            return f"{back}?{urlencode({'code': code, 'state': state})}"

    # --- /token ---------------------------------------------------------------------------------

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, Any]:
        if self.token_delay_s:
            time.sleep(self.token_delay_s)
        with self._lock:
            self.token_requests.append({**form, "basic": basic})
            client_id, client_secret = basic or (form.get("client_id"), form.get("client_secret"))
            grant_type = form.get("grant_type")
            if grant_type == "client_credentials":
                return self._client_credentials(client_id, client_secret)
            if (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
                return 401, {"error": "invalid_client", "error_description": "bad client"}
            if grant_type == "authorization_code":
                return self._exchange(form, client_id)
            if grant_type == "refresh_token":
                return self._refresh(form)
            return 400, {"error": "unsupported_grant_type"}

    def _tokens(self, *, with_refresh: bool) -> dict[str, Any]:
        answer: dict[str, Any] = {"access_token": self._new("at"), "token_type": "bearer"}
        if with_refresh:
            refresh = self._new("rt")
            self._refresh_tokens.add(refresh)
            answer["refresh_token"] = refresh
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        answer["instance_url"] = "https://acme.example.com"
        return answer

    def _exchange(self, form: dict[str, str], client_id: str | None) -> tuple[int, Any]:
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant.client_id != client_id:
            return 400, {"error": "invalid_grant", "error_description": "unknown code"}
        if grant.redirect_uri != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"}
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if expected != grant.challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE mismatch"}
        self.counts["code"] += 1
        return 200, self._tokens(with_refresh=True)

    def _refresh(self, form: dict[str, str]) -> tuple[int, Any]:
        self.counts["refresh"] += 1
        token = form.get("refresh_token", "")
        if self.refresh_fails or token not in self._refresh_tokens:
            return 400, {
                "error": "invalid_grant",
                "error_description": f"Token has been expired or revoked ({token})",
            }
        if not self.rotate_refresh_tokens:
            answer = self._tokens(with_refresh=False)
            return 200, answer
        self._refresh_tokens.discard(token)
        return 200, self._tokens(with_refresh=True)

    def _client_credentials(self, client_id: str | None, secret: str | None) -> tuple[int, Any]:
        if (client_id, secret) != (CC_CLIENT_ID, CC_CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        self.counts["cc"] += 1
        answer: dict[str, Any] = {"access_token": self._new("cc"), "token_type": "bearer"}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return 200, answer


class FakeOAuthServer:
    """`FakeOAuth` served over HTTP on 127.0.0.1 (GET /authorize, POST /token)."""

    def __init__(self, state: FakeOAuth | None = None) -> None:
        self.state = state or FakeOAuth()
        fake = self.state

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/authorize":
                    self._send(404, b"", {})
                    return
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                self._send(302, b"", {"Location": fake.authorize(query)})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length).decode()
                if "json" in (self.headers.get("content-type") or ""):
                    form = {k: str(v) for k, v in json.loads(raw).items()}
                else:
                    form = dict(parse_qsl(raw, keep_blank_values=True))
                status, answer = fake.token(form, _basic(self.headers.get("authorization")))
                if fake.json_answers or status != 200:
                    body = json.dumps(answer).encode()
                    kind = "application/json"
                else:
                    body = urlencode(answer).encode()
                    kind = "application/x-www-form-urlencoded"
                self._send(status, body, {"Content-Type": kind})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join(5)
        self.server.server_close()


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    decoded = base64.b64decode(header.split(" ", 1)[1]).decode()
    user, _, password = decoded.partition(":")
    return unquote_plus(user), unquote_plus(password)


def write_catalog(path: Path, base: str) -> Path:
    """A provider catalog in Nango's format with the fake providers, pointing at `base`."""
    entries = {
        "fake-oauth": {
            "display_name": "Fake OAuth",
            "auth_mode": "OAUTH2",
            "authorization_url": f"{base}/authorize",
            "token_url": f"{base}/token",
            "default_scopes": ["offline"],
            "authorization_params": {"prompt": "consent", "access_type": "offline"},
            "token_params": {"grant_type": "authorization_code"},
            "refresh_params": {"grant_type": "refresh_token"},
            "token_response_metadata": ["instance_url"],
            "proxy": {"base_url": f"{base}/api"},
        },
        "fake-oauth-plain": {
            "display_name": "Fake OAuth without PKCE, client in a Basic header, JSON bodies",
            "auth_mode": "OAUTH2",
            "authorization_url": "http://${connectionConfig.host}/authorize",
            "token_url": "http://${connectionConfig.host}/token",
            "disable_pkce": True,
            "authorization_method": "header",
            "body_format": "json",
            "scope_separator": ",",
            "proxy": {"base_url": f"{base}/api"},
        },
        "fake-cc": {
            "display_name": "Fake client credentials",
            "auth_mode": "OAUTH2_CC",
            "token_url": f"{base}/token",
            "token_request_auth_method": "basic",
            "token_params": {"grant_type": "client_credentials", "audience": "api"},
            "proxy": {"base_url": f"{base}/api"},
        },
    }
    for mode, extra in (
        ("API_KEY", {"headers": {"x-api-key": "${apiKey}"}}),
        ("BASIC", {}),
        ("NONE", {}),
        ("APP", {}),
        ("JWT", {}),
        ("TWO_STEP", {}),
    ):
        entries[f"fake-{mode.lower().replace('_', '-')}"] = {
            "display_name": f"Fake {mode}",
            "auth_mode": mode,
            "proxy": {"base_url": f"{base}/api", **extra},
        }
    import yaml

    path.write_text(yaml.safe_dump(entries, sort_keys=False), encoding="utf-8")
    return path
