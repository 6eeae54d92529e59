"""The event store CONTRACT SUITE (DESIGN §3), written once and run per store.

A store's test module subclasses `StoreContract` and provides a `store_url` fixture naming a fresh, empty store for
each test:

    class TestFileStoreContract(StoreContract):
        @pytest.fixture
        def store_url(self, tmp_path):
            return f"file:{tmp_path / 'logs'}"

Every test opens stores with `open_store(store_url)`, in this process and in child processes (tests/events/child.py),
and checks the bytes with tests/auditor.py, which shares no code with AutoSig.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from auditor import audit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autosig.events import RAW, ZERO_HASH, EventStore, open_store

CHILD = Path(__file__).with_name("child.py")
ROOT = Path(__file__).resolve().parents[2]


def child(command: str, url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), command, url, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def read_line(proc: subprocess.Popen[str], timeout: float = 20.0) -> str:
    """The child's next stdout line, failing (with its stderr) if it does not come."""
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not result or not result[0]:
        proc.kill()
        raise AssertionError(f"child said nothing; stderr: {proc.stderr.read()}")  # type: ignore[union-attr]
    return result[0].strip()


def exported(store: EventStore, stream: str) -> bytes:
    return b"".join(store.iter_lines(stream))


# JSON values orjson writes and every JSON reader reads back identically (no lone surrogates, 64-bit integers).
json_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(json_text, children, max_size=4),
    max_leaves=12,
)


