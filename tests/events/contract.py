"""The event store CONTRACT SUITE (docs/ARCHITECTURE.md, "The event log"), written once and run per store.

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

from autosig.events import ZERO_HASH, EventStore, open_store
from autosig.schema import RAW

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

    # --- named leases ---------------------------------------------------------------------------------------------

    @pytest.mark.parametrize("name", ["worker", "executor"])
    def test_exclusive_lease_is_exclusive_between_processes(self, store_url: str, store: EventStore, name: str) -> None:
        proc = child("lease", store_url, name)
        try:
            assert read_line(proc) == "held"
            holder = store.try_acquire_lease(name, f"second {name}")
            assert holder is not None and str(proc.pid) in holder
            assert store.lease_seconds_left(name) == 0
            proc.stdin.write("release\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            assert read_line(proc) == "released"
            assert store.try_acquire_lease(name, f"second {name}") is None
            assert store.try_acquire_lease(name, f"second {name}") is None  # keeping it is fine
            assert store.lease_seconds_left(name) > 20
            other = open_store(store_url, writer="third", fsync=False)
            try:
                assert other.try_acquire_lease(name, f"third {name}") is not None
                store.release_lease(name)
                assert store.lease_seconds_left(name) == 0
                assert other.try_acquire_lease(name, f"third {name}") is None
            finally:
                other.release_lease(name)
                other.close()
        finally:
            proc.kill()
            proc.wait(10)

    def test_leases_of_different_names_are_independent(self, store_url: str, store: EventStore) -> None:
        other = open_store(store_url, writer="other", fsync=False)
        try:
            assert store.try_acquire_lease("worker", "the worker") is None
            assert other.try_acquire_lease("executor", "the executor") is None
            assert other.try_acquire_lease("worker", "a second worker") is not None
            assert store.try_acquire_lease("executor", "a second executor") is not None
        finally:
            other.close()

    def test_best_effort_lease_elects_one_holder(self, store_url: str, store: EventStore) -> None:
        other = open_store(store_url, writer="other", fsync=False)
        try:
            assert store.try_acquire_lease("notifier", "web 1") is None
            assert other.try_acquire_lease("notifier", "web 2") is not None
            store.close()  # closing a store gives up what it holds, like a process ending
            assert other.try_acquire_lease("notifier", "web 2") is None
        finally:
            other.close()

    def test_unknown_lease_names_are_refused(self, store: EventStore) -> None:
        with pytest.raises(ValueError, match="unknown lease"):
            store.try_acquire_lease("wroker", "typo")

    # --- keys, get, store id -------------------------------------------------------------------------------------

    def test_keys_lists_keys_by_prefix_in_seq_order(self, store: EventStore) -> None:
        store.append_many(
            "parsed",
            [
                ("alert.parsed", {}, None, "parse:1:1"),
                ("alert.parsed", {}, None, "parse:1:2"),
                ("other", {}, None, None),
                ("alert.parsed", {}, None, "parse:2:1"),
                ("other", {}, None, "parsed-not:3"),
                ("odd", {}, None, 'parse:9:"quoted" é \\ \n'),
            ],
        )
        assert list(store.keys("parsed", "parse:")) == [
            (1, "parse:1:1"),
            (2, "parse:1:2"),
            (4, "parse:2:1"),
            (6, 'parse:9:"quoted" é \\ \n'),
        ]
        assert [k for _, k in store.keys("parsed")] == [
            "parse:1:1", "parse:1:2", "parse:2:1", "parsed-not:3", 'parse:9:"quoted" é \\ \n'
        ]  # fmt: skip
        assert list(store.keys("parsed", "parse:", after=2)) == [(4, "parse:2:1"), (6, 'parse:9:"quoted" é \\ \n')]
        assert list(store.keys("parsed", "parse:2:")) == [(4, "parse:2:1")]
        assert list(store.keys("raw", "parse:")) == []

    def test_keys_are_never_read_from_an_event_body(self, store: EventStore) -> None:
        nested = {"seq": 5, "id": "x", "type": "t", "key": "parse:evil", "ts": "now"}
        store.append("parsed", "t", {"inner": nested, "text": '{"seq":5,"id":"x","type":"t","key":"parse:evil"'})
        assert list(store.keys("parsed", "parse:")) == []

    def test_get_finds_each_event_by_seq(self, store: EventStore) -> None:
        events = store.append_many(RAW, [("t", {"i": i, "pad": "x" * (i * 37 % 500)}, None, None) for i in range(300)])
        for ev in events[::7] + events[-3:]:
            assert store.get(RAW, ev.seq) == ev
        assert store.get(RAW, 0) is None and store.get(RAW, 301) is None and store.get("parsed", 1) is None

    def test_store_id_is_the_id_of_the_first_raw_event(self, store_url: str, store: EventStore) -> None:
        assert store.store_id() is None
        first = store.append(RAW, "alert.received", {"n": 1})
        store.append(RAW, "alert.received", {"n": 2})
        assert store.store_id() == first.id
        with open_store(store_url, writer="other", fsync=False) as other:
            assert other.store_id() == first.id

    # --- data kept beside the streams -------------------------------------------------------------------------------

    def test_aside_data_is_replaced_whole_and_never_a_stream(self, store_url: str, store: EventStore) -> None:
        assert store.read_aside("cache.test") is None
        store.write_aside("cache.test", b"one")
        store.write_aside("cache.test", b"\x00two\xff" * 1000, private=True)
        with open_store(store_url, writer="other", fsync=False) as other:
            assert other.read_aside("cache.test") == b"\x00two\xff" * 1000
        assert "cache.test" not in store.streams()
        with pytest.raises(ValueError):
            store.write_aside("../escape", b"x")

    # --- import, problems and resets ----------------------------------------------------------------------------

    def test_import_lines_copies_a_chain_byte_for_byte(self, store_url: str, store: EventStore, tmp_path: Path) -> None:
        source = open_store(f"file:{tmp_path / 'source'}", writer="source", fsync=False)
        source.append_many(RAW, [("alert.received", {"i": i, "t": "é"}, None, f"k{i}") for i in range(5)])
        lines = list(source.iter_lines(RAW))
        assert store.import_lines(RAW, lines) == 5  # type: ignore[attr-defined]
        assert exported(store, RAW) == b"".join(lines)
        assert store.append(RAW, "alert.received", {}, key="k2").seq == 3  # imported keys are known
        assert store.append(RAW, "alert.received", {}).prev == lines[-1].decode().rsplit('"hash":"', 1)[1][:64]
        from autosig.events import StoreError

        with pytest.raises(StoreError, match="not empty|already has"):
            store.import_lines(RAW, lines)  # type: ignore[attr-defined]
        source.close()

    def test_corrupt_last_line_is_named_skipped_and_chained_over(self, store: EventStore) -> None:
        good = store.append_many(RAW, [("t", {"i": i}, None, None) for i in range(3)])
        self.corrupt_last_line(store, RAW)
        problems: list = []
        assert [e.seq for e in store.read(RAW, on_problem=problems.append)] == [1, 2]
        assert [p.line for p in problems] == [3]
        assert store.head(RAW) == good[1]
        assert store.last_seq(RAW) == 3
        nxt = store.append(RAW, "t", {"after": True})
        assert nxt.seq == 4 and nxt.prev == good[2].hash  # the chain goes on from the hash the damaged line states
        with pytest.raises(Exception, match="line 3|seq 3"):
            list(store.read(RAW))

    # Damage is done behind the store's back, the way only an operator (or a disk) can: each store says how.
    def corrupt_last_line(self, store: EventStore, stream: str) -> None:  # pragma: no cover - per store
        """Breaks the JSON of the stream's last line, keeping the hash it states at its end."""
        raise NotImplementedError

    def cut_history(self, store: EventStore, stream: str, keep: int) -> None:  # pragma: no cover - per store
        """Removes every event after seq `keep` (a restore of an older copy of the log)."""
        raise NotImplementedError

    def test_tail_starts_over_with_on_reset_when_followed_history_is_cut(self, store: EventStore) -> None:
        store.append_many(RAW, [("t", {"n": i}, None, None) for i in range(3)])
        got: list[tuple[int, int]] = []
        resets: list[int] = []
        stop = threading.Event()

        def follow() -> None:
            for ev in store.tail(RAW, stop=stop, on_reset=lambda: resets.append(len(got))):
                got.append((ev.seq, ev.data["n"]))

        thread = threading.Thread(target=follow, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while len(got) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.cut_history(store, RAW, keep=1)
        time.sleep(0.3)  # let the tail notice the cut before the new appends make the stream as long as before
        store.append(RAW, "t", {"n": 10})
        store.append(RAW, "t", {"n": 11})
        store.append(RAW, "t", {"n": 12})
        deadline = time.monotonic() + 10
        while len(got) < 7 and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()
        thread.join(10)
        assert resets == [3]
        assert got == [(1, 0), (2, 1), (3, 2), (1, 0), (2, 10), (3, 11), (4, 12)]

    def test_tail_names_corrupt_lines_and_goes_on(self, store: EventStore) -> None:
        store.append_many(RAW, [("t", {"i": i}, None, None) for i in range(3)])
        self.corrupt_last_line(store, RAW)
        store.append(RAW, "t", {"i": 3})
        stop = threading.Event()
        problems: list = []
        seen = []
        for ev in store.tail(RAW, stop=stop, on_problem=problems.append):
            seen.append(ev.seq)
            if ev.seq == 4:
                stop.set()
        assert seen == [1, 2, 4] and [p.line for p in problems] == [3]
