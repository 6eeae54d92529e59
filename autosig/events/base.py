"""The one interface every event store implements (file and Postgres), and what they share.

Callers never learn how a store keeps its bytes: the stages, commands and the web use only the methods here. Each
backend lives in its own module and passes the one contract test suite (tests/events/contract.py).
"""

from __future__ import annotations

import os
import re
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from autosig.events.record import Event
from autosig.schema import RAW, STREAMS

# (type, data, meta, key) — meta and key may be None; autosig.schema.Draft is one
AppendItem = tuple[str, dict[str, Any], dict[str, Any] | None, str | None]

# The named leases. Exclusive ones guard a single writer of a role (one worker, one executor per store): the file
# store's flock is dropped by the kernel when the holder dies; Postgres keeps a lease row that expires unless renewed,
# since a session can outlive a vanished container. A best-effort one (the notification sender's election) may be
# held twice for a moment after a network split, which costs only a duplicate notification.
EXCLUSIVE_LEASES = ("worker", "executor")
BEST_EFFORT_LEASES = ("notifier",)
LEASES = EXCLUSIVE_LEASES + BEST_EFFORT_LEASES
# Names of data kept beside the streams (read_aside/write_aside): caches and credentials, never events.
_ASIDE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def check_aside_name(name: str) -> str:
    if not _ASIDE_NAME.match(name):
        raise ValueError(f"invalid aside name {name!r}: lowercase letters, digits, '.', '_' and '-' only")
    return name


def check_lease_name(name: str) -> str:
    if name not in LEASES:
        raise ValueError(f"unknown lease {name!r}; one of {', '.join(LEASES)}")
    return name


class StoreError(Exception):
    """The store could not complete a write (disk full, I/O error, database down). Nothing was surfaced."""


@dataclass(frozen=True, slots=True)
class Problem:
    """A line that could not be read (corrupt JSON, wrong shape). Readers skip it and report it; never a torn tail."""

    stream: str
    line: int  # 1-based line number (file store) or row position (Postgres)
    error: str


ProblemHandler = Callable[[Problem], None]


def default_meta(writer: str) -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "writer": writer}


class EventStore(ABC):
    """Append-only, hash-chained streams. The contract every implementation keeps is in docs/ARCHITECTURE.md, "The event log"."""

    writer: str

    def append(
        self,
        stream: str,
        type: str,
        data: dict[str, Any],
        meta: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Event:
        """Appends one event (fsynced unless the fsync policy says never). A known key returns the existing event."""
        return self.append_many(stream, [(type, data, meta, key)])[0]

    @abstractmethod
    def append_many(self, stream: str, items: Iterable[AppendItem]) -> list[Event]:
        """Appends a batch under one lock and one fsync; keys already present (or repeated) return the existing event."""

    @abstractmethod
    def read(
        self, stream: str, after: int = 0, limit: int | None = None, on_problem: ProblemHandler | None = None
    ) -> Iterator[Event]:
        """Events with seq > after, in seq order. Corrupt lines go to on_problem (or raise RecordError if None)."""

    @abstractmethod
    def last_seq(self, stream: str) -> int:
        """The seq of the last complete event, 0 for an empty stream."""

    @abstractmethod
    def iter_lines(self, stream: str) -> Iterator[bytes]:
        """Every complete line of the stream exactly as stored, corrupt ones included (for verify and export)."""

    def torn_tail_bytes(self, stream: str) -> int:
        """Bytes after the last newline not yet quarantined (file store only); verify reports them as a warning."""
        return 0

    def head(self, stream: str) -> Event | None:
        """The last complete event, or None for an empty stream."""
        seq = self.last_seq(stream)
        if seq == 0:
            return None
        return next(self.read(stream, after=seq - 1, limit=1), None)

    @abstractmethod
    def get_by_key(self, stream: str, key: str) -> Event | None:
        """The event appended with this idempotency key, if any."""

    @abstractmethod
    def tail(
        self,
        stream: str,
        after: int = 0,
        stop: threading.Event | None = None,
        on_problem: ProblemHandler | None = None,
        on_reset: Callable[[], None] | None = None,
    ) -> Iterator[Event]:
        """Catches up from `after`, then follows new events until `stop` is set.

        When the stream was truncated below what was already yielded or replaced, calls on_reset() and starts over
        from seq 1, so a consumer can rebuild its state.
        """

    @abstractmethod
    def keys(self, stream: str, prefix: str = "", after: int = 0) -> Iterator[tuple[int, str]]:
        """(seq, key) of every event with seq > after whose key starts with `prefix`, in seq order, without decoding
        the events (the file store scans its bytes; Postgres asks its key column). Unreadable lines are skipped."""

    @abstractmethod
    def get(self, stream: str, seq: int) -> Event | None:
        """The event with this seq, or None (absent or unreadable)."""

    def store_id(self) -> str | None:
        """The id of raw event seq 1: stable for the life of a log, different for every log (copies keep it)."""
        first = self.get(RAW, 1)
        return first.id if first is not None else None

    @abstractmethod
    def try_acquire_lease(self, name: str, holder: str, seconds: float = 30.0) -> str | None:
        """Takes (or keeps) a named lease (LEASES). Returns None when this store object holds it, else a description
        of the current holder. Call it again to renew: an exclusive lease in Postgres expires after `seconds`
        unless renewed; the file store's flock lasts until released or until the holder dies."""

    @abstractmethod
    def lease_seconds_left(self, name: str) -> float:
        """How long the lease this store object holds is sure to stay its own (0 when it holds none; the file
        store's flock: infinity). A holder that must not act on a lost lease checks this first."""

    @abstractmethod
    def release_lease(self, name: str) -> None:
        """Gives up the named lease if this store object holds it."""

    @abstractmethod
    def read_aside(self, name: str) -> bytes | None:
        """Data kept beside the streams under `name` (a cache, a credential), or None. Never part of a stream."""

    @abstractmethod
    def write_aside(self, name: str, data: bytes, *, private: bool = False) -> None:
        """Replaces the data kept under `name` atomically: a reader sees the old bytes or the new, never a mix.
        `private`: readable by this user only (file store: mode 0600), for credentials."""

    def streams(self) -> list[str]:
        """The streams that exist in this store (at least the known ones)."""
        return list(STREAMS)

    def close(self) -> None:  # noqa: B027 - optional for stores without resources
        """Releases connections and file handles."""

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
