"""Who may see the dashboard and API (the README, "The dashboard and web API"), and the security headers on every response.

With DASHBOARD_PASSWORD set: HTTP Basic (any user name) or `Authorization: Bearer <password>`, compared in constant
time; a client address that presents a wrong password too often is refused (429 with Retry-After) for a while, so the
password cannot be guessed at speed. Unset: loopback clients only, judged by the socket peer (request.remote_addr) —
X-Forwarded-For is set by whoever sends the request, so it is never trusted. /health and /health/ingestion are always
open (uptime monitors).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import math
import os
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from flask import Flask, Response, current_app, request

from autosig.web.host import state
from autosig.web.jsonout import json_response

PUBLIC_PATHS = frozenset({"/health", "/health/ingestion"})
# Authenticated by their own signature (autosig.web.webhooks): Whop cannot send the dashboard password.
SIGNED_PATHS = frozenset({"/webhooks/whop"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

NEEDS_PASSWORD = (
    "AutoSig answers only loopback clients while DASHBOARD_PASSWORD is unset. Set DASHBOARD_PASSWORD in the web "
    "service's environment (on Railway: a service variable), then sign in with any user name and that password, "
    "or send 'Authorization: Bearer <password>'."
)
WRONG_PASSWORD = "Authentication required: HTTP Basic with any user name and DASHBOARD_PASSWORD, or Bearer <password>."
TOO_MANY = "Too many wrong passwords from this address; try again after Retry-After seconds."

LIMITER = "autosig.login_limiter"
# Failed logins: at most FAILURE_LIMIT wrong passwords per client address within FAILURE_WINDOW_S; then every request
# from that address needing the password is refused for LOCKOUT_S. The table holds at most MAX_TRACKED addresses.
FAILURE_LIMIT = 10
FAILURE_WINDOW_S = 60.0
LOCKOUT_S = 60.0
MAX_TRACKED = 10_000


@dataclass
class _Attempts:
    failures: deque[float] = field(default_factory=lambda: deque(maxlen=FAILURE_LIMIT))
    locked_until: float = 0.0


class LoginLimiter:
    """Wrong-password counts per client address, on a monotonic clock. Memory is bounded: at most `max_tracked`
    addresses (the least recently failing one is forgotten first), each holding at most `limit` timestamps."""

    def __init__(
        self,
        limit: int = FAILURE_LIMIT,
        window: float = FAILURE_WINDOW_S,
        lockout: float = LOCKOUT_S,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        self.limit = limit
        self.window = window
        self.lockout = lockout
        self.max_tracked = max_tracked
        self._lock = threading.Lock()
        self._by_addr: OrderedDict[str, _Attempts] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_addr)

    def retry_after(self, addr: str, now: float) -> float | None:
        """Seconds this address must still wait, or None when it may try a password."""
        with self._lock:
            entry = self._by_addr.get(addr)
            if entry is None or entry.locked_until <= 0:
                return None
            if now < entry.locked_until:
                return entry.locked_until - now
            del self._by_addr[addr]  # the lockout is over: a clean slate
            return None

    def failed(self, addr: str, now: float) -> None:
        with self._lock:
            entry = self._by_addr.pop(addr, None) or _Attempts(deque(maxlen=self.limit))
            self._by_addr[addr] = entry  # most recent last
            failures = entry.failures
            while failures and now - failures[0] >= self.window:
                failures.popleft()
            failures.append(now)
            if len(failures) >= self.limit:
                entry.locked_until = now + self.lockout
                failures.clear()
            while len(self._by_addr) > self.max_tracked:
                self._by_addr.popitem(last=False)

    def succeeded(self, addr: str) -> None:
        with self._lock:
            self._by_addr.pop(addr, None)


def client_key(addr: str | None) -> str:
    """The rate-limit key of a socket peer: the address itself, or its /64 for IPv6 (one host can own a whole /64)."""
    if not addr:
        return ""
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return addr
    if ip.version == 6 and getattr(ip, "ipv4_mapped", None) is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def passwords_match(given: bytes | None, expected: bytes) -> bool:
    """Constant-time: the time taken does not depend on how much of the password was right."""
    # compare even when nothing was presented, so timing says nothing about which check failed
    ok = hmac.compare_digest(given or b"", expected)
    return ok and given is not None


def is_loopback(addr: str | None) -> bool:
    if not addr:
        return False
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def presented_password(header: str) -> bytes | None:
    """The password bytes of a Basic or Bearer Authorization header (WSGI headers arrive as latin-1 text)."""
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return value.strip().encode("latin-1", "replace")
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        return decoded.partition(b":")[2]
    return None


def _deny(message: str, challenge: bool) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="AutoSig", charset="UTF-8"'} if challenge else None
    return json_response({"error": message}, 401, headers)


def check_access() -> Response | None:
    if request.path in PUBLIC_PATHS or request.path in SIGNED_PATHS:
        return None
    password = state().settings.dashboard_password
    if password is None:
        return None if is_loopback(request.remote_addr) else _deny(NEEDS_PASSWORD, challenge=False)
    limiter: LoginLimiter = current_app.extensions[LIMITER]
    addr = client_key(request.remote_addr)
    now = state().clock.monotonic()
    wait = limiter.retry_after(addr, now)
    if wait is not None:
        # no password is checked while locked out, so a right guess cannot be told from a wrong one
        return json_response({"error": TOO_MANY}, 429, {"Retry-After": str(max(1, math.ceil(wait)))})
    header = request.headers.get("Authorization")
    given = presented_password(header or "")
    if passwords_match(given, password.reveal().encode("utf-8")):
        limiter.succeeded(addr)
        return None
    if header:  # a browser's first request carries no credentials: only a presented wrong one counts
        limiter.failed(addr, now)
    return _deny(WRONG_PASSWORD, challenge=True)


def security_headers(response: Response) -> Response:
    h = response.headers
    h["Content-Security-Policy"] = CSP
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    h["Referrer-Policy"] = "no-referrer"
    h["X-AutoSig-Worker"] = str(os.getpid())
    if request.path.startswith(("/api/", "/health", "/metrics")) or request.path == "/":
        h.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.extensions[LIMITER] = LoginLimiter()
    app.before_request(check_access)
    app.after_request(security_headers)
