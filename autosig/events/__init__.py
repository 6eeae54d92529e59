"""The event log: record format, stores and tailing (DESIGN §3).

    store = open_store("file:logs")            # or "postgresql://…"
    store.append("raw", "alert.received", {...}, key="whop:…")
"""

from __future__ import annotations

from autosig.events.base import (
    PARSED,
    RAW,
    STREAM_FILES,
    STREAMS,
    WORKER,
    AppendItem,
    EventStore,
    Problem,
    StoreError,
)
from autosig.events.record import ZERO_HASH, Event, RecordError


def open_store(url: str, *, writer: str = "autosig", fsync: bool = True, **options: object) -> EventStore:
    """Opens the store a URL names: `file:DIR` (the JSONL file store) or `postgresql://…` / `postgres://…`."""
    if url.startswith("file:"):
        from autosig.events.file import FileStore

        return FileStore(url[len("file:") :] or ".", writer=writer, fsync=fsync, **options)
    if url.startswith(("postgresql://", "postgres://")):
        from autosig.events.postgres import PostgresStore

        return PostgresStore(url, writer=writer, fsync=fsync, **options)
    raise ValueError("store URL must start with file: or postgresql://")


__all__ = [
    "PARSED",
    "RAW",
    "STREAMS",
    "STREAM_FILES",
    "WORKER",
    "ZERO_HASH",
    "AppendItem",
    "Event",
    "EventStore",
    "Problem",
    "RecordError",
    "StoreError",
    "open_store",
]
