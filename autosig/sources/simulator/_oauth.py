"""The simulator's OAuth side, as Whop's (OAuth 2.1 with PKCE, endpoints under /oauth/): an authorize page that
approves at once and redirects with a one-time code, a token endpoint for the authorization_code and refresh_token
grants with refresh-token rotation (a used refresh token is refused), userinfo and revoke. Access tokens are JWTs
that expire after `token_lifetime` seconds; the listing accepts them while they live and their grant stands.

    oauth = sim.enable_oauth({"app_sim": None}, token_lifetime=20)   # client id -> its secret (None: public)
    tokens = oauth.issue_grant("app_sim")     # a grant as if someone signed in (tests that skip the browser)
    oauth.revoke_all()                        # every grant revoked: refreshes refused, access tokens rejected
    oauth.refresh_uses                        # refresh token -> times presented (rotation: at most once)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

if TYPE_CHECKING:
    from autosig.sources.simulator._http import Handler

CODE_LIFETIME_S = 300
USER = {"id": "user_sim_trader", "username": "sim_trader", "name": "Sim Trader"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class _Grant:
    client_id: str
    scope: str
    user: dict[str, Any]
    revoked: bool = False
    access: set[str] = field(default_factory=set)


class OAuthServer:
    def __init__(self, clients: dict[str, str | None], *, token_lifetime: float = 3600.0) -> None:
        self.clients = dict(clients)
        self.token_lifetime = token_lifetime
        self.user = dict(USER)
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._codes: dict[str, dict[str, Any]] = {}
        self._refresh: dict[str, tuple[_Grant, bool]] = {}  # refresh token -> (grant, still usable)
        self._access: dict[str, tuple[_Grant, float]] = {}  # access token -> (grant, expiry)
        self.refresh_uses: Counter[str] = Counter()
        self.refused_refreshes = 0
        self.token_requests = 0
        self.fail_token_endpoint = 0  # answer the next n token requests with 503

    # --- tokens ----------------------------------------------------------------------------------------------

    def _jwt(self, grant: _Grant, now: float) -> str:
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {"iss": "whop-simulator", "sub": grant.user["id"], "aud": grant.client_id, "scope": grant.scope,
                  "iat": int(now), "exp": int(now + self.token_lifetime), "jti": secrets.token_hex(8)}  # fmt: skip
        body = _b64url(json.dumps(claims).encode())
        signature = _b64url(hmac.new(self._key, f"{header}.{body}".encode(), hashlib.sha256).digest())
        return f"{header}.{body}.{signature}"

    def _issue(self, grant: _Grant) -> dict[str, Any]:
        now = time.time()
        access = self._jwt(grant, now)
        refresh = "rt_" + secrets.token_urlsafe(24)
        self._access[access] = (grant, now + self.token_lifetime)
        self._refresh[refresh] = (grant, True)
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": int(self.token_lifetime), "scope": grant.scope}  # fmt: skip

    def issue_grant(self, client_id: str, scope: str = "openid profile chat:read") -> dict[str, Any]:
        """A new grant, as a completed sign-in would give, and its token response."""
        with self._lock:
            return self._issue(_Grant(client_id, scope, dict(self.user)))

    def access_token_valid(self, token: str) -> bool:
        with self._lock:
            entry = self._access.get(token)
            return entry is not None and not entry[0].revoked and time.time() < entry[1]

    def revoke_all(self) -> None:
        with self._lock:
            for grant, _ in list(self._refresh.values()):
                grant.revoked = True

    def expire_access_tokens(self) -> None:
        """Every access token stops working now (their JWT exp still says later): the client meets a 401."""
        with self._lock:
            self._access = {t: (g, 0.0) for t, (g, _) in self._access.items()}

    # --- HTTP ------------------------------------------------------------------------------------------------

    def handle_get(self, handler: Handler, path: str, query: dict[str, list[str]]) -> None:
        q = {k: v[0] for k, v in query.items()}
        if path == "/oauth/authorize":
            self._authorize(handler, q)
        elif path == "/oauth/userinfo":
            token = handler.bearer()
            with self._lock:
                entry = self._access.get(token or "")
            if entry is None or entry[0].revoked or time.time() >= entry[1]:
                handler.send_json(401, {"error": "invalid_token"})
                return
            user = entry[0].user
            handler.send_json(200, {"sub": user["id"], "preferred_username": user["username"], "name": user["name"]})
        else:
            handler.send_json(404, {"error": "not_found"})

    def _authorize(self, handler: Handler, q: dict[str, str]) -> None:
        if q.get("client_id") not in self.clients or q.get("response_type") != "code" or not q.get("redirect_uri"):
            handler.send(400, b"unknown client or bad request", "text/plain")
            return
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            handler.send(400, b"PKCE with S256 is required", "text/plain")
            return
        code = "code_" + secrets.token_urlsafe(18)
        with self._lock:
            self._codes[code] = {**q, "at": time.time()}
        params = {"code": code, "state": q.get("state", "")}
        separator = "&" if "?" in q["redirect_uri"] else "?"
        handler.send(302, b"", "text/plain", {"Location": q["redirect_uri"] + separator + urlencode(params)})

    def handle_post(self, handler: Handler, path: str, body: bytes, content_type: str) -> None:
        if "json" in content_type:
            try:
                form = {k: str(v) for k, v in json.loads(body or b"{}").items()}
            except (ValueError, AttributeError):
                form = {}
        else:
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if path == "/oauth/token":
            self._token(handler, form)
        elif path == "/oauth/revoke":
            with self._lock:
                entry = self._refresh.get(form.get("token", ""))
                if entry is not None:
                    entry[0].revoked = True
            handler.send_json(200, {})
        else:
            handler.send_json(404, {"error": "not_found"})

    def _client_ok(self, form: dict[str, str]) -> bool:
        client = form.get("client_id")
        if client not in self.clients:
            return False
        secret = self.clients[client]
        return secret is None or hmac.compare_digest(form.get("client_secret", ""), secret)

    def _token(self, handler: Handler, form: dict[str, str]) -> None:
        def refuse(error: str, status: int = 400) -> None:
            handler.send_json(status, {"error": error, "error_description": f"simulator: {error}"})

        with self._lock:
            self.token_requests += 1
            if self.fail_token_endpoint > 0:
                self.fail_token_endpoint -= 1
                handler.send_json(503, {"error": "temporarily_unavailable"})
                return
            if not self._client_ok(form):
                refuse("invalid_client", 401)
                return
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                pending = self._codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                if (
                    pending is None
                    or time.time() - pending["at"] > CODE_LIFETIME_S
                    or pending.get("client_id") != form.get("client_id")
                    or pending.get("redirect_uri") != form.get("redirect_uri")
                    or _b64url(hashlib.sha256(verifier.encode()).digest()) != pending.get("code_challenge")
                ):
                    refuse("invalid_grant")
                    return
                handler.send_json(
                    200, self._issue(_Grant(form["client_id"], pending.get("scope", ""), dict(self.user)))
                )
            elif grant_type == "refresh_token":
                token = form.get("refresh_token", "")
                self.refresh_uses[token] += 1
                entry = self._refresh.get(token)
                if entry is None or not entry[1] or entry[0].revoked or entry[0].client_id != form.get("client_id"):
                    self.refused_refreshes += 1
                    refuse("invalid_grant")
                    return
                grant = entry[0]
                self._refresh[token] = (grant, False)  # rotation: this refresh token is spent
                handler.send_json(200, self._issue(grant))
            else:
                refuse("unsupported_grant_type")
