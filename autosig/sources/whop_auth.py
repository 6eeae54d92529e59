"""Who the Whop client is: a fixed token (a company API key, WHOP_ACCESS_TOKEN) or a signed-in Whop user (an OAuth
grant made by `autosig whop-login`, renewed here). The client asks its credentials for the current access token
before each request and tells them about a 401 (see the README, "Whop sign-in").

    credentials = credentials_for(settings, store)     # StaticToken or OAuthCredentials
    token = credentials.access_token()                 # a Secret; raises CredentialsError (reason "auth")
    credentials.unauthorized(token)                    # after a 401: a renewed token to retry once with, or None

A user token is a short-lived JWT: it is renewed with the grant's refresh token before its `exp` (with a margin) and
once after a 401. Refresh tokens rotate, so the grant lives beside the store (`read_aside` / `write_aside`, never a
stream or the environment) and the new refresh token is saved before the new access token is used: a process killed
in between loses nothing. Only the worker renews (it holds the worker lease); `whop-login --status` only reads.
Every failure is reported in AutoSig's own words; no token, secret or Whop error text reaches a message.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import requests

from autosig.clock import Clock
from autosig.redact import Secret

GRANT_NAME = "whop-grant.json"  # the aside entry: a 0600 file in the file store's directory, a row in Postgres
SIGN_IN_EXPIRED = "Whop sign-in expired — run autosig whop-login"
NOT_SIGNED_IN = "Not signed in to Whop — run autosig whop-login"
DEFAULT_API = "https://api.whop.com"
DEFAULT_LIFETIME_S = 3600.0  # Whop's user tokens last an hour (used only when neither exp nor expires_in says)
MAX_MARGIN_S = 120.0
TIMEOUT = (10.0, 30.0)


class CredentialsError(Exception):
    """No usable access token. `reason` is the poll failure reason ("auth"); `detail` is safe to log and store."""

    def __init__(self, detail: str, reason: str = "auth") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class AsideStore(Protocol):
    """What credentials need of an event store: the data kept beside its streams."""

    def read_aside(self, name: str) -> bytes | None: ...

    def write_aside(self, name: str, data: bytes, *, private: bool = False) -> None: ...


def oauth_endpoint(api_url: str | None, name: str) -> str:
    """https://api.whop.com/oauth/<name> for a listing URL on api.whop.com; the same path on the simulator's host."""
    parts = urlsplit(api_url or DEFAULT_API)
    return urlunsplit((parts.scheme or "https", parts.netloc or "api.whop.com", f"/oauth/{name}", "", ""))


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (Whop verifies it; we only read when it expires), or {} for another token."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


