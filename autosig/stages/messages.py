"""Where each recorded message's versions are in the raw stream, in 36 to 72 bytes a message (plus ~100 per edit).

The worker must know, for every message id it has recorded, the version tag of its latest version (to tell new and
edited alerts from known ones), and the parser needs the versions of a replied-to message. A dict of ids and texts
costs several hundred bytes a message, which a worker at a million alerts cannot afford; this keeps only positions:

    messages = MessageIndex(load)              # load(position) -> the raw Event there, or None
    messages.add("post_1", position, tag)      # a new latest version (tag: the 16-hex end of its raw key as an int)
    messages.tag_of("post_1")                  # -> tag of the latest version, None when unknown
    messages.versions("post_1")                # -> the recorded versions as Events, newest first (loaded)

Positions are raw seqs; `load` reads the event at one through the store (EventStore.get).
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Callable, Iterator
from typing import Any

from autosig.events import Event
from autosig.events.key_index import dump_tables, parse_tables

_EMPTY = -1


def tag_value(tag: str | bytes) -> int | None:
    """A version tag (16 hex digits) as a 64-bit int; None for anything else."""
    if len(tag) != 16 or not tag.isalnum():
        return None
    try:
        return int(tag, 16)
    except ValueError:
        return None


def id_hash(source_id: str) -> int:
    """The 32-bit CRC of a message id's UTF-8 bytes: unlike hash(), the same in every process, so a saved index stays
    valid (a match is confirmed by the 64-bit tag or by loading the event, so 32 bits are enough)."""
    return zlib.crc32(source_id.encode("utf-8", "surrogatepass"))


def _source_id(ev: Event | None) -> Any:
    return ev.data.get("source_id") if ev is not None and isinstance(ev.data, dict) else None


class MessageIndex:
    """An open-addressing table (linear probing, at most 2/3 full) in flat arrays: per message a 32-bit hash of its
    id (id_hash), the position of its latest version and that version's tag. Ids are not kept: a hash match is
    confirmed by loading the event at the position and comparing ids (or, when the caller knows the tag, by the tag
    matching too: 96 bits agreeing). Earlier versions of edited messages are chained in a dict (position -> position
    of the version before), which holds only edits; latest versions whose key carries no tag are kept in a set.

    A worker keeps a copy beside the store (dumps/loads; see RawIndex), so a restart need not rebuild it."""

    __slots__ = ("_load", "_id_at", "_hashes", "_positions", "_tags", "_mask", "_limit", "_count", "_earlier", "_untagged")

    def __init__(
        self,
        load: Callable[[int], Event | None],
        capacity: int = 1024,
        id_at: Callable[[int], Any] | None = None,
    ) -> None:
        self._load = load
        # which message the version at a position belongs to: what a hash match is confirmed with (the owner may know
        # it without loading the event)
        self._id_at = id_at or (lambda position: _source_id(load(position)))
        self._count = 0
        self._earlier: dict[int, int] = {}
        self._untagged: set[int] = set()
        self._allocate(capacity)

    def _allocate(self, capacity: int) -> None:
        size = 1024
        while size * 2 < capacity * 3:
            size *= 2
        self._hashes = array("q", bytes(8 * size))
        self._positions = array("q", [_EMPTY]) * size
        self._tags = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._limit = size * 2 // 3  # grow beyond this many messages

    def __len__(self) -> int:
        return self._count

    def reserve(self, n: int) -> None:
        """Grows once for about n messages in all (saves rehashing while indexing a large stream)."""
        if n > self._limit:
            self._rehash(n)

    def _slot(self, source_id: str, h: int, tag: int | None = None) -> int:
        """The slot holding `source_id` (whose hash is h), or the empty slot where it would go."""
        hashes, positions, tags, mask = self._hashes, self._positions, self._tags, self._mask
        i = h & mask
        while (pos := positions[i]) != _EMPTY:
            if hashes[i] == h and (
                (tag is not None and tags[i] == tag and pos not in self._untagged)
                or self._id_at(pos) == source_id
            ):
                return i
            i = (i + 1) & mask
        return i

    def add(self, source_id: str, position: int, tag: int | None) -> None:
        """Records a new latest version of `source_id` at `position`, whose raw key ends in version tag `tag`
        (see tag_value; None when it has none). Callers add versions in stream order."""
        if self._count >= self._limit:
            self._rehash(self._count * 2)
        h = id_hash(source_id)
        hashes, positions, mask = self._hashes, self._positions, self._mask
        # _slot(source_id, h), inlined: a start calls this once per raw event
        i = h & mask
        while (before := positions[i]) != _EMPTY:
            if hashes[i] == h and self._id_at(before) == source_id:
                self._earlier[position] = before
                self._untagged.discard(before)
                break
            i = (i + 1) & mask
        else:
            self._count += 1
            hashes[i] = h
        if tag is None:
            self._untagged.add(position)
        positions[i] = position
        self._tags[i] = tag or 0

    def tag_of(self, source_id: str) -> str | None:
        """The version tag of the latest recorded version of `source_id` ("" when its key has none), None when the
        message was never recorded."""
        i = self._slot(source_id, id_hash(source_id))
        pos = self._positions[i]
        if pos == _EMPTY:
            return None
        return "" if pos in self._untagged else f"{self._tags[i]:016x}"

    def is_latest(self, source_id: str, tag: str) -> bool:
        """Whether the latest recorded version of `source_id` has this tag (usually answered without loading)."""
        value = tag_value(tag)
        i = self._slot(source_id, id_hash(source_id), value)
        pos = self._positions[i]
        return pos != _EMPTY and pos not in self._untagged and self._tags[i] == value

    def versions(self, source_id: str) -> Iterator[Event]:
        """The recorded versions of `source_id` as loaded events, newest first."""
        pos = self._positions[self._slot(source_id, id_hash(source_id))]
        while pos != _EMPTY:
            ev = self._load(pos)
            if ev is not None:
                yield ev
            pos = self._earlier.get(pos, _EMPTY)

    def dumps(self, state: dict[str, Any]) -> bytes:
        """The index and `state` (what the caller needs to trust it later) as bytes (see dump_tables)."""
        earlier_from, earlier_to = array("q", self._earlier.keys()), array("q", self._earlier.values())
        tables = [self._hashes, self._positions, self._tags, earlier_from, earlier_to, array("q", self._untagged)]
        return dump_tables(tables, {"count": self._count, "state": state})

    @classmethod
    def loads(
        cls, data: bytes, load: Callable[[int], Event | None], id_at: Callable[[int], Any] | None = None
    ) -> tuple[MessageIndex, dict[str, Any]] | None:
        """(the index, the state saved with it) from bytes written by dumps(); None when they are not usable."""
        loaded = parse_tables(data, "qqQqqq")
        if loaded is None:
            return None
        (hashes, positions, tags, earlier_from, earlier_to, untagged), meta = loaded
        size, count, state = len(positions), meta.get("count"), meta.get("state")
        if not (len(hashes) == len(tags) == size >= 1024 and not size & (size - 1) and type(count) is int):
            return None
        if len(earlier_from) != len(earlier_to) or not isinstance(state, dict):
            return None
        index = cls.__new__(cls)
        index._load, index._count = load, count
        index._id_at = id_at or (lambda position: _source_id(load(position)))
        index._hashes, index._positions, index._tags = hashes, positions, tags
        index._mask, index._limit = size - 1, size * 2 // 3
        index._earlier = dict(zip(earlier_from, earlier_to, strict=True))
        index._untagged = set(untagged)
        return index, state

    def _rehash(self, capacity: int) -> None:
        hashes, positions, tags = self._hashes, self._positions, self._tags
        self._allocate(max(capacity, self._count))
        new_hashes, new_positions, new_tags, mask = self._hashes, self._positions, self._tags, self._mask
        for h, pos, tag in zip(hashes, positions, tags, strict=True):
            if pos != _EMPTY:
                i = h & mask
                while new_positions[i] != _EMPTY:
                    i = (i + 1) & mask
                new_hashes[i], new_positions[i], new_tags[i] = h, pos, tag
