"""A worker restarted on a store whose key tables (autosig/events/key_index.py) and message index were saved: it
starts from them instead of indexing the streams, and never records an alert or a parse twice, nor takes an edit for
a new alert, even when the streams changed behind the saved files' back."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from auditor import audit
from test_worker_unit import FakeClient, _worker

import autosig.events.file as file_mod
import autosig.stages.raw_index as raw_index_mod
from autosig.events.file import FileStore
from autosig.schema import PARSED, RAW
from autosig.stages.messages import MessageIndex
from autosig.stages.raw_index import SNAPSHOT, RawIndex


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Small tables are saved after every catch-up; records (stream, started from a saved table) per attempt."""
    monkeypatch.setattr(file_mod, "_SAVE_INDEX_LINES", 1)
    monkeypatch.setattr(file_mod, "_SAVED_INDEX_MIN_BYTES", 0)
    monkeypatch.setattr(raw_index_mod, "SAVE_AFTER", 1)
    attempts: list[tuple[str, bool]] = []
    original = FileStore._load_saved_index

    def spy(self: FileStore, s, fd: int, size: int) -> None:
        before = s.offset
        original(self, s, fd, size)
        attempts.append((s.name, s.offset != before))

    original_messages = RawIndex._load_snapshot

    def spy_messages(self: RawIndex) -> None:
        original_messages(self)
        attempts.append(("messages", self.seq != 0))

    monkeypatch.setattr(FileStore, "_load_saved_index", spy)
    monkeypatch.setattr(RawIndex, "_load_snapshot", spy_messages)
    return attempts


def run_once(tmp_path: Path, client: FakeClient) -> None:
    worker, store = _worker(tmp_path, client)
    worker.start()
    worker.poll_once()
    worker.shutdown()
    store.close()


def check_streams(tmp_path: Path, alerts: int) -> None:
    raw = audit((tmp_path / "alerts_raw.jsonl").read_bytes())
    parsed = audit((tmp_path / "alerts_parsed.jsonl").read_bytes())
    assert len(raw) == alerts and len({r["key"] for r in raw}) == alerts
    assert Counter(p["data"]["raw_seq"] for p in parsed) == Counter(range(1, alerts + 1))


def test_a_restarted_worker_starts_from_the_saved_tables(tmp_path: Path, loads: list[tuple[str, bool]]) -> None:
    client = FakeClient()
    client.publish(20)
    run_once(tmp_path, client)
    client.publish(5, start=20)
    run_once(tmp_path, client)  # indexes what the first run wrote, and saves the tables
    assert (tmp_path / "alerts_raw.jsonl.keys").exists() and (tmp_path / "alerts_parsed.jsonl.keys").exists()
    loads.clear()
    client.publish(3, start=25)
    run_once(tmp_path, client)
    assert (RAW, True) in loads and (PARSED, True) in loads and ("messages", True) in loads
    check_streams(tmp_path, 28)

    # The store itself still refuses every recorded key, from before and after the tables were saved.
    store = FileStore(tmp_path, fsync=False)
    recorded = list(store.read(RAW))
    assert store.append_many(RAW, [("alert.received", {}, None, ev.key) for ev in recorded]) == recorded
    store.close()


@pytest.mark.parametrize("lost", [1, 3])
def test_lost_parses_are_written_once(tmp_path: Path, loads: list[tuple[str, bool]], lost: int) -> None:
    client = FakeClient()
    client.publish(10)
    run_once(tmp_path, client)
    client.publish(2, start=10)
    run_once(tmp_path, client)  # saves the tables of 10 raw events and 10 parses, then appends 2 of each
    # As if the last parses never reached the disk (a crash between the raw and the parsed append). Losing one
    # leaves the 10 lines the parsed table was saved after; losing three cuts into them, so the table is refused.
    parsed_path = tmp_path / "alerts_parsed.jsonl"
    lines = parsed_path.read_bytes().splitlines(keepends=True)
    parsed_path.write_bytes(b"".join(lines[:-lost]))
    loads.clear()
    run_once(tmp_path, client)
    assert (PARSED, lost == 1) in loads
    check_streams(tmp_path, 12)


def edit(client: FakeClient, i: int) -> None:
    message = client.messages[i]
    message["content"] += " (edited)"
    message["updated_at"] = "2026-01-05T16:00:00Z"


@pytest.mark.parametrize("change", ["none", "raw replaced", "raw truncated", "index damaged"])
def test_a_restart_tells_edits_from_known_and_new_alerts(
    tmp_path: Path, loads: list[tuple[str, bool]], change: str
) -> None:
    client = FakeClient()
    client.publish(12)
    run_once(tmp_path, client)
    client.publish(2, start=12)
    run_once(tmp_path, client)  # indexes the 12 raw events at start: saves the message index
    saved = tmp_path / SNAPSHOT  # the file store keeps it as a file beside the streams
    assert MessageIndex.loads(saved.read_bytes(), lambda position: None) is not None
    alerts = 15  # 14 messages, one edited
    raw_path = tmp_path / "alerts_raw.jsonl"
    if change == "raw replaced":
        # Another log in its place (the same alerts recorded in another order): positions differ from the saved ones.
        other = FakeClient()
        other.messages = client.messages[::-1]
        run_once(tmp_path / "other", other)
        raw_path.unlink()
        (tmp_path / "alerts_parsed.jsonl").unlink()
        (tmp_path / "other" / "alerts_raw.jsonl").rename(raw_path)
        (tmp_path / "other" / "alerts_parsed.jsonl").rename(tmp_path / "alerts_parsed.jsonl")
    elif change == "raw truncated":
        lines = raw_path.read_bytes().splitlines(keepends=True)
        raw_path.write_bytes(b"".join(lines[:5]))  # as if restored from an old copy: 9 alerts are new again
        parsed = tmp_path / "alerts_parsed.jsonl"
        parsed.write_bytes(b"".join(parsed.read_bytes().splitlines(keepends=True)[:5]))
        alerts = 14  # m13 among them: first recorded once edited, so not as an edit
    elif change == "index damaged":
        saved.write_bytes(saved.read_bytes()[:-8])
    loads.clear()
    edit(client, 13)  # on the first page: a poll stops at a page it knows entirely
    run_once(tmp_path, client)
    assert (("messages", True) in loads) == (change == "none")
    raw = audit(raw_path.read_bytes())
    edits = 0 if change == "raw truncated" else 1
    assert Counter(r["type"] for r in raw) == Counter({"alert.received": alerts - edits, "alert.edited": edits})
    assert raw[-1]["data"]["source_id"] == "m13" and raw[-1]["data"]["payload"]["content"].endswith("(edited)")
    check_streams(tmp_path, alerts)
