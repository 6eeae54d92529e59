"""The writer's index of idempotency keys (a key already in the stream appends nothing).

Building the index means a pass over every line of the stream, which at a million events costs about as much as
decoding them all; a worker would pay it for the raw and the parsed stream on its first poll after every start. So
the file store saves the table next to the stream once it has indexed a large part of it (`save`), and a later
process loads it (`load`) and only indexes the lines appended since. The saved table is a cache: the store trusts it
only when the stream still holds the very line the table was saved after (see FileStore._load_saved_index), and
anything unreadable about it just means indexing from the start as before.
"""

from __future__ import annotations

import os
import sys
import zlib
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

_FORMAT = "autosig-key-index"
_VERSION = 1
_HEADER_LIMIT = 4096


def key_hash(key: str | bytes) -> int:
    """The 32-bit CRC of a key's UTF-8 bytes (a str is encoded; bytes are taken as its encoding).

    Unlike hash(), which Python randomizes per process, this is the same in every process, so a saved table stays
    valid; 32 bits are plenty because every hit is confirmed against the file anyway.
    """
    if isinstance(key, str):
        key = key.encode("utf-8", "surrogatepass")  # any str, even one that can never be a stored key
    return zlib.crc32(key)


class KeyIndex:
    """Idempotency key -> byte offset of the line that carries it, in 12 to 24 bytes per key.

    An open-addressing hash table (linear probing) in two flat arrays: a 32-bit hash of each key (key_hash) and its
    line's offset. The key itself is not kept, so a hit is confirmed by reading the key back from the file (`key_at`).
    """

    __slots__ = ("_hashes", "_offsets", "_mask", "_count")

    def __init__(self, capacity: int = 1024) -> None:
        self._allocate(capacity)
        self._count = 0

    def _allocate(self, capacity: int) -> None:
        size = 1024
        while size * 2 < capacity * 3:  # keep the load at most 2/3
            size *= 2
        self._hashes = array("I", bytes(4 * size))
        self._offsets = array("q", [-1]) * size  # -1: empty slot
        self._mask = size - 1

    def __len__(self) -> int:
        return self._count

    def reserve(self, n: int) -> None:
        """Grows once for about n keys in all (saves repeated rehashing when indexing a large file)."""
        if n * 3 > len(self._offsets) * 2:
            self._rehash(n)

    def find(self, key: str, key_at: Callable[[int], str | None]) -> int | None:
        """The offset of the first line carrying `key`, or None."""
        h = key_hash(key)
        hashes, offsets, mask = self._hashes, self._offsets, self._mask
        i = h & mask
        found = None
        while (offset := offsets[i]) != -1:
            if hashes[i] == h and (found is None or offset < found) and key_at(offset) == key:
                found = offset
            i = (i + 1) & mask
        return found

    def add(self, key: str | bytes, offset: int) -> None:
        """Records a line carrying `key` (given as str or as its UTF-8 bytes; callers add a key only when find() did
        not know it)."""
        if (self._count + 1) * 3 > len(self._offsets) * 2:
            self._rehash(self._count * 2)
        h = key_hash(key)
        offsets, mask = self._offsets, self._mask
        i = h & mask
        while offsets[i] != -1:
            i = (i + 1) & mask
        self._hashes[i] = h
        offsets[i] = offset
        self._count += 1

    def _insert(self, h: int, offset: int) -> None:
        offsets, mask = self._offsets, self._mask
        i = h & mask
        while offsets[i] != -1:
            i = (i + 1) & mask
        self._hashes[i] = h
        offsets[i] = offset

    def _rehash(self, capacity: int) -> None:
        old_hashes, old_offsets = self._hashes, self._offsets
        self._allocate(max(capacity, self._count))
        for h, o in zip(old_hashes, old_offsets, strict=True):
            if o != -1:
                self._insert(h, o)

    # --- saving and loading --------------------------------------------------------------------------------------

    def save(self, path: Path, state: dict[str, Any]) -> None:
        """Writes the table and `state` (what the caller needs to trust it later) to `path` (see save_tables)."""
        save_tables(path, [self._hashes, self._offsets], {"count": self._count, "state": state})

    @classmethod
    def load(cls, path: Path) -> tuple[KeyIndex, dict[str, Any]] | None:
        """(the table, the state saved with it) from a file written by save(); None when there is none or it is not
        usable (see load_tables)."""
        loaded = load_tables(path, "Iq")
        if loaded is None:
            return None
        (hashes, offsets), meta = loaded
        slots, count, state = len(offsets), meta.get("count"), meta.get("state")
        if len(hashes) != slots or slots < 1024 or slots & (slots - 1) or type(count) is not int:
            return None
        if not isinstance(state, dict):
            return None
        index = cls.__new__(cls)
        index._hashes, index._offsets, index._mask, index._count = hashes, offsets, slots - 1, count
        return index, state


