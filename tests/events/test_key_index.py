"""The writer's key index: a compact hash table whose hits are confirmed by reading the key back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from autosig.events.key_index import KeyIndex


class Colliding(str):
    """A key whose hash is forced, to exercise collisions that real 64-bit hashes make rare."""

    def __hash__(self) -> int:
        return len(self) % 3 - 1  # -1, 0 or 1 (Python maps a hash of -1 to -2)


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.text(max_size=6), max_size=3000),
    collide=st.booleans(),
)
def test_index_agrees_with_a_dict(keys: list[str], collide: bool) -> None:
    index = KeyIndex()
    model: dict[str, int] = {}  # key -> first offset
    stored: dict[int, str] = {}  # offset -> key, what key_at reads back from "the file"
    for offset, raw in enumerate(keys):
        key = Colliding(raw) if collide else raw
        if index.find(key, stored.get) is None:
            index.add(key, offset)
        stored[offset] = raw
        model.setdefault(raw, offset)
    assert len(index) == len(model)
    for raw, offset in model.items():
        key = Colliding(raw) if collide else raw
        assert index.find(key, stored.get) == offset
    missing = Colliding("absent-key") if collide else "absent-key"
    assert index.find(missing, stored.get) is None


def test_reserve_and_growth_keep_every_entry() -> None:
    index = KeyIndex()
    index.reserve(5000)
    keys = [f"whop:m{i}:{i:016x}" for i in range(20000)]
    for offset, key in enumerate(keys):
        index.add(key, offset * 10)
    lookup = {offset * 10: key for offset, key in enumerate(keys)}
    assert all(index.find(key, lookup.get) == offset * 10 for offset, key in enumerate(keys))
    assert index.find("whop:other", lookup.get) is None
