"""When to poll each Whop channel: on its interval, and at once when a webhook says the channel has a new message.

Webhooks are wake-ups only (the poll stays the only writer of `raw`), and they are coalesced so that a flood of them
changes nothing a poll would not: one poll per channel in flight, polls of a channel at least MIN_GAP_S apart, never
before a rate-limit hold ends, and a wake for a channel that is not followed is ignored.

    schedule = PollSchedule(["chat_feed_1"], interval=30.0)
    follower = InboxFollower(store, schedule).start()   # the `inbox` stream, from its head, wakes channels
    while (channel := schedule.wait_due(stop)) is not None:
        try:
            ...poll channel...
            schedule.done(channel)                          # next regular poll one interval from now
        except WhopError as exc:
            schedule.done(channel, next_in=delay, hold=exc.reason == "rate_limited")
    follower.stop()

A wake arriving while its channel is being polled is kept, and answered by one more poll once that poll ends (the
message may have been posted after the poll read its first page).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from autosig.clock import Clock
from autosig.schema import INBOX

MIN_GAP_S = 2.0  # two polls of one channel are at least this far apart, however many webhooks arrive
MAX_WAIT_S = 1.0  # by default wait_due re-checks at least this often (a stop request is noticed within it)


class _Channel:
    __slots__ = ("due", "hold_until", "in_flight", "last_start", "woken")

    def __init__(self, due: float) -> None:
        self.due = due  # monotonic time of the next poll
        self.hold_until = 0.0  # no poll before this (a rate-limit hold): wakes cannot bring a poll forward past it
        self.in_flight = False
        self.last_start = float("-inf")
        self.woken = False  # a wake arrived while in flight


class PollSchedule:
    """Thread-safe; times come from `clock` (monotonic), so tests drive it with a ManualClock."""

    def __init__(
        self,
        channels: Iterable[str],
        interval: float,
        *,
        min_gap: float = MIN_GAP_S,
        clock: Clock | None = None,
        max_wait: float | None = MAX_WAIT_S,
    ) -> None:
        self.interval = interval
        self.min_gap = min_gap
        # None: sleep until due or woken (the owner calls close() on stop, which wakes the sleep)
        self.max_wait = max_wait
        self.clock = clock or Clock()
        now = self.clock.monotonic()
        self._channels = {c: _Channel(now) for c in channels}  # every channel is due at start
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._closed = False
        self.wakes = 0  # wakes accepted (for a followed channel)

    @property
    def channels(self) -> list[str]:
        return list(self._channels)

    def wake(self, channel: Any) -> bool:
        """A webhook said `channel` has news: poll it as soon as the rules allow. False for an unknown channel."""
        with self._lock:
            state = self._channels.get(channel) if isinstance(channel, str) else None
            if state is None:
                return False
            self.wakes += 1
            if state.in_flight:
                state.woken = True
            else:
                state.due = min(state.due, self._earliest(state))
        self._changed.set()
        return True

    def _earliest(self, state: _Channel) -> float:
        return max(state.last_start + self.min_gap, state.hold_until)

    def next_due(self) -> tuple[str | None, float]:
        """(a channel due now, marked in flight, or None; seconds until the next one is due)."""
        with self._lock:
            now = self.clock.monotonic()
            idle = [(s.due, c) for c, s in self._channels.items() if not s.in_flight]
            if not idle:
                return None, MAX_WAIT_S
            due, channel = min(idle)
            if due > now:
                return None, due - now
            state = self._channels[channel]
            state.in_flight, state.last_start, state.woken = True, now, False
            return channel, 0.0

    def wait_due(self, stop: threading.Event | None = None) -> str | None:
        """Blocks until a channel is due (and marks it in flight); None once `stop` is set or close() was called."""
        while not (self._closed or (stop is not None and stop.is_set())):
            channel, wait = self.next_due()
            if channel is not None:
                return channel
            self._changed.clear()
            channel, wait = self.next_due()  # a wake between the first look and the clear is not lost
            if channel is not None:
                return channel
            self.clock.sleep(wait if self.max_wait is None else min(wait, self.max_wait), self._changed)
        return None

    def done(self, channel: str, *, next_in: float | None = None, hold: bool = False) -> None:
        """The poll of `channel` ended. The next regular one is `next_in` seconds away (default: the interval);
        `hold`: not even a webhook may bring it sooner (Whop asked us to wait)."""
        with self._lock:
            state = self._channels[channel]
            now = self.clock.monotonic()
            wait = self.interval if next_in is None else max(0.0, next_in)
            state.in_flight = False
            state.due = now + wait
            state.hold_until = now + wait if hold else 0.0
            if state.woken:
                state.woken = False
                state.due = min(state.due, self._earliest(state))
        self._changed.set()

    def close(self) -> None:
        self._closed = True
        self._changed.set()


class _Tailable(Protocol):
    def last_seq(self, stream: str) -> int: ...

    def tail(self, stream: str, after: int = 0, stop: threading.Event | None = None, on_problem: Any = None,
             on_reset: Any = None) -> Iterator[Any]: ...  # fmt: skip


class InboxFollower:
    """Follows the `inbox` stream from its head at start (older deliveries were polled for already) and wakes the
    schedule for each one, on a thread of its own. The store is any event store (its tail wakes on inotify or
    NOTIFY, with the poll backstop); unreadable lines are skipped."""

    def __init__(self, store: _Tailable, schedule: PollSchedule) -> None:
        self.store = store
        self.schedule = schedule
        self.seen = 0  # inbox events read
        self.error: str | None = None  # why following stopped, if it did
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> InboxFollower:
        after = self.store.last_seq(INBOX)
        self._thread = threading.Thread(target=self._run, args=(after,), name="inbox-follower", daemon=True)
        self._thread.start()
        return self

    def _run(self, after: int) -> None:
        while not self._stop.is_set():
            try:
                for event in self.store.tail(INBOX, after=after, stop=self._stop, on_problem=lambda problem: None):
                    after = event.seq
                    self.seen += 1
                    data = event.data if isinstance(event.data, dict) else {}
                    self.schedule.wake(data.get("channel"))
                return
            except Exception as exc:  # noqa: BLE001 - a store hiccup must not end wake-ups; the poll covers the gap
                self.error = f"{type(exc).__name__} while following inbox"
                self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