class StoreContract:
    """Behaviour every EventStore keeps. Subclasses provide the `store_url` fixture (a fresh empty store per test)."""

    @pytest.fixture
    def store_url(self) -> str:  # pragma: no cover - always overridden
        raise NotImplementedError

    @pytest.fixture
    def store(self, store_url: str):
        s = open_store(store_url, writer="test", fsync=False)
        yield s
        s.close()

    # --- appends, seq and the chain -----------------------------------------------------------------------------

    def test_empty_store(self, store: EventStore) -> None:
        assert store.last_seq(RAW) == 0
        assert store.head(RAW) is None
        assert list(store.read(RAW)) == []
        assert list(store.iter_lines(RAW)) == []
        assert store.get_by_key(RAW, "nothing") is None
        assert {"raw", "parsed", "worker"} <= set(store.streams())

    def test_append_returns_the_event_as_stored(self, store: EventStore) -> None:
        first = store.append(RAW, "alert.received", {"text": "BTO 2 SPY 600c 1/17 @ 1.25"}, meta={"x": 1}, key="k1")
        second = store.append(RAW, "alert.received", {"text": "STC"})
        assert (first.seq, second.seq) == (1, 2)
        assert first.prev == ZERO_HASH and second.prev == first.hash
        assert first.key == "k1" and second.key is None
        assert first.meta["x"] == 1 and first.meta["writer"] == "test"
        assert {"host", "pid", "writer"} <= set(second.meta)
        assert exported(store, RAW) == first.line + second.line
        assert [e.line for e in store.read(RAW)] == [first.line, second.line]
        assert list(store.read(RAW)) == [first, second]
        records = audit(exported(store, RAW))
        assert records[0]["data"] == {"text": "BTO 2 SPY 600c 1/17 @ 1.25"}

    def test_stranger_text_is_stored_verbatim(self, store: EventStore) -> None:
        text = 'BTO "SPY" 600c\n<script>alert(1)</script> \\ 🚀 \u2028 \x00 tab\t end'
        event = store.append(RAW, "alert.received", {"payload": {"content": text}})
        assert [e.data["payload"]["content"] for e in store.read(RAW)] == [text]
        assert audit(exported(store, RAW))[0]["data"]["payload"]["content"] == text
        assert event.line.count(b"\n") == 1

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors])
    @given(bodies=st.lists(st.dictionaries(json_text, json_values, max_size=5), min_size=1, max_size=4))
    def test_any_json_body_round_trips_and_chains(self, store: EventStore, bodies: list[dict]) -> None:
        before = store.last_seq(RAW)
        events = store.append_many(RAW, [("test.any", body, None, None) for body in bodies])
        assert [e.seq for e in events] == list(range(before + 1, before + 1 + len(bodies)))
        assert [e.data for e in store.read(RAW, after=before)] == bodies
        audit(exported(store, RAW))

    def test_read_after_and_limit(self, store: EventStore) -> None:
        store.append_many(RAW, [("t", {"i": i}, None, None) for i in range(10)])
        assert [e.seq for e in store.read(RAW, after=3)] == [4, 5, 6, 7, 8, 9, 10]
        assert [e.seq for e in store.read(RAW, after=3, limit=2)] == [4, 5]
        assert [e.seq for e in store.read(RAW, limit=1)] == [1]
        assert list(store.read(RAW, after=10)) == []
        assert store.last_seq(RAW) == 10
        head = store.head(RAW)
        assert head is not None and head.seq == 10 and head.data == {"i": 9}
        assert store.last_seq("parsed") == 0  # streams are independent

    def test_streams_are_independent_chains(self, store: EventStore) -> None:
        store.append(RAW, "a", {})
        p = store.append("parsed", "alert.parsed", {"raw_seq": 1})
        w = store.append("worker", "worker.started", {})
        assert p.seq == 1 and p.prev == ZERO_HASH and w.seq == 1
        for stream in ("raw", "parsed", "worker"):
            audit(exported(store, stream))

    def test_four_processes_appending_concurrently(self, store_url: str, store: EventStore) -> None:
        n, shared = 60, 20
        children = [child("append", store_url, f"p{i}", str(n), str(shared)) for i in range(4)]
        for c in children:
            c.stdin.write("go\n")  # type: ignore[union-attr]
            c.stdin.flush()  # type: ignore[union-attr]
        for c in children:
            assert read_line(c, timeout=60) == "done"
            assert c.wait(10) == 0
        events = list(store.read(RAW))
        assert [e.seq for e in events] == list(range(1, 4 * n + shared + 1))
        keys = [e.key for e in events]
        assert len(set(keys)) == len(keys)
        assert set(keys) == {f"p{i}-{j}" for i in range(4) for j in range(n)} | {f"shared-{j}" for j in range(shared)}
        records = audit(exported(store, RAW))
        assert len(records) == len(events)
        assert len({r["meta"]["pid"] for r in records}) == 4

    # --- idempotent keys ----------------------------------------------------------------------------------------

    def test_known_key_returns_the_existing_event(self, store: EventStore) -> None:
        first = store.append(RAW, "alert.received", {"v": 1}, key="whop:m1:abc")
        again = store.append(RAW, "alert.received", {"v": 2}, key="whop:m1:abc")
        assert again == first
        assert store.last_seq(RAW) == 1
        assert store.get_by_key(RAW, "whop:m1:abc") == first
        # Keys are per stream.
        other = store.append("parsed", "alert.parsed", {}, key="whop:m1:abc")
        assert other.seq == 1

    def test_repeated_key_within_one_batch(self, store: EventStore) -> None:
        old = store.append(RAW, "t", {"n": 0}, key="old")
        events = store.append_many(
            RAW,
            [
                ("t", {"n": 1}, None, "new"),
                ("t", {"n": 2}, None, "new"),
                ("t", {"n": 3}, None, "old"),
                ("t", {"n": 4}, None, None),
                ("t", {"n": 5}, None, None),
            ],
        )
        assert events[0] == events[1] and events[0].data == {"n": 1}
        assert events[2] == old
        assert [e.seq for e in events] == [2, 2, 1, 3, 4]
        assert [e.data["n"] for e in store.read(RAW)] == [0, 1, 4, 5]
        audit(exported(store, RAW))

    def test_keys_survive_reopen_and_other_processes(self, store_url: str, store: EventStore) -> None:
        first = store.append(RAW, "t", {"n": 1}, key="k-before")
        store.close()
        reopened = open_store(store_url, writer="test", fsync=False)
        try:
            assert reopened.append(RAW, "t", {"n": 2}, key="k-before") == first
            # A key appended by another process counts, even though this store object already built its index.
            proc = child("append-one", store_url, RAW, "k-child")
            seq, event_id = read_line(proc).split()
            assert proc.wait(10) == 0
            mine = reopened.append(RAW, "t", {"n": 3}, key="k-child")
            assert (mine.seq, mine.id) == (int(seq), event_id)
            found = reopened.get_by_key(RAW, "k-child")
            assert found is not None and found.id == event_id
            assert reopened.append(RAW, "t", {"n": 4}, key="k-after").seq == 3
            # The child's append also counts for the next seq.
            assert [e.seq for e in reopened.read(RAW)] == [1, 2, 3]
        finally:
            reopened.close()
        audit(exported(open_store(store_url, fsync=False), RAW))

    # --- tailing ------------------------------------------------------------------------------------------------

    def test_tail_catches_up_then_sees_another_process_append(self, store_url: str, store: EventStore) -> None:
        store.append_many(RAW, [("t", {"i": i}, None, None) for i in range(3)])
        stop = threading.Event()
        seen: list[tuple[int, float]] = []

        def follow() -> None:
            for event in store.tail(RAW, after=1, stop=stop):
                seen.append((event.seq, time.monotonic()))

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 5
            while len(seen) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert [s for s, _ in seen] == [2, 3]
            time.sleep(0.2)  # the tail is now waiting
            proc = child("append-one", store_url, RAW, "")
            appended_seq = int(read_line(proc).split()[0])
            appended_at = time.monotonic()
            assert proc.wait(10) == 0
            while len(seen) < 3 and time.monotonic() < appended_at + 2:
                time.sleep(0.005)
            assert [s for s, _ in seen] == [2, 3, appended_seq]
            assert seen[-1][1] - appended_at < 2.0
        finally:
            stop.set()
            thread.join(5)
        assert not thread.is_alive(), "tail did not return after stop was set"

    def test_tail_returns_promptly_when_stopped_while_waiting(self, store: EventStore) -> None:
        stop = threading.Event()
        done = threading.Event()

        def follow() -> None:
            for _ in store.tail(RAW, stop=stop):
                pass
            done.set()

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        time.sleep(0.2)
        stop.set()
        assert done.wait(2), "tail did not return within 2 s of stop"

    # --- the single-worker lease --------------------------------------------------------------------------------

    def test_worker_lease_is_exclusive_between_processes(self, store_url: str, store: EventStore) -> None:
        proc = child("lease", store_url)
        try:
            assert read_line(proc) == "held"
            holder = store.try_acquire_worker_lease("second worker")
            assert holder is not None and str(proc.pid) in holder
            proc.stdin.write("release\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            assert read_line(proc) == "released"
            assert store.try_acquire_worker_lease("second worker") is None
            assert store.try_acquire_worker_lease("second worker") is None  # keeping it is fine
            other = open_store(store_url, writer="third", fsync=False)
            try:
                assert other.try_acquire_worker_lease("third worker") is not None
                store.release_worker_lease()
                assert other.try_acquire_worker_lease("third worker") is None
            finally:
                other.release_worker_lease()
                other.close()
        finally:
            proc.kill()
            proc.wait(10)
