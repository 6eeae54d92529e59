"""Who may see the dashboard and API (DESIGN §6), and the security headers on every response.

With DASHBOARD_PASSWORD set: HTTP Basic (any user name) or `Authorization: Bearer <password>`, compared in constant
time. Unset: loopback clients only, judged by the socket peer (request.remote_addr) — X-Forwarded-For is set by
whoever sends the request, so it is never trusted. /health and /health/ingestion are always open (uptime monitors).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import os

from flask import Flask, Response, request

from autosig.web.host import state
from autosig.web.jsonout import json_response

PUBLIC_PATHS = frozenset({"/health", "/health/ingestion"})

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
    if request.path in PUBLIC_PATHS:
        return None
    password = state().settings.dashboard_password
    if password is None:
        return None if is_loopback(request.remote_addr) else _deny(NEEDS_PASSWORD, challenge=False)
    given = presented_password(request.headers.get("Authorization", ""))
    expected = password.reveal().encode("utf-8")
    # compare even when nothing was presented, so timing says nothing about which check failed
    ok = hmac.compare_digest(given or b"", expected)
    return None if ok and given is not None else _deny(WRONG_PASSWORD, challenge=True)


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
    app.before_request(check_access)
    app.after_request(security_headers)
