"""What every form that writes to the event log shares (reviews, the pause switch): a password must be set, the
request must come from this site, and it must carry a CSRF token bound to the password.

A token is `<issued>.<HMAC of the purpose and the time it was issued, keyed by DASHBOARD_PASSWORD>`, valid for
TOKEN_TTL_SECONDS, checked in constant time; a token made for one form (its purpose) is refused by another, and
changing the password voids every token. A cross-site Origin or Sec-Fetch-Site is refused whatever it carries.
GET never changes anything.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

from flask import request

from autosig.web.host import WebState

TOKEN_TTL_SECONDS = 12 * 3600


class Refused(Exception):
    """A write refused; the message says why (shown to the user as it is)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def _secret(st: WebState) -> bytes | None:
    password = st.settings.dashboard_password
    return password.reveal().encode("utf-8") if password is not None else None


def _mac(secret: bytes, purpose: str, issued: str) -> str:
    return hmac.new(secret, f"autosig-{purpose}-csrf:{issued}".encode(), hashlib.sha256).hexdigest()


def csrf_token(st: WebState, purpose: str, now: float | None = None) -> str | None:
    """A fresh token for the forms of `purpose`, or None when writing is disabled (no password)."""
    secret = _secret(st)
    if secret is None:
        return None
    issued = str(int(now if now is not None else time.time()))
    return f"{issued}.{_mac(secret, purpose, issued)}"


def check_csrf(st: WebState, purpose: str, token: str | None, page: str, no_password: str,
               now: float | None = None) -> None:  # fmt: skip
    """Raises Refused unless `token` was issued for `purpose` and the current password within TOKEN_TTL_SECONDS.
    `page` names the page to reload in the message; `no_password` is the message while no password is set."""
    secret = _secret(st)
    if secret is None:
        raise Refused(no_password)
    issued, _, mac = (token or "").partition(".")
    expected = _mac(secret, purpose, issued)
    if not hmac.compare_digest(mac.encode(), expected.encode()) or not issued.isdigit():
        raise Refused(f"Missing or invalid CSRF token: reload the {page} and submit the form again.")
    age = (now if now is not None else time.time()) - int(issued)
    if not -60 <= age <= TOKEN_TTL_SECONDS:
        raise Refused(f"The form has expired: reload the {page} and submit it again.")


def check_same_origin() -> None:
    """Browsers say where a request comes from; a cross-site one is refused whatever it carries."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise Refused("Cross-site request refused.")
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        parts = urlsplit(origin)
        if parts.netloc != request.host:
            raise Refused("Cross-origin request refused.")


__all__ = ["TOKEN_TTL_SECONDS", "Refused", "check_csrf", "check_same_origin", "csrf_token"]
