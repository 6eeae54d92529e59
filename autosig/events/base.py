"""The one interface every event store implements (file and Postgres), and what they share."""

from __future__ import annotations

import os
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from autosig.events.record import Event

RAW, PARSED, WORKER = "raw", "parsed", "worker"
STREAMS = (RAW, PARSED, WORKER)
# File names of the file store; streams not listed here (e.g. reviews) are stored as <stream>.jsonl.
STREAM_FILES = {RAW: "alerts_raw.jsonl", PARSED: "alerts_parsed.jsonl", WORKER: "worker.jsonl"}

# (type, data, meta, key) — meta and key may be None
AppendItem = tuple[str, dict[str, Any], dict[str, Any] | None, str | None]


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
    """Append-only, hash-chained streams. See DESIGN §3 for the contract every implementation must keep."""

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
    def try_acquire_worker_lease(self, holder: str) -> str | None:
        """Takes (or keeps) the single-worker lease. Returns None when this store object holds it, else a description
        of the current holder. The file store uses an flock the kernel drops when the holder dies; Postgres a lease row
        that expires after 3x the poll interval (at least 30 s) unless renewed by calling this again."""

    @abstractmethod
    def release_worker_lease(self) -> None:
        """Gives up the lease if this store object holds it."""

    def streams(self) -> list[str]:
        """The streams that exist in this store (at least the known ones)."""
        return list(STREAMS)

    def close(self) -> None:  # noqa: B027 - optional for stores without resources
        """Releases connections and file handles."""

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