@dataclass
class Grant:
    """A signed-in Whop user: the tokens and what is shown about them (never the tokens themselves)."""

    access_token: Secret
    refresh_token: Secret
    expires_at: float  # epoch seconds, from the JWT's exp (else expires_in)
    issued_at: float
    token_url: str
    client_id: str
    scope: str = ""
    user: dict[str, Any] = field(default_factory=dict)  # {"id", "username", "name"} when Whop said

    @classmethod
    def from_token_response(
        cls, doc: Mapping[str, Any], *, token_url: str, client_id: str, now: float, previous: Grant | None = None
    ) -> Grant:
        access = doc.get("access_token")
        if not isinstance(access, str) or not access:
            raise CredentialsError("Whop's token endpoint answered without an access token")
        refresh = doc.get("refresh_token")
        if not isinstance(refresh, str) or not refresh:
            if previous is None:
                raise CredentialsError("Whop's token endpoint answered without a refresh token")
            refresh = previous.refresh_token.reveal()  # no rotation this time: keep the one we have
        claims = jwt_claims(access)
        expires_at = claims.get("exp")
        if not isinstance(expires_at, int | float) or isinstance(expires_at, bool):
            lifetime = doc.get("expires_in")
            ok = isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0
            expires_at = now + (float(lifetime) if ok else DEFAULT_LIFETIME_S)
        issued = claims.get("iat") if isinstance(claims.get("iat"), int | float) else now
        scope = doc.get("scope") if isinstance(doc.get("scope"), str) else (previous.scope if previous else "")
        user = dict(previous.user) if previous else {}
        if isinstance(claims.get("sub"), str) and not user:
            user = {"id": claims["sub"]}
        return cls(Secret(access), Secret(refresh), float(expires_at), float(issued), token_url, client_id, scope, user)

    def to_bytes(self) -> bytes:
        doc = {
            "version": 1,
            "access_token": self.access_token.reveal(),
            "refresh_token": self.refresh_token.reveal(),
            "expires_at": self.expires_at,
            "issued_at": self.issued_at,
            "token_url": self.token_url,
            "client_id": self.client_id,
            "scope": self.scope,
            "user": self.user,
        }
        return json.dumps(doc, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Grant:
        try:
            doc = json.loads(data)
            return cls(
                Secret(str(doc["access_token"])),
                Secret(str(doc["refresh_token"])),
                float(doc["expires_at"]),
                float(doc.get("issued_at") or 0),
                str(doc["token_url"]),
                str(doc["client_id"]),
                str(doc.get("scope") or ""),
                dict(doc.get("user") or {}),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CredentialsError("the saved Whop sign-in cannot be read — run autosig whop-login again") from None

    def margin(self) -> float:
        """Renew this long before expiry: a quarter of the token's life, at most two minutes."""
        life = self.expires_at - self.issued_at if self.issued_at else DEFAULT_LIFETIME_S
        return max(1.0, min(MAX_MARGIN_S, life / 4))

    def who(self) -> str:
        name = self.user.get("username") or self.user.get("name")
        uid = self.user.get("id")
        if name and uid:
            return f"@{name} ({uid})"
        return f"{name or uid or 'a Whop user'}"


def load_grant(store: AsideStore) -> Grant | None:
    data = store.read_aside(GRANT_NAME)
    return None if data is None else Grant.from_bytes(data)


def save_grant(store: AsideStore, grant: Grant) -> None:
    store.write_aside(GRANT_NAME, grant.to_bytes(), private=True)


def post_token(
    session: requests.Session, token_url: str, form: dict[str, str], *, what: str
) -> tuple[int, dict[str, Any]]:
    """POSTs to Whop's token endpoint (form-encoded, as OAuth specifies); (status, JSON body). Failures to reach it
    raise CredentialsError in our words (the library's text can carry the request, secrets included)."""
    host = urlsplit(token_url).hostname or "Whop"
    try:
        resp = session.post(token_url, data=form, headers={"Accept": "application/json"}, timeout=TIMEOUT)
    except requests.exceptions.Timeout:
        raise CredentialsError(f"cannot {what}: {host} did not answer in time") from None
    except requests.exceptions.RequestException:
        raise CredentialsError(f"cannot {what}: {host} cannot be reached") from None
    try:
        doc = resp.json()
    except ValueError:
        doc = {}
    return resp.status_code, doc if isinstance(doc, dict) else {}


def refused_words(status: int, doc: Mapping[str, Any]) -> str:
    """Why the token endpoint said no, from the OAuth error code only (its description is Whop's text)."""
    code = doc.get("error")
    known = {
        "invalid_grant": "the grant was revoked, expired or already used",
        "invalid_client": "WHOP_CLIENT_ID / WHOP_CLIENT_SECRET do not match the app",
        "unauthorized_client": "the app may not use this grant",
        "invalid_scope": "the requested scopes are not allowed",
        "invalid_request": "the request was refused as invalid",
    }
    return known.get(code if isinstance(code, str) else "", f"HTTP {status}")


class StaticToken:
    """A fixed token (WHOP_ACCESS_TOKEN): company API keys do not expire, so there is nothing to renew."""

    kind = "static"

    def __init__(self, token: Secret | None) -> None:
        self._token = token

    def access_token(self) -> Secret | None:
        return self._token

    def unauthorized(self, token: Secret | None) -> Secret | None:
        return None


class OAuthCredentials:
    """A Whop user's OAuth grant kept beside the store, renewed before it expires and once after a 401.

    The grant is read from the store on every call, so a new `autosig whop-login` (after a revoked grant) is picked
    up by the running worker without a restart. A refresh token Whop refused is not tried again."""

    kind = "oauth"

    def __init__(
        self,
        store: AsideStore,
        *,
        client_id: str,
        client_secret: Secret | None = None,
        session: requests.Session | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock or Clock()
        self._session = session or requests.Session()
        self._lock = threading.Lock()
        self._refused: str | None = None  # a refresh token Whop refused: sign-in expired until a new login
        self.refreshes = 0

    def _current(self) -> Grant:
        try:
            grant = load_grant(self.store)
        except CredentialsError:
            raise
        except Exception as exc:  # noqa: BLE001 - a store that cannot be read: our words, not its text
            raise CredentialsError(f"cannot read the saved Whop sign-in ({type(exc).__name__})") from None
        if grant is None:
            raise CredentialsError(NOT_SIGNED_IN)
        if self._refused is not None and grant.refresh_token.reveal() == self._refused:
            raise CredentialsError(f"{SIGN_IN_EXPIRED} (Whop refused to renew it)")
        return grant

    def access_token(self) -> Secret:
        with self._lock:
            grant = self._current()
            if self.clock.time() < grant.expires_at - grant.margin():
                return grant.access_token
            return self._refresh(grant).access_token

    def unauthorized(self, token: Secret | None) -> Secret | None:
        """Whop answered 401 to `token`: renew once (unless another call renewed it already); the token to retry
        the request with."""
        with self._lock:
            grant = self._current()
            if token is None or grant.access_token != token:
                return grant.access_token  # renewed meanwhile: retry with the newer token
            fresh = self._refresh(grant)
            return fresh.access_token if fresh.access_token != token else None

    def _refresh(self, grant: Grant) -> Grant:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": grant.refresh_token.reveal(),
            "client_id": self.client_id,
        }
        if self.client_secret is not None:
            form["client_secret"] = self.client_secret.reveal()
        now = self.clock.time()
        try:
            status, doc = post_token(self._session, grant.token_url, form, what="renew the Whop sign-in")
        except CredentialsError:
            if now < grant.expires_at:
                return grant  # Whop's token endpoint is unreachable, but the current token still works
            raise
        if status in (400, 401, 403):
            self._refused = grant.refresh_token.reveal()
            raise CredentialsError(f"{SIGN_IN_EXPIRED} ({refused_words(status, doc)})")
        if status != 200:
            if now < grant.expires_at:
                return grant
            raise CredentialsError(f"cannot renew the Whop sign-in: Whop's token endpoint answered HTTP {status}")
        fresh = Grant.from_token_response(
            doc, token_url=grant.token_url, client_id=grant.client_id, now=now, previous=grant
        )
        try:
            save_grant(self.store, fresh)  # before the new token is used: the old refresh token is spent now
        except Exception as exc:  # noqa: BLE001
            raise CredentialsError(
                f"renewed the Whop sign-in but could not save it ({type(exc).__name__}); {SIGN_IN_EXPIRED} if this "
                "persists"
            ) from None
        self.refreshes += 1
        return fresh


# --- signing in (autosig whop-login) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """One authorization-code flow with PKCE (S256): what the authorize URL carries and what must come back."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str
    verifier: Secret  # the PKCE code_verifier: sent only to the token endpoint, never shown
    authorize_endpoint: str

    @classmethod
    def start(cls, client_id: str, redirect_uri: str, scope: str, api_url: str | None) -> SignIn:
        verifier = secrets.token_urlsafe(48)  # 64 characters of the unreserved set, as RFC 7636 asks (43 to 128)
        return cls(client_id, redirect_uri, scope, secrets.token_urlsafe(16), Secret(verifier),
                   oauth_endpoint(api_url, "authorize"))  # fmt: skip

    def url(self) -> str:
        digest = hashlib.sha256(self.verifier.reveal().encode("ascii")).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.authorize_endpoint}?{urlencode(params, quote_via=quote)}"

    def exchange(self, code: str, *, client_secret: Secret | None, session: requests.Session, now: float) -> Grant:
        """Trades the one-time code (and the verifier) for tokens; then asks who signed in (best effort)."""
        token_url = self.authorize_endpoint.rsplit("/", 1)[0] + "/token"
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "client_id": self.client_id, "code_verifier": self.verifier.reveal()}  # fmt: skip
        if client_secret is not None:
            form["client_secret"] = client_secret.reveal()
        status, doc = post_token(session, token_url, form, what="finish signing in to Whop")
        if status != 200:
            raise CredentialsError(
                f"Whop refused the sign-in ({refused_words(status, doc)}); run autosig whop-login again"
            )
        grant = Grant.from_token_response(doc, token_url=token_url, client_id=self.client_id, now=now)
        grant.user = fetch_user(session, token_url.rsplit("/", 1)[0] + "/userinfo", grant.access_token) or grant.user
        return grant


def fetch_user(session: requests.Session, userinfo_url: str, token: Secret) -> dict[str, Any] | None:
    """{"id", "username", "name"} of the token's user from Whop's OIDC userinfo, or None when it does not say."""
    try:
        resp = session.get(userinfo_url, headers={"Authorization": f"Bearer {token.reveal()}"}, timeout=TIMEOUT)
        doc = resp.json() if resp.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("sub"), str):
        return None
    user = {"id": doc["sub"], "username": doc.get("preferred_username"), "name": doc.get("name")}
    return {k: v for k, v in user.items() if isinstance(v, str) and v}


def credentials_for(settings: Any, store: AsideStore, **options: Any) -> StaticToken | OAuthCredentials:
    """OAuth when WHOP_CLIENT_ID is set (the grant `autosig whop-login` saved in `store`), else the fixed token."""
    if getattr(settings, "whop_client_id", None):
        return OAuthCredentials(
            store, client_id=settings.whop_client_id, client_secret=settings.whop_client_secret, **options
        )
    return StaticToken(settings.whop_access_token)
