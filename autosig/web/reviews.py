"""The review queue at `/reviews`: alerts that did not parse, or parsed with a confidence below LOW_CONFIDENCE, listed
next to the parser's result; a reviewer records the correct reading as a `review.recorded` event in the `reviews`
stream.

Recording needs DASHBOARD_PASSWORD: without it (loopback-only mode) nobody is identified by a secret, so reviews are
refused and the page says why. A review is a POST carrying a CSRF token bound to the password, from this site
(autosig.web.forms). GET never changes anything.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from autosig.projections import Projections
from autosig.projections.reviews import (
    LOW_CONFIDENCE,
    ReviewError,
    build_review,
    needs_review,
)
from autosig.schema import REVIEWS
from autosig.schema.reviews import review_recorded
from autosig.web import forms, writes
from autosig.web.forms import Refused, check_same_origin
from autosig.web.host import WebState, ensure_started, wait_applied
from autosig.web.jsonout import json_response
from autosig.web.timetravel import page_status

bp = Blueprint("reviews", __name__)

QUEUE_LIMIT = 100
PURPOSE = "review"
NO_PASSWORD = (
    "Reviews are disabled: DASHBOARD_PASSWORD is not set. Recording a review writes to the event log, so it needs a "
    "password even on this machine. Set DASHBOARD_PASSWORD in the web service's environment and sign in with it."
)


def csrf_token(st: WebState, now: float | None = None) -> str | None:
    """A fresh token for the review forms, or None when reviews are disabled."""
    return forms.csrf_token(st, PURPOSE, now)


def check_csrf(st: WebState, token: str | None, now: float | None = None) -> None:
    """Raises Refused unless `token` was issued for the review forms and the current password recently."""
    forms.check_csrf(st, PURPOSE, token, "review page", NO_PASSWORD, now)


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
        status=page_status(st, None),
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
    (event,) = writes.append(st, REVIEWS, [review_recorded(data)])
    wait_applied(st, REVIEWS, event.seq)
    return redirect(url_for("reviews.page", recorded=raw_seq) + f"#alert-{raw_seq}", code=303)
