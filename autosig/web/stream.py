"""Live updates over Server-Sent Events (the README, "The dashboard and web API").

`event: signal` carries an /api/signals entry with `id:` = the seq of its alert.parsed event, so a reconnecting
EventSource resumes after Last-Event-ID; `event: order` carries an /api/orders entry each time its decision changes
(planned, skipped, sent, filled, …), from the orders seq given as `orders_after` (else from now); `event: status`
carries the /api/status object when it changes and at least every STATUS_SECONDS; a comment line every
HEARTBEAT_SECONDS keeps proxies (Railway closes idle connections after 5 minutes) from cutting the stream. Each open stream holds one gunicorn thread, so a process serves at most
MAX_STREAMS of them (the rest get 503) and always keeps threads for ordinary requests (see gunicorn.conf.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from autosig.projections import Projections
from autosig.schema import ORDERS, PARSED
from autosig.web.execution import entry_view
from autosig.web.host import WebState, current_status, ensure_started
from autosig.web.jsonout import dumps, json_response

bp = Blueprint("stream", __name__)

MAX_STREAMS = 32
STATUS_SECONDS = 5.0
HEARTBEAT_SECONDS = 15.0
WAKE_SECONDS = 1.0
COALESCE_SECONDS = 0.05
# A stream ends after this long; EventSource reconnects with Last-Event-ID, so nothing is lost, and a connection
# can never outlive a deploy by much.
MAX_STREAM_SECONDS = 30 * 60

class _Slots:
    """The cap on open live streams, one per app (so one per gunicorn process, and test apps do not share it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    def acquire(self) -> _Slot | None:
        with self.lock:
            if self.count >= MAX_STREAMS:
                return None
            self.count += 1
            return _Slot(self)


class _Slot:
    """One open stream's claim on the cap; released exactly once (generator end or response close)."""

    def __init__(self, slots: _Slots) -> None:
        self.slots = slots
        self.held = True

    def release(self) -> None:
        with self.slots.lock:
            if self.held:
                self.held = False
                self.slots.count -= 1


def _slots(app: Flask | None = None) -> _Slots:
    app = app or current_app
    return app.extensions.setdefault("autosig_stream_slots", _Slots())


def open_streams(app: Flask | None = None) -> int:
    """Live streams open in this app (the current one unless given)."""
    return _slots(app).count


def _status_signature(status: dict[str, Any]) -> bytes:
    # ages tick every second; "changed" means anything else changed (or the verdict did)
    lag = {k: v for k, v in status["lag"].items() if not k.endswith("age_seconds")}
    rest = {k: v for k, v in status.items() if k not in ("lag", "banner")}
    return dumps([rest, lag, status["banner"]["level"], status["banner"]["since"]])


def _last_event_id() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or ""
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def _orders_after() -> int | None:
    """`orders_after`: the orders seq a page was rendered at (its changes since are sent), else None."""
    raw = request.args.get("orders_after", "").strip()
    return int(raw) if raw.isdigit() else None


def _snapshot(p: Projections, st: WebState, after: int, orders_after: int, now: float) -> tuple[list, list, dict]:
    orders = [(seq, entry_view(p, entry)) for seq, entry in p.orders_since(orders_after)]
    return p.signals.signals_since(after), orders, current_status(st, p, now)


def _events(st: WebState, after: int, orders_after: int, slot: _Slot) -> Iterator[bytes]:
    host = st.host
    try:
        yield b"retry: 2000\n: connected\n\n"
        version = -1
        signature = b""
        started = last_beat = time.monotonic()
        last_status = last_signal = 0.0
        while not host.stopping.is_set() and time.monotonic() - started < MAX_STREAM_SECONDS:
            changed_to = host.wait_change(version, WAKE_SECONDS)
            burst = last_signal + COALESCE_SECONDS - time.monotonic()
            if changed_to != version and version != -1 and burst > 0:
                # a burst of events (a backfill) wakes every live stream per event: a signal goes out at once, but
                # less than COALESCE_SECONDS after the previous one it waits for the rest of the burst (one batch)
                host.stopping.wait(burst)
                changed_to = host.version
            version = changed_to
            new, orders, status = host.read(
                partial(_snapshot, st=st, after=after, orders_after=orders_after, now=st.now())
            )
            chunks = []
            for pseq, entries in new:
                for entry in entries:
                    chunks.append(b"id: %d\nevent: signal\ndata: %s\n\n" % (pseq, dumps(entry)))
                after = max(after, pseq)
            for oseq, entry in orders:
                # no id: Last-Event-ID stays the signals' resume point; a page resumes orders with orders_after
                chunks.append(b"event: order\ndata: %s\n\n" % dumps(entry))
                orders_after = max(orders_after, oseq)
            mono = time.monotonic()
            sig = _status_signature(status)
            if sig != signature or mono - last_status >= STATUS_SECONDS:
                chunks.append(b"event: status\ndata: %s\n\n" % dumps(status))
                signature, last_status = sig, mono
            if mono - last_beat >= HEARTBEAT_SECONDS:
                chunks.append(b": heartbeat\n\n")
                last_beat = mono
            if chunks:
                yield b"".join(chunks)
            if new:
                last_signal = time.monotonic()
    finally:
        slot.release()


@bp.get("/api/stream")
def stream() -> Response:
    st = ensure_started()
    slot = _slots().acquire()
    if slot is None:
        return json_response(
            {"error": f"too many open live streams in this process (at most {MAX_STREAMS}); retry shortly"},
            503,
            {"Retry-After": "5"},
        )
    after = _last_event_id()
    orders_after = _orders_after()
    # a new subscriber gets what happens from now on; the page loaded the current lists itself
    if after is None:
        after = st.host.read(lambda p: p.last_seq(PARSED))
    if orders_after is None:
        orders_after = st.host.read(lambda p: p.last_seq(ORDERS))
    response = Response(_events(st, after, orders_after, slot), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    response.call_on_close(slot.release)
    return response
