"""The event log: record format, stores and tailing (see docs/ARCHITECTURE.md, "The event log").

    store = open_store("file:logs")            # or "postgresql://…"
    store.append_many(RAW, [alert_received(channel, message)])     # constructors: autosig.schema

The log reads no configuration: callers pass what a store needs (fsync, tail poll interval, …) when they open it.
"""

from __future__ import annotations

from autosig.events.base import (
    BEST_EFFORT_LEASES,
    EXCLUSIVE_LEASES,
    LEASES,
    AppendItem,
    EventStore,
    Problem,
    StoreError,
)
from autosig.events.record import ZERO_HASH, Event, RecordError


def open_store(url: str, *, writer: str = "autosig", fsync: bool = True, **options: object) -> EventStore:
    """Opens the store a URL names: `file:DIR` (the JSONL file store) or `postgresql://…` / `postgres://…`.

    Options: tail_poll_seconds (the polling backstop behind the wake-ups), clock; file store: watch; Postgres:
    schema, lease_seconds."""
    if url.startswith("file:"):
        from autosig.events.file import FileStore

        return FileStore(url[len("file:") :] or ".", writer=writer, fsync=fsync, **options)
    if url.startswith(("postgresql://", "postgres://")):
        from autosig.events.postgres import PostgresStore

        return PostgresStore(url, writer=writer, fsync=fsync, **options)
    raise ValueError("store URL must start with file: or postgresql://")


__all__ = [
    "BEST_EFFORT_LEASES",
    "EXCLUSIVE_LEASES",
    "LEASES",
    "ZERO_HASH",
    "AppendItem",
    "Event",
    "EventStore",
    "Problem",
    "RecordError",
    "StoreError",
    "open_store",
]
