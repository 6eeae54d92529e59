"""What AutoSig did with the user's money: the `/orders` page, `GET /api/orders`, `GET /api/positions`, and the
pause switch's `POST /orders/pause` / `POST /orders/resume` (autosig.web.control).

Read from the orders projection (the executor's `orders` stream and the pause switch in `control`), rendered on the
server (Jinja escapes every alert text) and kept live by static/orders.js over /api/stream (`event: order`). Every
read takes `as_of` (time travel). The pause switch itself is autosig.web.control.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from markupsafe import escape

from autosig.clock import rfc3339
from autosig.projections import Projections
from autosig.schema import ORDER_STATUSES, ORDERS
from autosig.web import control
from autosig.web.api import DEFAULT_LIMIT, MAX_LIMIT, BadRequest, int_arg, json_errors
from autosig.web.execution import order_entries, positions_view, working_view
from autosig.web.forms import Refused
from autosig.web.host import WebState, current_status, ensure_started
from autosig.web.jsonout import json_response
from autosig.web.reasons import rules
from autosig.web.timetravel import Busy, PastError, Replay, past_status, requested_past

bp = Blueprint("orders", __name__)

PAGE_DECISIONS = 100
# `status` filters by decision or by the state of its order
STATUS_FILTERS = ("planned", "skipped", "dry_run", "unknown", "failed", *ORDER_STATUSES)


json_errors(bp)


@bp.errorhandler(Refused)
def _refused(exc: Refused) -> Response | tuple[Any, int]:
    """A refused switch: a browser's form gets the page with the refusal where the switch is; others JSON."""
    if request.accept_mimetypes.accept_html and not request.accept_mimetypes.accept_json:
        return render(error=str(exc), code=exc.status)
    return json_response({"error": str(exc)}, exc.status)


def _read(fn: Any) -> tuple[Any, Replay | None, float]:
    """fn(projections, now) live, or as of the requested moment; with the replay (None when live) and the moment."""
    st = ensure_started()
    past = requested_past(st)
    now = past.at if past is not None else st.now()
    return (past or st.host).read(lambda p: fn(p, now)), past, now


@bp.get("/api/orders")
def api_orders() -> Response:
    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after_seq = int_arg("after_seq", 0, 0)
    status = request.args.get("status", "").strip() or None
    if status is not None and status not in STATUS_FILTERS:
        raise BadRequest(f"status must be one of {', '.join(STATUS_FILTERS)}")
    found, past, _ = _read(lambda p, now: order_entries(p, limit=limit, status=status, after_seq=after_seq))
    body: dict[str, Any] = {"orders": found}
    if past is not None:
        body["as_of"] = rfc3339(past.at)
    return json_response(body)


@bp.get("/api/positions")
def api_positions() -> Response:
    view, past, _ = _read(positions_view)
    if past is not None:
        view["as_of"] = rfc3339(past.at)
    return json_response(view)


def page_state(st: WebState, p: Projections, now: float, live: bool) -> dict[str, Any]:
    """Everything /orders shows, read at once (one consistent snapshot)."""
    status = current_status(st, p, now) if live else past_status(p, now)
    return {
        "status": status,
        "decisions": order_entries(p, limit=PAGE_DECISIONS),
        "working": working_view(status, now),
        "positions": positions_view(p, now),
        "orders_seq": p.last_seq(ORDERS),
    }


def render(error: str | None = None, done: str | None = None, code: int = 200) -> Response | tuple[str, int]:
    """The /orders page (also after a refused pause, with the refusal shown)."""
    st = ensure_started()
    try:
        past = requested_past(st)
    except (PastError, Busy) as exc:
        return escape(str(exc)), 400 if isinstance(exc, PastError) else 503
    now = past.at if past is not None else st.now()
    state = (past or st.host).read(lambda p: page_state(st, p, now, past is None))
    html = render_template(
        "orders.html",
        **state,
        rules=rules(),
        switch=None if past is not None else control.switch_state(st),
        error=error,
        done=done,
        as_of=state["status"].get("as_of"),
        as_of_arg=request.args.get("as_of", "") if past is not None else "",
    )
    response = Response(html, status=code, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/orders")
def page() -> Response | tuple[str, int]:
    done = request.args.get("done", "")
    return render(done=done if done in ("paused", "resumed") else None)


@bp.post("/orders/pause")
def pause() -> Response:
    st = ensure_started()
    control.switch(st, control.pause_request(st))
    return redirect(url_for("orders.page", done="paused") + "#pause", code=303)


@bp.post("/orders/resume")
def resume() -> Response:
    st = ensure_started()
    control.switch(st, control.resume_request(st))
    return redirect(url_for("orders.page", done="resumed") + "#pause", code=303)
