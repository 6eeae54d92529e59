"""Wiring between the Flask app and the per-process host: which store, which projections, and the one accessor the
blueprints use. The host starts lazily (first request) or from gunicorn's post_worker_init hook; never at import."""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Flask, current_app

from autosig.clock import Clock
from autosig.config import Settings
from autosig.events import EventStore, open_store
from autosig.projections import Projections
from autosig.projections.host import Host
from autosig.startup import active_version
from autosig.web.cache import ResponseCache

EXTENSION = "autosig"
# How long a request waits for the first catch-up of a freshly started process before answering with what it has.
STARTUP_WAIT_SECONDS = 10.0
# How long a form's POST waits for this process to apply what it appended, so the page after the redirect shows it.
APPLY_WAIT_SECONDS = 3.0


class WebState:
    """What the blueprints share: settings, clock and the host."""

    def __init__(self, settings: Settings, host: Host, clock: Clock) -> None:
        self.settings = settings
        self.host = host
        self.clock = clock
        self.registry: Any = None  # the /metrics registry, made on first scrape
        self.responses = ResponseCache()

    def now(self) -> float:
        return self.clock.time()


def build_host(settings: Settings, *, window: int | None = None) -> Host:
    active = active_version(settings)

    def make() -> Projections:
        kwargs = {"window": window} if window else {}
        return Projections(
            active,
            poll_interval_seconds=settings.poll_interval_seconds,
            stale_after_seconds=settings.stale_after_seconds,
            dry_run=settings.dry_run,
            live_trading=settings.live_trading,
            **kwargs,
        )

    def store() -> EventStore:
        # the web never writes; fsync is irrelevant
        return open_store(settings.store_url, writer="web", fsync=False, tail_poll_seconds=settings.tail_poll_seconds)

    return Host(store, make)


def state(app: Flask | None = None) -> WebState:
    return (app or current_app).extensions[EXTENSION]


def ensure_started(app: Flask | None = None, wait: bool = True) -> WebState:
    st = state(app)
    if not st.host.started():
        st.host.start()
        from autosig.notify import web as notify_web  # stall alarms start with the host (autosig.notify)

        notify_web.start(app or current_app._get_current_object())  # type: ignore[attr-defined]
    if wait and not st.host.ready.is_set():
        st.host.wait_ready(STARTUP_WAIT_SECONDS)
    return st


def with_web_state(status: dict[str, Any], host: Host) -> dict[str, Any]:
    """Adds what this web process knows about itself: whether it has read the log yet and whether reading fails.
    Until it has, the banner says so instead of judging ingestion from a half-read log."""
    errors = dict(host.errors)
    status["web"] = {"pid": os.getpid(), "ready": host.ready.is_set(), "errors": errors}
    if not host.ready.is_set():
        status["banner"] = {
            "level": "amber",
            "headline": "Reading the event log…",
            "since": None,
            "detail": "This web process has not finished reading the streams yet; the state shown is incomplete.",
        }
    elif errors:
        detail = "; ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
        banner = status["banner"]
        status["banner"] = {
            "level": "red" if banner["level"] == "red" else "amber",
            "headline": banner["headline"] if banner["level"] == "red" else "The web cannot read the event store",
            "since": banner["since"],
            "detail": f"Reading the event store fails ({detail}); what is shown may be outdated. " + banner["detail"],
        }
    return status


def current_status(st: WebState, p: Projections, now: float) -> dict[str, Any]:
    """The /api/status object: the projections' status plus this process's own state. Call under the host lock."""
    return with_web_state(p.status(now), st.host)


def wait_applied(st: WebState, stream: str, seq: int, timeout: float = APPLY_WAIT_SECONDS) -> bool:
    """Waits (briefly) until this process has applied `stream` up to `seq`; False when it has not in time."""
    deadline = time.monotonic() + timeout
    host = st.host
    version = host.version
    while True:
        if host.read(lambda p: p.last_seq(stream)) >= seq:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        version = host.wait_change(version, min(0.2, left))
