"""The dashboard at `/`: rendered on the server (Jinja autoescapes every alert text), then kept live by
static/dashboard.js over /api/stream. The ingestion banner is the first thing on the page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from markupsafe import escape

from autosig.web.host import current_status, ensure_started
from autosig.web.timetravel import Busy, PastError, past_status, requested_past

# templates/ and static/ are the app's own folders (the app is rooted at this package)
bp = Blueprint("dashboard", __name__)

UNPARSED_SHOWN = 20


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) >= 1000 else f"{value:g}"
    return str(value)


def contract(signal: dict[str, Any]) -> str:
    """A short readable contract: "600C 2027-01-17", "450/455C 2026-12-29 debit", "stock", "/ES future"."""
    legs = signal.get("legs") or []
    if legs:
        parts = []
        for leg in legs:
            strike = leg.get("strike")
            right = leg.get("right") or ""
            text = (_num(strike) if strike is not None else "?") + right
            if leg.get("expiry"):
                text += " " + str(leg["expiry"])
            if len(legs) > 1:
                text = f"{leg.get('side') or ''} {text}".strip()
            parts.append(text)
        out = " / ".join(parts)
        if signal.get("limit_kind"):
            out += f" ({signal['limit_kind']})"
        return out
    return str(signal.get("instrument") or "")


def price(signal: dict[str, Any]) -> str:
    if signal.get("price") is not None:
        return _num(signal["price"])
    rng = signal.get("price_range")
    if rng:
        return "–".join(_num(v) for v in rng)
    return ""


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
        )

    status, signals, unparsed, parse_stats = (past or st.host).read(snapshot)
    return render_template(
        "dashboard.html", status=status, signals=signals, unparsed=unparsed, parse_stats=parse_stats,
        as_of=status.get("as_of"), as_of_arg=request.args.get("as_of", "") if past is not None else "",
    )
