"""The review queue at `/reviews`: alerts that did not parse, or parsed with a confidence below LOW_CONFIDENCE, listed
next to the parser's result; a reviewer records the correct reading as a `review.recorded` event in the `reviews`
stream.

Recording needs DASHBOARD_PASSWORD: without it (loopback-only mode) nobody is identified by a secret, so reviews are
refused and the page says why. A review is a POST carrying a CSRF token bound to the password (an HMAC of the time it
was issued, keyed by the password, valid for TOKEN_TTL_SECONDS), checked in constant time; a cross-site Origin or
Sec-Fetch-Site is refused too. GET never changes anything.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request, url_for

from autosig.events import open_store
from autosig.projections import Projections
from autosig.projections.reviews import (
    LOW_CONFIDENCE,
    ReviewError,
    build_review,
    needs_review,
)
from autosig.schema import REVIEWS
from autosig.schema.reviews import review_recorded
from autosig.web.host import WebState, ensure_started
from autosig.web.jsonout import json_response

bp = Blueprint("reviews", __name__)

QUEUE_LIMIT = 100
TOKEN_TTL_SECONDS = 12 * 3600
APPLY_WAIT_SECONDS = 3.0
NO_PASSWORD = (
    "Reviews are disabled: DASHBOARD_PASSWORD is not set. Recording a review writes to the event log, so it needs a "
    "password even on this machine. Set DASHBOARD_PASSWORD in the web service's environment and sign in with it."
)


class Refused(Exception):
    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def _secret(st: WebState) -> bytes | None:
    password = st.settings.dashboard_password
    return password.reveal().encode("utf-8") if password is not None else None


def _mac(secret: bytes, issued: str) -> str:
    return hmac.new(secret, b"autosig-review-csrf:" + issued.encode(), hashlib.sha256).hexdigest()


def csrf_token(st: WebState, now: float | None = None) -> str | None:
    """A fresh token for the review forms, or None when reviews are disabled."""
    secret = _secret(st)
    if secret is None:
        return None
    issued = str(int(now if now is not None else time.time()))
    return f"{issued}.{_mac(secret, issued)}"


def check_csrf(st: WebState, token: str | None, now: float | None = None) -> None:
    """Raises Refused unless `token` was issued for the current password within TOKEN_TTL_SECONDS."""
    secret = _secret(st)
    if secret is None:
        raise Refused(NO_PASSWORD)
    issued, _, mac = (token or "").partition(".")
    expected = _mac(secret, issued)
    if not hmac.compare_digest(mac.encode(), expected.encode()) or not issued.isdigit():
        raise Refused("Missing or invalid CSRF token: reload the review page and submit the form again.")
    age = (now if now is not None else time.time()) - int(issued)
    if not -60 <= age <= TOKEN_TTL_SECONDS:
        raise Refused("The form has expired: reload the review page and submit it again.")


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


@bp.errorhandler(Refused)
def _refused(exc: Refused) -> Response:
    return json_response({"error": str(exc)}, exc.status)


def queue(p: Projections, limit: int = QUEUE_LIMIT) -> list[dict[str, Any]]:
    """Flagged alerts, newest first, each with the newest review of it (or None)."""
    items = p.signals.flagged(needs_review, limit=limit)
    for item in items:
        item["review"] = p.reviews.review(item["raw_seq"])
    return items


def _render(st: WebState, status: int = 200, error: str | None = None, form_raw_seq: int | None = None) -> Response:
    items = st.host.read(queue)
    recorded = request.args.get("recorded", "")
    html = render_template(
        "reviews.html",
        items=items,
        threshold=LOW_CONFIDENCE,
        csrf=csrf_token(st),
        disabled_reason=None if st.settings.dashboard_password is not None else NO_PASSWORD,
        error=error,
        error_raw_seq=form_raw_seq,
        recorded=int(recorded) if recorded.isdigit() else None,
        as_of=None,
        as_of_arg="",
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/reviews")
def page() -> Response:
    return _render(ensure_started())


@bp.get("/api/reviews")
def api_reviews() -> Response:
    st = ensure_started()
    return json_response({"threshold": LOW_CONFIDENCE, "queue": st.host.read(queue),
                          "reviews": st.host.read(lambda p: p.reviews.reviews())})  # fmt: skip


@bp.post("/reviews")
def record() -> Response:
    st = ensure_started()
    check_same_origin()
    check_csrf(st, request.form.get("csrf"))
    raw = request.form.get("raw_seq", "")
    if not raw.isdigit():
        raise Refused("raw_seq must be a whole number", 400)
    raw_seq = int(raw)
    alert = st.host.read(lambda p: p.signals.alert(raw_seq))
    if alert is None:
        raise Refused(f"no alert with raw_seq {raw_seq} is shown (unknown, superseded by an edit, or too old)", 404)
    try:
        data = build_review(request.form.to_dict(), alert)
    except ReviewError as exc:
        return _render(st, 400, str(exc), raw_seq)
    auth = request.authorization
    data["reviewer"] = auth.username if auth is not None and auth.username else None
    store = open_store(st.settings.store_url, writer="web", fsync=st.settings.fsync)
    try:
        (event,) = store.append_many(REVIEWS, [review_recorded(data)])
    finally:
        store.close()
    _wait_applied(st, event.seq)
    return redirect(url_for("reviews.page", recorded=raw_seq) + f"#alert-{raw_seq}", code=303)


def _wait_applied(st: WebState, seq: int) -> None:
    """Waits (briefly) until this process shows the review, so the page after the redirect includes it."""
    deadline = time.monotonic() + APPLY_WAIT_SECONDS
    host = st.host
    version = host.version
    while time.monotonic() < deadline:
        if host.read(lambda p: p.last_seq(REVIEWS)) >= seq:
            return
        version = host.wait_change(version, min(0.2, max(0.0, deadline - time.monotonic())))
