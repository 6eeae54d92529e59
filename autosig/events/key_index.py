"""The writer's index of idempotency keys (DESIGN §3: a key already in the stream appends nothing)."""

from __future__ import annotations

from array import array
from collections.abc import Callable


class KeyIndex:
    """Idempotency key -> byte offset of the line that carries it, in 16 to 32 bytes per key.

    An open-addressing hash table (linear probing) in two flat arrays: a 64-bit hash of each key and its line's
    offset. The key itself is not kept, so a hit is confirmed by reading the key back from the file (`key_at`).
    """

    __slots__ = ("_hashes", "_offsets", "_mask", "_count")

    def __init__(self, capacity: int = 1024) -> None:
        self._allocate(capacity)
        self._count = 0

    def _allocate(self, capacity: int) -> None:
        size = 1024
        while size * 2 < capacity * 3:  # keep the load at most 2/3
            size *= 2
        self._hashes = array("q", bytes(8 * size))
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
        h = hash(key)
        hashes, offsets, mask = self._hashes, self._offsets, self._mask
        i = h & mask
        found = None
        while (offset := offsets[i]) != -1:
            if hashes[i] == h and (found is None or offset < found) and key_at(offset) == key:
                found = offset
            i = (i + 1) & mask
        return found

    def add(self, key: str, offset: int) -> None:
        """Records a line carrying `key` (callers add a key only when find() did not know it)."""
        if (self._count + 1) * 3 > len(self._offsets) * 2:
            self._rehash(self._count * 2)
        h = hash(key)
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
