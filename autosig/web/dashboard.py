"""The dashboard at `/`: rendered on the server (Jinja autoescapes every alert text), then kept live by
static/dashboard.js over /api/stream. The ingestion banner is the first thing on the page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from markupsafe import escape

from autosig.display import contract, price
from autosig.schema import PARSED
from autosig.web.host import current_status, ensure_started
from autosig.web.timetravel import Busy, PastError, past_status, requested_past

# templates/ and static/ are the app's own folders (the app is rooted at this package)
bp = Blueprint("dashboard", __name__)

UNPARSED_SHOWN = 20


@bp.app_template_filter("contract")
def _contract_filter(signal: dict[str, Any]) -> str:
    return contract(signal)


@bp.app_template_filter("price")
def _price_filter(signal: dict[str, Any]) -> str:
    return price(signal)


@bp.get("/")
def index() -> str | tuple[str, int]:
    st = ensure_started()
    try:
        past = requested_past(st)  # time travel: ?as_of=<ISO time>
    except (PastError, Busy) as exc:
        return escape(str(exc)), 400 if isinstance(exc, PastError) else 503
    now = past.at if past is not None else st.now()

    def snapshot(p):  # noqa: ANN001, ANN202 - a Projections, read under the host lock
        return (
            past_status(p, now) if past is not None else current_status(st, p, now),
            p.signals.signals(limit=50),
            p.signals.alerts(kind="unparseable", limit=UNPARSED_SHOWN),
            p.parse_stats(),
            p.last_seq(PARSED),
        )

    status, signals, unparsed, parse_stats, parsed_seq = (past or st.host).read(snapshot)
    return render_template(
        "dashboard.html", status=status, signals=signals, unparsed=unparsed, parse_stats=parse_stats,
        parsed_seq=parsed_seq,
        as_of=status.get("as_of"), as_of_arg=request.args.get("as_of", "") if past is not None else "",
    )