def dump_tables(tables: list[array], meta: dict[str, Any]) -> bytes:
    """Flat arrays and `meta` as bytes: a JSON header line (format, byte order, shapes, checksum), then the arrays."""
    header = {
        "format": _FORMAT,
        "version": _VERSION,
        "byteorder": sys.byteorder,
        "arrays": [[t.typecode, t.itemsize, len(t)] for t in tables],
        "checksum": _checksum(tables),
        "meta": meta,
    }
    return orjson.dumps(header) + b"\n" + b"".join(t.tobytes() for t in tables)


def parse_tables(data: bytes | memoryview, typecodes: str) -> tuple[list[array], dict[str, Any]] | None:
    """(the arrays, the meta) from bytes written by dump_tables, when its arrays have these typecodes; None when it is
    from another version or machine, or damaged in any way: a saved table is a cache, never trusted blindly."""
    view = memoryview(data)
    cut = bytes(view[:_HEADER_LIMIT]).find(b"\n")
    if cut < 0:
        return None
    try:
        header = orjson.loads(view[:cut])
    except ValueError:  # orjson.JSONDecodeError is a ValueError
        return None
    if not isinstance(header, dict) or (header.get("format"), header.get("version")) != (_FORMAT, _VERSION):
        return None
    shapes, meta = header.get("arrays"), header.get("meta")
    if header.get("byteorder") != sys.byteorder or not isinstance(meta, dict):
        return None
    if not isinstance(shapes, list) or len(shapes) != len(typecodes):
        return None
    for code, shape in zip(typecodes, shapes, strict=True):
        # [typecode, bytes per item, length]: anything else was written by another layout or machine
        if not isinstance(shape, list) or shape[:2] != [code, array(code).itemsize] or len(shape) != 3:
            return None
        if type(shape[2]) is not int or shape[2] < 0:
            return None
    body = view[cut + 1 :]
    if sum(size * length for _, size, length in shapes) != len(body):
        return None  # cut short or with bytes after: never allocate what the data cannot hold
    tables, at = [], 0
    for code, size, length in shapes:
        table = array(code)
        table.frombytes(body[at : at + size * length])
        at += size * length
        tables.append(table)
    if header.get("checksum") != _checksum(tables):
        return None
    return tables, meta


def save_tables(path: Path, tables: list[array], meta: dict[str, Any]) -> None:
    """Writes dump_tables(tables, meta) to `path` atomically (a reader sees the old file or the new one, never half
    of one). Raises OSError."""
    # Savers of one file hold the lock of its stream, so one temporary name never clashes; no fsync: after a crash a
    # torn file fails its checksum and is simply rebuilt.
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(dump_tables(tables, meta))
    os.replace(tmp, path)


def load_tables(path: Path, typecodes: str) -> tuple[list[array], dict[str, Any]] | None:
    """parse_tables of the file at `path`; None when there is no such file or it is not usable."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return parse_tables(data, typecodes)


def _checksum(tables: list[array]) -> int:
    crc = 0
    for table in tables:
        crc = zlib.crc32(table, crc)
    return crc
