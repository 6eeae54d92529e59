"""The time seam: everything that waits or reads the time takes a Clock, so tests can run minutes in milliseconds."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    """Real time."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Sleeps up to `seconds`; returns True when woken early by `stop`."""
        if stop is not None:
            return stop.wait(max(0.0, seconds))
        time.sleep(max(0.0, seconds))
        return False


class ManualClock(Clock):
    """A clock that moves only when told to: sleep() advances it instantly and records the request."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._mono = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
            self._mono += seconds

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))
        return bool(stop is not None and stop.is_set())


def rfc3339(ts: float | datetime) -> str:
    """UTC RFC 3339 with microseconds and Z, the one time format AutoSig writes."""
    if not isinstance(ts, datetime):
        ts = datetime.fromtimestamp(ts, UTC)
    # isoformat: twice as fast as strftime, and it pads years before 1000 to four digits as RFC 3339 requires
    return ts.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"
