"""The host: one per process, owning the projections behind a lock and one tailing thread per stream.

Threads never start at import or in create_app(): gunicorn's post_worker_init hook (after fork) or the first request
calls start(). Then:

1. catch-up: a supervisor thread reads every stream (raw, then parsed, then worker: a parse joins its raw alert, so
   this order keeps memory at the window size) into a fresh, private Projections — no lock, no other thread touches
   it, so the cold start costs little more than decoding the lines;
2. publish: under the lock the fresh object replaces the one readers see, and `ready` is set;
3. follow: one thread per stream tails it from where the catch-up stopped and applies each event under the lock,
   so a request (`with host.lock:` or host.read()) always sees a consistent snapshot. A decision waits (briefly)
   for the raw event it names, which another thread applies: shown live, it carries its alert's text.

A stream that was truncated or replaced (on_reset) ends the followers and the supervisor starts over at 1; readers
keep the last published state meanwhile. A store error in a follower is retried from its last applied event.

The paper ledger is left out until a ledger view asks for it (want_ledger); a builder thread then makes one beside
the published state and swaps it in under the lock (see _build_ledger), so following never pauses for it.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from autosig.events.base import EventStore, Problem
from autosig.events.record import Event
from autosig.projections import Projections
from autosig.schema import CONTROL, ORDERS, PARSED, RAW, REVIEWS, WORKER

log = logging.getLogger("autosig.web.host")

# raw before parsed (a parse joins its alert); orders after both (a decision shows its alert's text)
ORDER = (RAW, PARSED, WORKER, REVIEWS, ORDERS, CONTROL)
RETRY_SECONDS = 1.0
CAUSAL_WAIT_SECONDS = 2.0  # at most this long an event waits for the one it follows from another stream
CAUSAL_SKIP_SECONDS = 60.0  # after a wait that ran out, how long events are applied without waiting
SHRINK_CHECK_SECONDS = 1.0


def _ignore(problem: Problem) -> None:
    pass


class Host:
    def __init__(
        self,
        open_store: Callable[[], EventStore],
        make_projections: Callable[[], Projections],
        streams: tuple[str, ...] = ORDER,
    ) -> None:
        self._open_store = open_store
        self._make = make_projections
        self.streams = tuple(s for s in ORDER if s in streams)
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)  # notified when something was applied
        self.projections = make_projections()
        self.projections.skip_ledger()
        self.version = 0  # bumps on every change; live streams compare it
        self.generation = 0  # bumps on every (re)build
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self.errors: dict[str, str] = {}
        self.started_at: float | None = None
        self.ready_seconds: float | None = None  # how long the first catch-up took
        self.store: EventStore | None = None
        self._pid: int | None = None
        self._start_lock = threading.Lock()
        self._supervisor: threading.Thread | None = None
        self._rebuild = threading.Event()
        self._causal_skip_until = 0.0  # see _await
        # The paper ledger is left out of the projections until a ledger view asks for it (want_ledger): it records
        # every alert of the whole history and replays them, which takes longer than the catch-up of all the other
        # projections together.
        self.ledger_wanted = False
        self._ledger_builder: threading.Thread | None = None

    def _fresh(self) -> Projections:
        built = self._make()
        if not self.ledger_wanted:
            built.skip_ledger()
        return built

    @property
    def make_projections(self) -> Callable[[], Projections]:
        """A fresh, empty Projections like the ones this host feeds (for replays of the past)."""
        return self._make

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Starts tailing once per process (again in a forked child, whose threads did not survive the fork)."""
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self.lock = threading.Lock()
            self.changed = threading.Condition(self.lock)
            self.projections = self._fresh()
            self.stopping = threading.Event()
            self.ready = threading.Event()
            self._rebuild = threading.Event()
            self.started_at = time.perf_counter()
            self.store = self._open_store()
            self._supervisor = threading.Thread(target=self._supervise, name="autosig-host", daemon=True)
            self._supervisor.start()

    def started(self) -> bool:
        return self._pid == os.getpid()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self._rebuild.set()
        with self.lock:
            self.changed.notify_all()
        if self._supervisor is not None:
            self._supervisor.join(timeout)
        if self.store is not None:
            self.store.close()

    def wait_ready(self, timeout: float) -> bool:
        return self.ready.wait(timeout)

    # --- supervisor: catch up, publish, follow; again after a reset --------------------------------------------

    def _supervise(self) -> None:
        while not self.stopping.is_set():
            self._rebuild.clear()
            if self.stopping.is_set():  # stop() sets stopping before _rebuild: never wait on a cleared stop
                break
            try:
                built = self._catch_up()
            except Exception as exc:  # noqa: BLE001 - e.g. the database is down: say so and try again
                self.errors["catch-up"] = f"{type(exc).__name__}: {exc}"
                log.warning("reading the event store failed, retrying: %s", self.errors["catch-up"])
                self.stopping.wait(RETRY_SECONDS)
                continue
            self.errors.pop("catch-up", None)
            with self.lock:
                self.generation += 1
                self.projections = built
                self._changed()
            if not self.ready.is_set():
                if self.started_at is not None:
                    self.ready_seconds = time.perf_counter() - self.started_at
                self.ready.set()
            # The caught-up state is long-lived: move it out of the collector's generations so that full collections
            # stop re-scanning it (measured: p99 of /api/signals drops about 3x). It is acyclic, so reference
            # counting still frees it after a rebuild.
            gc.collect()
            gc.freeze()
            followers = [
                threading.Thread(target=self._follow, args=(s, built), name=f"autosig-tail-{s}", daemon=True)
                for s in self.streams
            ]
            for t in followers:
                t.start()
            # set by a follower's on_reset, by stop(), or here: a stream now shorter than what was applied was
            # replaced or truncated (a tail that opened the new file after the catch-up cannot tell by itself)
            while not self._rebuild.wait(SHRINK_CHECK_SECONDS):
                if self._shrunk(built):
                    log.warning("a stream is shorter than what was read; rebuilding every projection")
                    self._rebuild.set()
            for t in followers:
                t.join()

    def _shrunk(self, built: Projections) -> bool:
        assert self.store is not None
        try:
            for stream in self.streams:
                with self.lock:
                    applied = built.last_seq(stream)
                if self.store.last_seq(stream) < applied:
                    return True
        except Exception as exc:  # noqa: BLE001 - the followers report store errors; this check just skips a turn
            log.debug("shrink check failed: %s", exc)
        return False

    def _catch_up(self) -> Projections:
        assert self.store is not None
        built = self._fresh()
        for stream in self.streams:
            apply = built.appliers[stream]
            for event in self.store.read(stream, on_problem=built.problem):
                apply(event)
                if self.stopping.is_set():
                    return built
        built.warm()  # before publishing: afterwards the first reader would do this work under the lock
        return built

    def _follow(self, stream: str, built: Projections) -> None:
        assert self.store is not None
        appliers = built.appliers  # looked up per event: installing a ledger (use_ledger) changes the applier
        lock = self.lock
        changed = self.changed
        # Notifying a Condition probes its lock even when nobody waits; CPython keeps the waiters in `_waiters`,
        # so the per-event path looks there first (at worst a live stream wakes by its own 1 s timeout).
        waiters = changed._waiters  # type: ignore[attr-defined]

        def on_problem(problem: Problem) -> None:
            with lock:
                built.problem(problem)
                self._changed()

        def on_reset() -> None:
            log.warning("stream %s was truncated or replaced; rebuilding every projection", stream)
            self._rebuild.set()

        while not self._rebuild.is_set():
            with lock:
                last = built.last_events().get(stream)
            try:
                events = self._resume(stream, last, on_problem, on_reset)
                if events is None:
                    log.warning("stream %s changed under the catch-up; rebuilding every projection", stream)
                    self._rebuild.set()
                    return
                # the store answered: an error from an earlier attempt is over (the tail below runs until a rebuild)
                self.errors.pop(stream, None)
                for event in events:
                    if self._rebuild.is_set():
                        return  # a reset: the supervisor reads everything again from seq 1
                    with lock:
                        need = built.waits_for(stream, event)
                        if need is not None:
                            self._await(built, *need)
                        appliers[stream](event)
                        self.version += 1
                        if waiters:
                            changed.notify_all()
                self.errors.pop(stream, None)
            except Exception as exc:  # noqa: BLE001 - a store hiccup must not end the thread; retried below
                self.errors[stream] = f"{type(exc).__name__}: {exc}"
                log.warning("tailing %s failed, retrying: %s", stream, self.errors[stream])
                self._rebuild.wait(RETRY_SECONDS)

    def _await(self, built: Projections, stream: str, seq: int) -> None:
        """Waits (with the lock held, released while waiting) until `stream` is applied up to `seq`, at most
        CAUSAL_WAIT_SECONDS: another follower is about to apply it, and a reader should not see an effect before
        its cause (a decision without its alert's text). Not at all when this host does not follow that stream."""
        if stream not in self.streams or time.monotonic() < self._causal_skip_until:
            return
        deadline = time.monotonic() + CAUSAL_WAIT_SECONDS
        while built.last_seq(stream) < seq and not self._rebuild.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                # that event is not coming soon (the other follower is stuck, or the seq was never written): a
                # backlog of such decisions must not cost CAUSAL_WAIT_SECONDS each, so stop waiting for a while
                self._causal_skip_until = time.monotonic() + CAUSAL_SKIP_SECONDS
                return
            self.changed.wait(min(left, 0.1))

    def _resume(
        self,
        stream: str,
        last: Event | None,
        on_problem: Callable[[Problem], None],
        on_reset: Callable[[], None],
    ) -> Iterator[Event] | None:
        """The tail after `last` (the newest event applied), or None when the stream is no longer the one that was
        read: shorter than it, or a different event at its seq (replaced, e.g. a restored backup). The catch-up read
        and the tail open the file separately, so the tail alone could not tell; the hash chain can."""
        assert self.store is not None
        if last is None:
            return self.store.tail(stream, after=0, stop=self._rebuild, on_problem=on_problem, on_reset=on_reset)
        if self.store.last_seq(stream) < last.seq:
            return None
        events = self.store.tail(stream, after=last.seq - 1, stop=self._rebuild, on_problem=on_problem,
                                 on_reset=on_reset)
        first = next(events, None)
        if first is None:
            return iter(())  # stopped
        if first.seq != last.seq or first.hash != last.hash:
            return None
        return events

    def _changed(self) -> None:
        """Records a change and wakes live streams; call with the lock held."""
        self.version += 1
        if self.changed._waiters:  # type: ignore[attr-defined]
            self.changed.notify_all()

    def want_ledger(self, timeout: float) -> bool:
        """True when the published projections have a paper ledger that can answer without replaying the whole
        history. Else starts building one (once at a time) and waits up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                ledger = self.projections.ledger
                if ledger is not None and not ledger.needs_replay:
                    return True
                version = self.version
                if self._ledger_builder is None or not self._ledger_builder.is_alive():
                    self._ledger_builder = threading.Thread(target=self._build_ledger, name="autosig-ledger",
                                                            daemon=True)  # fmt: skip
                    self._ledger_builder.start()
            left = deadline - time.monotonic()
            if left <= 0 or self.stopping.is_set():
                return False
            self.wait_change(version, min(left, 0.25))

    def _build_ledger(self) -> None:
        """Builds a paper ledger off the lock and installs it. A replay of the whole history takes minutes at a
        million alerts: under the lock it would stall every request, and a rebuild of every projection would stop
        the dashboard following ingestion meanwhile. So: feed a new ledger what the published state has applied,
        replay it, then under the lock feed it what was applied since and swap it in."""
        assert self.store is not None
        try:
            while not self.stopping.is_set():
                with self.lock:
                    built, generation = self.projections, self.generation
                    ledger = built.new_ledger()
                    upto = {stream: built.last_seq(stream) for stream in (RAW, PARSED)}
                for stream in (RAW, PARSED):
                    for event in self.store.read(stream, on_problem=_ignore):  # the catch-up reported problems
                        if event.seq > upto[stream]:
                            break
                        ledger.apply(event)
                ledger.positions()  # the replay
                with self.lock:
                    if self.generation != generation or ledger.parser_version != built.active_version():
                        continue  # rebuilt or switched meanwhile: again, from the new state
                    for stream in (RAW, PARSED):  # what the followers applied meanwhile (a few events)
                        for event in self.store.read(stream, after=upto[stream], on_problem=_ignore):
                            if event.seq > built.last_seq(stream):
                                break
                            ledger.apply(event)
                    built.use_ledger(ledger)
                    self.ledger_wanted = True  # rebuilds after a reset include it from now on
                    self._changed()
                self.errors.pop("ledger", None)
                return
        except Exception as exc:  # noqa: BLE001 - e.g. the database is down: the next ledger request tries again
            self.errors["ledger"] = f"{type(exc).__name__}: {exc}"
            log.warning("building the paper ledger failed: %s", self.errors["ledger"])

    # --- reading -----------------------------------------------------------------------------------------------

    def read(self, fn: Callable[[Projections], Any]) -> Any:
        with self.lock:
            return fn(self.projections)

    def wait_change(self, version: int, timeout: float) -> int:
        """Blocks until something was applied after `version` (or timeout); returns the current version."""
        with self.changed:
            if self.version == version and not self.stopping.is_set():
                self.changed.wait(timeout)
            return self.version
