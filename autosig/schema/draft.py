"""The shape of an event before a store appends it."""

from __future__ import annotations

from typing import Any, NamedTuple


class Draft(NamedTuple):
    """What `EventStore.append_many` takes: a type, a body, provenance to merge into the store's own (or None) and
    an idempotency key (or None). A plain tuple underneath, so it unpacks like one."""

    type: str
    data: dict[str, Any]
    meta: dict[str, Any] | None = None
    key: str | None = None
