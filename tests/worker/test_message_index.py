"""The worker's compact message index, and the copy of it kept beside the store."""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from autosig.events import open_store
from autosig.events.record import Event
from autosig.schema import RAW, alert_received
from autosig.stages import messages as message_index
from autosig.stages.messages import MessageIndex, id_hash, tag_value
from autosig.stages.raw_index import SNAPSHOT, RawIndex


def colliding_hash(source_id: str) -> int:
    """A hash that forces collisions, which real 32-bit CRCs of distinct ids make rare."""
    return len(source_id) % 3


def _event(position: int, source_id: str) -> Event:
    return Event(position, "id", "alert.received", None, "ts", {"source_id": source_id}, {}, "", "", b"")


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.sampled_from(["a", "b", "cc", "ddd", "e", "ffff", "g"]) | st.text(max_size=5), max_size=400),
    collide=st.booleans(),
)
def test_index_agrees_with_a_dict(ids: list[str], collide: bool) -> None:
    with mock.patch.object(message_index, "id_hash", colliding_hash if collide else id_hash):
        stored: dict[int, Event] = {}  # position -> event, what load reads back from "the stream"
        index = MessageIndex(stored.get)
        model: dict[str, list[int]] = {}  # id -> positions, oldest first
        for position, key in enumerate(ids, 1):
            tag = f"{position * 7919:016x}"
            stored[position] = _event(position, key)
            index.add(key, position, tag_value(tag))
            model.setdefault(key, []).append(position)
        assert len(index) == len(model)
        for key, positions in model.items():
            latest = f"{positions[-1] * 7919:016x}"
            assert index.tag_of(key) == latest
            assert index.is_latest(key, latest)
            assert not index.is_latest(key, "0" * 16) or latest == "0" * 16
            assert [ev.seq for ev in index.versions(key)] == positions[::-1]
        assert index.tag_of("absent!") is None and not index.is_latest("absent!", "0" * 16)
        assert list(index.versions("absent!")) == []


def test_saved_index_answers_as_the_original(tmp_path) -> None:
    stored: dict[int, Event] = {}
    index = MessageIndex(stored.get)
    for position in range(1, 3001):
        stored[position] = _event(position, f"m{position % 2000}")
        index.add(f"m{position % 2000}", position, None if position % 7 == 0 else position)
    saved = index.dumps({"offset": 42})
    loaded = MessageIndex.loads(saved, stored.get)
    assert loaded is not None
    again, state = loaded
    assert state == {"offset": 42} and len(again) == len(index) == 2000
    for i in range(2000):
        assert again.tag_of(f"m{i}") == index.tag_of(f"m{i}")
        assert [ev.seq for ev in again.versions(f"m{i}")] == [ev.seq for ev in index.versions(f"m{i}")]
    stored[3001] = _event(3001, "m5")
    again.add("m5", 3001, 3001)
    assert [ev.seq for ev in again.versions("m5")] == [3001, 2005, 5]
    assert MessageIndex.loads(saved[:-1], stored.get) is None
    assert MessageIndex.loads(saved[:-9] + b"\x01" * 8 + saved[-1:], stored.get) is None  # fails its checksum


def test_growth_and_untagged_versions() -> None:
    stored: dict[int, Event] = {}
    index = MessageIndex(stored.get)
    for position in range(1, 5001):
        stored[position] = _event(position, f"m{position % 3000}")
        index.add(f"m{position % 3000}", position, None if position % 7 == 0 else position)
    assert len(index) == 3000
    assert index.tag_of("m3") == ""  # latest at position 3003: a key without a version tag
    assert index.tag_of("m4") == f"{3004:016x}"  # its key at position 4 had none; the latest has one
    assert index.tag_of("m8") == f"{3008:016x}"  # edited at position 3008
    assert [ev.seq for ev in index.versions("m8")] == [3008, 8]


def test_the_copy_kept_beside_the_store_is_trusted_only_while_the_stream_holds_its_last_event(tmp_path) -> None:
    store = open_store(f"file:{tmp_path}", fsync=False)
    messages = [{"id": f"m{i}", "content": f"BTO {i} SPY 600c @ 1", "created_at": "2026-01-05T15:00:00Z"}
                for i in range(50)]  # fmt: skip
    store.append_many(RAW, [alert_received("chat_1", m) for m in messages])
    index = RawIndex(store, channels=["chat_1"])
    index.rebuild()
    index.save_snapshot()
    assert store.read_aside(SNAPSHOT) is not None
    again = RawIndex(store, channels=["chat_1"])
    again._load_snapshot()
    assert again.seq == 50 and again.channels == {"chat_1"} and len(again.messages) == 50
    # The stream was replaced by another log of the same length: the copy describes something else.
    store.close()
    (tmp_path / "alerts_raw.jsonl").unlink()
    other = open_store(f"file:{tmp_path}", fsync=False)
    other.append_many(RAW, [alert_received("chat_2", {**m, "content": "other"}) for m in messages])
    fresh = RawIndex(other, channels=["chat_2"])
    fresh._load_snapshot()
    assert fresh.seq == 0 and len(fresh.messages) == 0
    fresh.rebuild()
    assert fresh.seq == 50 and fresh.channels == {"chat_2"}
    other.close()
