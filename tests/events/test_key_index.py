"""The writer's key index: a compact hash table whose hits are confirmed by reading the key back."""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from autosig.events import key_index
from autosig.events.key_index import KeyIndex, key_hash


def colliding_hash(key: str | bytes) -> int:
    """A hash that forces collisions, which real 32-bit CRCs of distinct keys make rare (the same for a str and its
    UTF-8 bytes, as key_hash is)."""
    return len(key.encode("utf-8", "surrogatepass") if isinstance(key, str) else key) % 3


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.text(max_size=6), max_size=3000),
    collide=st.booleans(),
)
def test_index_agrees_with_a_dict(keys: list[str], collide: bool) -> None:
    with mock.patch.object(key_index, "key_hash", colliding_hash if collide else key_hash):
        index = KeyIndex()
        model: dict[str, int] = {}  # key -> first offset
        stored: dict[int, str] = {}  # offset -> key, what key_at reads back from "the file"
        for offset, key in enumerate(keys):
            if index.find(key, stored.get) is None:
                # The file store adds keys read from lines as their UTF-8 bytes: the same table entry as the str.
                index.add(key.encode("utf-8", "surrogatepass") if offset % 2 else key, offset)
            stored[offset] = key
            model.setdefault(key, offset)
        assert len(index) == len(model)
        for key, offset in model.items():
            assert index.find(key, stored.get) == offset
        assert index.find("absent-key", stored.get) is None


def test_reserve_and_growth_keep_every_entry() -> None:
    index = KeyIndex()
    index.reserve(5000)
    keys = [f"whop:m{i}:{i:016x}" for i in range(20000)]
    for offset, key in enumerate(keys):
        index.add(key, offset * 10)
    lookup = {offset * 10: key for offset, key in enumerate(keys)}
    assert all(index.find(key, lookup.get) == offset * 10 for offset, key in enumerate(keys))
    assert index.find("whop:other", lookup.get) is None


def test_key_hash_is_the_same_in_every_process() -> None:
    # Saved tables depend on it: CRC-32 of the UTF-8 bytes, never Python's per-process hash().
    assert key_hash("whop:post_1:00000000000000ff") == key_hash(b"whop:post_1:00000000000000ff")
    assert key_hash("abc") == 0x352441C2
    assert key_hash("\ud800") == key_hash(b"\xed\xa0\x80")  # a lone surrogate hashes rather than raising
