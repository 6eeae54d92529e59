"""The notification sender: the I/O around the pure machine.

One per web process, on a background thread; only the elected one works:

1. elected (see election.py: the store's notifier lease), it reads the notifications stream (what was delivered; the
   baseline, appended on the very first run), then the worker, orders and control streams (and parsed, with signals
   on) into a fresh NotifyMachine;
2. follows those streams on tailing threads, applying each event under a lock;
3. every tick, and whenever an event arrives, sends what machine.due(now) lists, oldest first, each retried with
   backoff until delivered, and records each delivery as a `notification.delivered` event keyed by the message id.

A sender that loses the election (Postgres connection gone) or finds a stream truncated starts over at 1. Time comes
from the Clock seam; waits for events are real, so a ManualClock drives staleness and backoff in tests.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from autosig.clock import Clock, rfc3339
from autosig.config import Settings
from autosig.events import open_store
from autosig.events.base import EventStore, Problem
from autosig.notify.deliver import Backoff, Delivery, deliver
from autosig.notify.election import Election, StoreElection
from autosig.notify.heads import heads_message
from autosig.notify.machine import Baseline, NotifyMachine
from autosig.notify.messages import HEADS, Message, target
from autosig.schema import CONTROL, NOTIFICATIONS, NOTIFY_BASELINE, ORDERS, PARSED, WORKER
from autosig.schema.notifications import notification_delivered, notify_baseline
from autosig.startup import active_version

log = logging.getLogger("autosig.notify")

TICK_SECONDS = 0.5  # how often staleness is judged without any event arriving
ELECTION_RETRY_SECONDS = 2.0  # how often a process that is not the sender tries to become it
RECHECK_SECONDS = 5.0  # how often the sender re-checks that it still holds the election


def record_delivery(store: EventStore, message: Message, delivery: Delivery, url: str, now: float) -> None:
    data = {
        **message.as_json(),
        "format": delivery.format,
        "target": target(url),
        "http_status": delivery.status,
        "attempts": delivery.attempts,
        "delivered_at": rfc3339(now),
    }
    store.append_many(NOTIFICATIONS, [notification_delivered(message.id, data)])


class Sender:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        election: Election | None = None,
        open_store_fn: Callable[[], EventStore] | None = None,
        backoff: Backoff | None = None,
        tick_seconds: float = TICK_SECONDS,
        election_retry_seconds: float = ELECTION_RETRY_SECONDS,
        daily_heads: bool = True,
    ) -> None:
        if not settings.notify_url:
            raise ValueError("a notification sender needs AUTOSIG_NOTIFY_URL")
        self.settings = settings
        self.url: str = settings.notify_url
        self.clock = clock or Clock()
        self._election = election
        self._open_store = open_store_fn or (
            lambda: open_store(settings.store_url, writer="notify", fsync=settings.fsync,
                               tail_poll_seconds=settings.tail_poll_seconds)
        )
        self.backoff = backoff or Backoff()
        self.tick_seconds = tick_seconds
        self.election_retry_seconds = election_retry_seconds
        self.daily_heads = daily_heads
        self.lock = threading.Lock()
        self.machine: NotifyMachine | None = None
        self.elected = threading.Event()
        self.stopping = threading.Event()
        self.sent: list[Message] = []  # delivered by this process (for status and tests)
        self._wake = threading.Event()
        self._restart = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Starts once per process (again in a forked child: threads and locks do not survive a fork)."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self.stopping = threading.Event()
        self.elected = threading.Event()
        self.election = self._election or StoreElection(self._open_store)
        self._thread = threading.Thread(target=self._run, name="autosig-notify", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self._wake.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout)

    # --- the loop ----------------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    if not self.election.try_acquire():
                        self.stopping.wait(self.election_retry_seconds)
                        continue
                    self.elected.set()
                    log.info("this process sends the notifications (to %s)", target(self.url))
                    self._lead()
                except Exception as exc:  # noqa: BLE001 - e.g. the store is down: say so, try again
                    log.warning("notification sender failed, retrying: %s", type(exc).__name__)
                    self.stopping.wait(self.election_retry_seconds)
                finally:
                    self.elected.clear()
        finally:
            self.election.release()

    def _catch_up(self, store: EventStore) -> NotifyMachine:
        notes = list(store.read(NOTIFICATIONS, on_problem=_skip))
        base = next((e for e in notes if e.type == NOTIFY_BASELINE), None)
        if base is None:
            # The very first sender: notifications begin here; what happened before is history (machine.py).
            data = Baseline(store.last_seq(WORKER), store.last_seq(PARSED), self.clock.time(),
                            store.last_seq(ORDERS), store.last_seq(CONTROL)).as_data()  # fmt: skip
            (base,) = store.append_many(NOTIFICATIONS, [notify_baseline(data)])
        s = self.settings
        machine = NotifyMachine(
            Baseline.from_event(base),
            poll_interval_seconds=s.poll_interval_seconds,
            stale_after_seconds=s.stale_after_seconds,
            active_version=active_version(s),
            signals=s.notify_signals,
            daily_heads=self.daily_heads,
        )
        for event in notes:
            machine.apply_notification(event)
        for event in store.read(WORKER, on_problem=_skip):
            machine.apply_worker(event)
        if s.notify_signals:
            for event in store.read(PARSED, on_problem=_skip):
                machine.apply_parsed(event)
        for stream in (ORDERS, CONTROL):
            for event in store.read(stream, on_problem=_skip):
                machine.apply_orders(stream, event)
        return machine

    def _follow(self, store: EventStore, stream: str, machine: NotifyMachine, stop: threading.Event) -> None:
        def on_reset() -> None:
            log.warning("stream %s was truncated or replaced; the notification sender starts over", stream)
            self._restart.set()
            self._wake.set()

        while not stop.is_set():
            try:
                for event in store.tail(stream, after=machine.applied[stream], stop=stop, on_problem=_skip,
                                        on_reset=on_reset):
                    if self._restart.is_set():
                        return
                    with self.lock:
                        machine.apply(stream, event)
                    self._wake.set()
                return
            except Exception as exc:  # noqa: BLE001 - a store hiccup must not end the thread
                log.warning("notification sender: reading %s failed, retrying: %s", stream, type(exc).__name__)
                stop.wait(1.0)

    def _lead(self) -> None:
        store = self._open_store()
        follow_stop = threading.Event()
        followers: list[threading.Thread] = []
        try:
            self._restart.clear()
            machine = self._catch_up(store)
            with self.lock:
                self.machine = machine
            streams = [WORKER, ORDERS, CONTROL] + ([PARSED] if self.settings.notify_signals else [])
            followers = [
                threading.Thread(target=self._follow, args=(store, s, machine, follow_stop), daemon=True,
                                 name=f"autosig-notify-{s}")
                for s in streams
            ]
            for t in followers:
                t.start()
            checked = self.clock.monotonic()
            while not self.stopping.is_set() and not self._restart.is_set():
                if self.clock.monotonic() - checked >= RECHECK_SECONDS:
                    checked = self.clock.monotonic()
                    if not self.election.try_acquire():
                        log.warning("this process is no longer the notification sender")
                        return
                self._wake.clear()
                self._send_due(store, machine)
                self._wake.wait(self.tick_seconds)
        finally:
            follow_stop.set()
            for t in followers:
                t.join(5.0)
            store.close()

    def _send_due(self, store: EventStore, machine: NotifyMachine) -> None:
        with self.lock:
            due = machine.due(self.clock.time())
        for message in due:
            if self.stopping.is_set() or self._restart.is_set():
                return
            if message.kind == HEADS and not message.text:
                message = heads_message(store, message.id, self.clock.time())
            delivery = deliver(self.url, message, clock=self.clock, stop=self.stopping, backoff=self.backoff)
            if delivery is None:
                return  # stopping
            with self.lock:
                machine.mark_delivered(message.id)
            self.sent.append(message)
            log.info("notification %s delivered to %s", message.id, target(self.url))
            self._record(store, message, delivery)

    def _record(self, store: EventStore, message: Message, delivery: Delivery) -> None:
        """Records the delivery, retrying while the store refuses (until then a restart would resend it)."""
        failures = 0
        while True:
            try:
                record_delivery(store, message, delivery, self.url, self.clock.time())
                return
            except Exception as exc:  # noqa: BLE001 - disk full, database down
                failures += 1
                log.warning("recording notification %s failed (%s); retrying", message.id, type(exc).__name__)
                if self.clock.sleep(self.backoff.delay(failures), self.stopping):
                    return


def _skip(problem: Problem) -> None:
    log.warning("notification sender skips %s line %d: %s", problem.stream, problem.line, problem.error)
