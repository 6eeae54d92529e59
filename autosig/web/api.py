"""The JSON API (the README, "The dashboard and web API"): status, signals, alerts, plus /api/stats for the dashboard's statistics and chart."""

from __future__ import annotations

from flask import Blueprint, Response, request

from autosig.clock import rfc3339
from autosig.projections import Projections
from autosig.projections.signals import KINDS
from autosig.web.host import current_status, ensure_started
from autosig.web.jsonout import dumps, json_response
from autosig.web.timetravel import Busy, PastError, past_status, requested_past

bp = Blueprint("api", __name__, url_prefix="/api")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class BadRequest(ValueError):
    pass


def int_arg(name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    """A whole-number query argument; raises BadRequest naming it when it is not one or out of range."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    if value < minimum:
        raise BadRequest(f"{name} must be at least {minimum}")
    return min(value, maximum) if maximum is not None else value


def _bad_request(exc: ValueError) -> Response:
    return json_response({"error": str(exc)}, 400)


def _busy(exc: Busy) -> Response:
    return json_response({"error": str(exc)}, 503, {"Retry-After": "5"})


def json_errors(blueprint: Blueprint) -> None:
    """A blueprint answers bad arguments and unusable as_of values with 400, and a busy replay with 503 and
    Retry-After, as JSON."""
    for exc in (BadRequest, PastError):
        blueprint.register_error_handler(exc, _bad_request)
    blueprint.register_error_handler(Busy, _busy)


json_errors(bp)


def with_reviews(p: Projections, alerts: list[dict]) -> list[dict]:
    """Each alert with the newest review of it next to the parser's result (null when none)."""
    for alert in alerts:
        alert["review"] = p.reviews.review(alert["raw_seq"])
    return alerts


@bp.get("/status")
def status() -> Response:
    st = ensure_started()
    past = requested_past(st)
    if past is not None:
        return json_response(past.read(lambda p: past_status(p, past.at)))
    now = st.now()
    return json_response(st.host.read(lambda p: current_status(st, p, now)))


@bp.get("/signals")
def signals() -> Response:
    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after_seq = int_arg("after_seq", 0, 0)
    ticker = (request.args.get("ticker", "").strip() or None)
    ticker = ticker.upper() if ticker else None
    st = ensure_started()
    past = requested_past(st)
    if past is not None:
        found = past.read(lambda p: p.signals.signals(limit=limit, ticker=ticker, after_seq=after_seq))
        return json_response({"signals": found, "as_of": rfc3339(past.at)})
    host = st.host
    key = ("signals", limit, ticker, after_seq)
    body = st.responses.get(key, host.generation, host.version)
    if body is None:
        def build(p: Projections) -> tuple[int, int, bytes]:
            found = p.signals.signals(limit=limit, ticker=ticker, after_seq=after_seq)
            return host.generation, host.version, dumps({"signals": found})

        generation, version, body = host.read(build)
        st.responses.put(key, generation, version, body)
    return Response(body, mimetype="application/json")


@bp.get("/alerts")
def alerts() -> Response:
    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    kind = request.args.get("kind", "").strip() or None
    if kind is not None and kind not in KINDS:
        raise BadRequest(f"kind must be one of {', '.join(KINDS)}")
    st = ensure_started()

    def build(p: Projections) -> list[dict]:
        return with_reviews(p, p.signals.alerts(kind=kind, limit=limit))

    past = requested_past(st)
    if past is not None:
        return json_response({"alerts": past.read(build), "as_of": rfc3339(past.at)})
    return json_response({"alerts": st.host.read(build)})


@bp.get("/stats")
def stats() -> Response:
    st = ensure_started()
    past = requested_past(st)
    if past is not None:
        return json_response({**past.read(lambda p: p.stats()), "as_of": rfc3339(past.at)})
    return json_response(st.host.read(lambda p: p.stats()))
