"""The file store's saved key table (`<stream file>.keys`): a later process loads it instead of indexing the whole
stream, and trusts it only for the very file it was saved from. Whatever happens to the stream or the table in
between, a key already in the stream must never be appended again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from auditor import audit

import events.test_file_store as file_store_tests
from autosig.events import file as file_mod
from autosig.events import open_store
from autosig.events.file import FileStore
from autosig.events.key_index import KeyIndex
from autosig.schema import PARSED, RAW
from events.contract import child, read_line


@pytest.fixture
def small_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Save after every catch-up and look for a saved table in files of any size, here and in child processes."""
    monkeypatch.setattr(file_mod, "_SAVE_INDEX_LINES", 1)
    monkeypatch.setattr(file_mod, "_SAVED_INDEX_MIN_BYTES", 0)
    monkeypatch.setenv("AUTOSIG_TEST_SMALL_KEY_TABLES", "1")  # read by tests/events/child.py


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records, per attempt to load a saved table, whether the store started from it."""
    attempts: list[bool] = []
    original = FileStore._load_saved_index

    def spy(self: FileStore, s, fd: int, size: int) -> None:
        before = s.offset
        original(self, s, fd, size)
        attempts.append(s.offset != before)

    monkeypatch.setattr(FileStore, "_load_saved_index", spy)
    return attempts


class TestFileStoreContractWithSavedTables(file_store_tests.TestFileStoreContract):
    """The whole contract again, with the key table saved after every catch-up and loaded by every fresh store."""

    @pytest.fixture
    def store_url(self, tmp_path: Path, small_tables: None) -> str:
        return f"file:{tmp_path / 'logs'}"


def raw_file(d: Path) -> Path:
    return d / "alerts_raw.jsonl"


def keys_file(d: Path) -> Path:
    return d / "alerts_raw.jsonl.keys"


def fill(d: Path, n: int, prefix: str = "k") -> list:
    store = FileStore(d, fsync=False)
    events = store.append_many(RAW, [("t", {"i": i}, None, f"{prefix}{i}") for i in range(n)])
    store.close()
    return events


def index_from_scratch(d: Path) -> None:
    """A fresh writer that indexes the whole stream (and, with small_tables, saves the table)."""
    store = FileStore(d, fsync=False)
    store.get_by_key(RAW, "nothing")
    store.close()


def assert_refuses_all(d: Path, events: list) -> None:
    store = FileStore(d, fsync=False)
    before = store.last_seq(RAW)
    for ev in events:
        assert store.append(RAW, "t", {"again": True}, key=ev.key) == ev
    assert store.last_seq(RAW) == before
    store.close()


def test_a_large_catch_up_saves_the_table_and_the_next_process_starts_from_it(
    log_dir: Path, monkeypatch: pytest.MonkeyPatch, loads: list[bool]
) -> None:
    monkeypatch.setattr(file_mod, "_SAVE_INDEX_LINES", 50)
    monkeypatch.setattr(file_mod, "_SAVED_INDEX_MIN_BYTES", 0)
    events = fill(log_dir, 40)  # appended by this writer: its own appends never save
    assert not keys_file(log_dir).exists()
    index_from_scratch(log_dir)  # 40 lines indexed: below the threshold
    assert not keys_file(log_dir).exists()
    events += fill(log_dir, 30, prefix="more")
    index_from_scratch(log_dir)  # 70 lines indexed
    assert keys_file(log_dir).exists()

    store = FileStore(log_dir, fsync=False)
    new = store.append_many(RAW, [("t", {}, None, ev.key) for ev in events] + [("t", {}, None, "fresh")])
    assert new[:-1] == events and new[-1].seq == 71
    assert loads[-1] is True
    s = store._stream(RAW)
    assert (s.lines, s.last_seq, s.last_hash) == (71, 71, new[-1].hash)
    assert len(s.index) == 71
    store.close()
    audit(raw_file(log_dir).read_bytes())


def test_lines_appended_after_the_save_are_indexed_too(log_dir: Path, small_tables: None, loads: list[bool]) -> None:
    events = fill(log_dir, 5)
    index_from_scratch(log_dir)
    saved = keys_file(log_dir).read_bytes()
    # Another process appends after the table was saved, and nobody saves again (the table is older than the file).
    proc = child("append-one", f"file:{log_dir}", RAW, "from-child")
    seq, event_id = read_line(proc).split()
    assert proc.wait(10) == 0
    keys_file(log_dir).write_bytes(saved)
    events += fill(log_dir, 3, prefix="late")
    keys_file(log_dir).write_bytes(saved)

    store = FileStore(log_dir, fsync=False)
    assert store.append(RAW, "t", {}, key="from-child").id == event_id
    assert loads[-1] is True
    store.close()
    assert_refuses_all(log_dir, events)
    assert FileStore(log_dir, fsync=False).last_seq(RAW) == 9 == int(seq) + 3
    audit(raw_file(log_dir).read_bytes())


@pytest.mark.parametrize("change", ["replaced by a longer stream", "truncated", "truncated then regrown"])
def test_a_table_of_another_file_is_not_trusted(
    log_dir: Path, small_tables: None, loads: list[bool], change: str
) -> None:
    old = fill(log_dir, 6, prefix="old")
    index_from_scratch(log_dir)
    saved = keys_file(log_dir).read_bytes()
    if change == "replaced by a longer stream":
        other = log_dir / "other"
        other.mkdir()
        kept = fill(other, 10, prefix="new")
        os.replace(raw_file(other), raw_file(log_dir))
        gone = old
    else:
        with open(raw_file(log_dir), "r+b") as f:
            f.truncate(sum(len(ev.line) for ev in old[:3]))
        kept, gone = old[:3], old[3:]
        if change == "truncated then regrown":
            kept += fill(log_dir, 5, prefix="regrown")
    keys_file(log_dir).write_bytes(saved)  # the table of the old file, as if nothing had happened

    store = FileStore(log_dir, fsync=False)
    appended = store.append_many(RAW, [("t", {}, None, ev.key) for ev in kept + gone])
    assert loads[-1] is False
    assert appended[: len(kept)] == kept  # what the file holds is refused
    assert [ev.seq for ev in appended[len(kept) :]] == list(range(len(kept) + 1, len(kept) + len(gone) + 1))
    store.close()
    audit(raw_file(log_dir).read_bytes())


def test_a_replaced_file_is_detected_by_an_open_writer_too(log_dir: Path, small_tables: None) -> None:
    writer = FileStore(log_dir, fsync=False)
    writer.append_many(RAW, [("t", {}, None, f"old{i}") for i in range(4)])
    other = log_dir / "other"
    other.mkdir()
    kept = fill(other, 6, prefix="new")
    os.replace(raw_file(other), raw_file(log_dir))
    assert [writer.append(RAW, "t", {}, key=ev.key) for ev in kept] == kept
    assert writer.append(RAW, "t", {}, key="old0").seq == 7
    writer.close()
    audit(raw_file(log_dir).read_bytes())


@pytest.mark.parametrize(
    "damage", ["empty", "cut short", "a flipped bit", "garbage", "another stream's table", "trailing bytes"]
)
def test_a_damaged_table_is_ignored(log_dir: Path, small_tables: None, loads: list[bool], damage: str) -> None:
    events = fill(log_dir, 8)
    index_from_scratch(log_dir)
    path = keys_file(log_dir)
    data = path.read_bytes()
    if damage == "empty":
        data = b""
    elif damage == "cut short":
        data = data[: len(data) - 100]
    elif damage == "a flipped bit":
        data = data[:-20] + bytes([data[-20] ^ 1]) + data[-19:]
    elif damage == "garbage":
        data = os.urandom(len(data))
    elif damage == "trailing bytes":
        data += b"\0"
    else:
        store = FileStore(log_dir, fsync=False)
        store.append_many(PARSED, [("t", {}, None, f"p{i}") for i in range(8)])
        store.close()
        index_other = FileStore(log_dir, fsync=False)
        index_other.get_by_key(PARSED, "nothing")
        index_other.close()
        data = (log_dir / "alerts_parsed.jsonl.keys").read_bytes()
    path.write_bytes(data)
    assert_refuses_all(log_dir, events)
    assert loads[-1] is False


def test_a_torn_tail_after_the_saved_offset_is_still_quarantined(
    log_dir: Path, small_tables: None, loads: list[bool]
) -> None:
    events = fill(log_dir, 4)
    index_from_scratch(log_dir)
    with open(raw_file(log_dir), "ab") as f:
        f.write(b'{"seq":5,"id":"half')
    store = FileStore(log_dir, fsync=False)
    assert store.append(RAW, "t", {}, key="k1") == events[1]
    assert loads[-1] is True
    assert store.append(RAW, "t", {}, key="k-new").seq == 5
    store.close()
    assert len(list(log_dir.glob("alerts_raw.jsonl.torn-*"))) == 1
    audit(raw_file(log_dir).read_bytes())


def test_save_failure_is_ignored(log_dir: Path, small_tables: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self, path: Path, state: dict) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(KeyIndex, "save", refuse)
    events = fill(log_dir, 3)
    index_from_scratch(log_dir)
    assert not keys_file(log_dir).exists()
    assert_refuses_all(log_dir, events)


def test_table_round_trip(tmp_path: Path) -> None:
    index = KeyIndex()
    keys = [f"key-{i}" for i in range(3000)]
    for offset, key in enumerate(keys):
        index.add(key, offset)
    index.save(tmp_path / "t.keys", {"offset": 5})
    loaded = KeyIndex.load(tmp_path / "t.keys")
    assert loaded is not None
    table, state = loaded
    assert state == {"offset": 5} and len(table) == len(index)
    lookup = dict(enumerate(keys))
    assert all(table.find(key, lookup.get) == offset for offset, key in enumerate(keys))
    assert table.find("absent", lookup.get) is None
    table.add("added later", 3000)
    assert table.find("added later", {**lookup, 3000: "added later"}.get) == 3000
    assert KeyIndex.load(tmp_path / "missing.keys") is None


def test_a_table_saved_by_another_process_is_loaded(log_dir: Path, small_tables: None, loads: list[bool]) -> None:
    events = fill(log_dir, 3)
    url = f"file:{log_dir}"
    proc = child("append-one", url, RAW, "child-key")  # indexes the three lines, so it saves the table
    read_line(proc)
    assert proc.wait(10) == 0
    assert keys_file(log_dir).exists()
    store = open_store(url, fsync=False)
    first = store.get_by_key(RAW, "child-key")
    assert first is not None and loads[-1] is True
    assert store.append(RAW, "t", {}, key="child-key") == first
    store.close()
    assert_refuses_all(log_dir, events)
