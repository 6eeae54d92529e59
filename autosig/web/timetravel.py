"""Time travel: the projections exactly as they stood at a past moment, replayed from the log.

`as_of` (an ISO 8601 time, or epoch seconds) selects, in each stream, the events stamped at or before it: streams are
appended in time order, so reading stops at the first later event and a replay costs the log up to that moment.
Status ages are computed at `as_of`, not now.

Cost is bounded per process: replays of moments safely in the past (more than SETTLED_SECONDS ago, so no event
stamped before them can still be arriving) are kept in a small LRU cache keyed by the moment; a later moment resumes
from the nearest cached earlier replay (a checkpoint) instead of from the start, reading only the events in between;
and one replay runs at a time in a process, so past views cannot crowd out the live dashboard.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app, request

from autosig.clock import rfc3339
from autosig.events import EventStore, open_store
from autosig.projections import Projections
from autosig.times import to_utc
from autosig.web.host import WebState, current_status

SETTLED_SECONDS = 60.0  # a moment this far in the past can no longer gain events
CACHE_SIZE = 4
WAIT_SECONDS = 30.0  # how long a request waits for another replay in this process before giving up
_TS_CACHE: dict[str, float] = {}


class PastError(ValueError):
    """An unusable as_of; the message says why."""


class Busy(RuntimeError):
    """Another replay is running in this process and did not finish in time."""


def parse_as_of(value: str, now: float) -> datetime:
    """as_of as an aware UTC datetime; refuses unreadable values and moments in the future."""
    text = value.strip()
    when = to_utc(text) if text else None
    if when is None:
        raise PastError("as_of must be an ISO 8601 time such as 2027-01-15T14:30:00Z (or epoch seconds)")
    if when.timestamp() > now + 1.0:
        raise PastError("as_of is in the future; leave it out for the live view")
    return when


def _epoch(ts: str) -> float:
    value = _TS_CACHE.get(ts)
    if value is None:
        when = to_utc(ts)
        value = when.timestamp() if when is not None else float("-inf")
        if len(_TS_CACHE) > 100_000:
            _TS_CACHE.clear()
        _TS_CACHE[ts] = value
    return value


@dataclass
class Replay:
    """The projections at `at`, and where each stream's reading stopped (for resuming a later moment)."""

    at: float
    projections: Projections
    applied: dict[str, int] = field(default_factory=dict)  # stream -> last seq applied
    # reads take it: a shared replay is read by several requests, and some reads fill caches (the ledger's book)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # answers built from it, for reuse

    def read(self, fn: Callable[[Projections], Any]) -> Any:
        with self.lock:
            return fn(self.projections)


def replay(
    store: EventStore,
    make: Callable[[], Projections],
    at: float,
    streams: tuple[str, ...],
    start: Replay | None = None,
) -> Replay:
    """Replays every stream's events stamped at or before `at` (epoch seconds), from `start` when given (its
    projections are copied, never changed)."""
    if start is not None:
        with start.lock:
            built = copy.deepcopy(start.projections)
        applied = dict(start.applied)
    else:
        built = make()
        applied = {}
    for stream in streams:
        apply = built.appliers[stream]
        last = applied.get(stream, 0)
        for event in store.read(stream, after=last, on_problem=built.problem):
            if _epoch(event.ts) > at:
                break
            apply(event)
            last = event.seq
        applied[stream] = last
    return Replay(at, built, applied)


class PastViews:
    """Past replays of one process: an LRU cache of settled moments, one replay at a time."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._cache: OrderedDict[float, Replay] = OrderedDict()
        self._lock = threading.Lock()  # the cache
        self._running = threading.Lock()  # one replay at a time
        self.replays = 0  # replays run (for tests and metrics)
        self.resumed = 0  # of which resumed from a checkpoint

    def get(
        self,
        open_store: Callable[[], EventStore],
        make: Callable[[], Projections],
        at: float,
        now: float,
        streams: tuple[str, ...],
    ) -> Replay:
        """The replay at `at`. It is shared with other requests: read it with Replay.read, never change it."""
        with self._lock:
            hit = self._cache.get(at)
            if hit is not None:
                self._cache.move_to_end(at)
                return hit
        if not self._running.acquire(timeout=WAIT_SECONDS):
            raise Busy("another past view is being replayed; try again shortly")
        try:
            with self._lock:
                hit = self._cache.get(at)
                if hit is not None:
                    return hit
                earlier = [r for t, r in self._cache.items() if t <= at]
                start = max(earlier, key=lambda r: r.at) if earlier else None
            store = open_store()
            try:
                result = replay(store, make, at, streams, start)
            finally:
                store.close()
            self.replays += 1
            self.resumed += start is not None
            if at <= now - SETTLED_SECONDS:
                with self._lock:
                    self._cache[at] = result
                    while len(self._cache) > self.size:
                        self._cache.popitem(last=False)
            return result
        finally:
            self._running.release()


EXTENSION = "autosig.past"


def views(app: Flask) -> PastViews:
    """This app's past views (one per process)."""
    return app.extensions.setdefault(EXTENSION, PastViews())


def requested_past(st: WebState) -> Replay | None:
    """The replay the request's `as_of` asks for, or None for the live view. Raises PastError or Busy."""
    raw = request.args.get("as_of")
    if raw is None or not raw.strip():
        return None
    now = st.now()
    at = parse_as_of(raw, now).timestamp()
    def store() -> EventStore:
        return open_store(st.settings.store_url, writer="web", fsync=False)

    return views(current_app).get(store, st.host.make_projections, at, now, st.host.streams)


def past_status(p: Projections, at: float) -> dict[str, Any]:
    """/api/status as it stood at `at`: ages computed at that moment, marked as a past view."""
    status = p.status(at)
    status["as_of"] = rfc3339(at)
    return status


def page_status(st: WebState, past: Replay | None) -> dict[str, Any]:
    """The status a page shows in its banner and mode strip: live, or as of the past view's moment."""
    if past is not None:
        return past.read(lambda p: past_status(p, past.at))
    now = st.now()
    return st.host.read(lambda p: current_status(st, p, now))


__all__ = ["Busy", "PastError", "PastViews", "Replay", "page_status", "parse_as_of", "past_status", "replay", "requested_past", "views"]
