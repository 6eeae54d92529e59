"""The file store: the shared contract plus what only files have (torn tails, truncation, replaced files, flock)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
from auditor import audit
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from autosig.events import RecordError, StoreError, open_store
from autosig.events import file as file_mod
from autosig.events.base import Problem
from autosig.events.file import FileStore
from autosig.events.record import encode
from autosig.events.tailing import HUB
from autosig.schema import RAW
from events.contract import StoreContract, child, read_line


class TestFileStoreContract(StoreContract):
    @pytest.fixture
    def store_url(self, tmp_path: Path) -> str:
        return f"file:{tmp_path / 'logs'}"

    def corrupt_last_line(self, store, stream: str) -> None:
        path = store.path_of(stream)
        lines = path.read_bytes().splitlines(keepends=True)
        lines[-1] = lines[-1].replace(b'"data":{', b'"data":[', 1)
        path.write_bytes(b"".join(lines))

    def cut_history(self, store, stream: str, keep: int) -> None:
        path = store.path_of(stream)
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:keep]))


def raw_file(d: Path) -> Path:
    return d / "alerts_raw.jsonl"


def collect_tail(store: FileStore, stream: str = RAW, **kwargs):
    """Runs store.tail on a thread; returns (events list, resets list, problems list, stop event, thread)."""
    events, resets, problems = [], [], []
    stop = threading.Event()

    def follow() -> None:
        for event in store.tail(
            stream, stop=stop, on_problem=problems.append, on_reset=lambda: resets.append(len(events)), **kwargs
        ):
            events.append(event)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    return events, resets, problems, stop, thread


def wait_for(predicate, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def test_files_are_named_per_stream(log_dir: Path) -> None:
    store = FileStore(log_dir, fsync=False)
    store.append("raw", "t", {})
    store.append("parsed", "t", {})
    store.append("worker", "t", {})
    store.append("reviews", "t", {})
    names = {p.name for p in log_dir.iterdir() if p.suffix == ".jsonl"}
    assert names == {"alerts_raw.jsonl", "alerts_parsed.jsonl", "worker.jsonl", "reviews.jsonl"}
    assert store.streams()[:3] == ["raw", "parsed", "worker"] and "reviews" in store.streams()
    with pytest.raises(ValueError):
        store.append("../etc/passwd", "t", {})


# --- torn tails --------------------------------------------------------------------------------------------------


def test_torn_tail_is_never_surfaced_and_is_quarantined_by_the_next_writer(log_dir: Path) -> None:
    store = FileStore(log_dir, fsync=False)
    store.append_many(RAW, [("t", {"i": i}, None, f"k{i}") for i in range(3)])
    torn = b'{"seq":4,"id":"half-written'
    with open(raw_file(log_dir), "ab") as f:
        f.write(torn)
    reader = FileStore(log_dir, fsync=False)
    assert [e.seq for e in reader.read(RAW)] == [1, 2, 3]
    assert reader.last_seq(RAW) == 3
    assert reader.head(RAW).seq == 3
    assert reader.torn_tail_bytes(RAW) == len(torn)
    assert b"half-written" not in b"".join(reader.iter_lines(RAW))
    events, _, problems, stop, thread = collect_tail(reader)
    assert wait_for(lambda: len(events) == 3)
    time.sleep(0.2)
    assert [e.seq for e in events] == [1, 2, 3] and problems == []

    writer = FileStore(log_dir, fsync=False)  # a fresh process's view: it learns the file under the lock
    event = writer.append(RAW, "t", {"i": 3}, key="k3")
    assert event.seq == 4
    quarantined = list(log_dir.glob("alerts_raw.jsonl.torn-*"))
    assert len(quarantined) == 1 and quarantined[0].read_bytes() == torn
    audit(raw_file(log_dir).read_bytes())
    assert reader.torn_tail_bytes(RAW) == 0
    assert wait_for(lambda: len(events) == 4)
    assert events[3] == event and problems == []
    stop.set()
    thread.join(2)


def test_half_written_line_is_yielded_only_once_complete(log_dir: Path) -> None:
    store = FileStore(log_dir, fsync=False)
    first = store.append(RAW, "t", {"i": 0})
    events, _, problems, stop, thread = collect_tail(store)
    assert wait_for(lambda: len(events) == 1)
    # The next line's bytes arrive in two halves, as from a slow writer.
    nxt = encode(2, "id-2", "t", None, first.ts, {"i": 1}, first.meta, first.hash).line
    with open(raw_file(log_dir), "ab") as f:
        f.write(nxt[:20])
        f.flush()
        time.sleep(0.3)
        assert len(events) == 1
        f.write(nxt[20:])
    assert wait_for(lambda: len(events) == 2)
    assert events[1].line == nxt and problems == []
    stop.set()
    thread.join(2)


# --- tailing: inotify, poll backstop, truncation, replacement ----------------------------------------------------


@pytest.mark.parametrize("watch", [True, False], ids=["inotify", "poll-backstop-only"])
def test_tail_sees_another_process_within_2s(log_dir: Path, watch: bool) -> None:
    # With watchdog on, the poll interval is long enough that only an inotify wake-up can explain a quick sighting.
    store = FileStore(log_dir, fsync=False, watch=watch, tail_poll_seconds=30 if watch else 0.25)
    store.append(RAW, "t", {})
    events, _, _, stop, thread = collect_tail(store)
    assert wait_for(lambda: len(events) == 1)
    if not watch:
        assert os.path.abspath(log_dir) not in HUB._dirs
    time.sleep(0.3)
    proc = child("append-one", f"file:{log_dir}", RAW, "")
    seq = int(read_line(proc).split()[0])
    appended = time.monotonic()
    assert wait_for(lambda: len(events) == 2, timeout=2.0), f"not seen within 2 s (watch={watch})"
    assert events[1].seq == seq == 2
    assert time.monotonic() - appended < 2.0
    stop.set()
    thread.join(2)
    assert not thread.is_alive()
    assert os.path.abspath(log_dir) not in HUB._dirs  # the watch is dropped with its last tail


def test_tails_share_one_observer_and_wake_only_for_their_file(log_dir: Path) -> None:
    store = FileStore(log_dir, fsync=False, tail_poll_seconds=30)
    tails = [collect_tail(store, stream) for stream in (RAW, RAW, "parsed")]
    time.sleep(0.3)
    observer = HUB._observer
    assert observer is not None and len(observer.emitters) >= 1
    watched = [e for e in observer.emitters if os.path.abspath(e.watch.path) == os.path.abspath(log_dir)]
    assert len(watched) == 1
    store.append(RAW, "t", {})
    assert wait_for(lambda: len(tails[0][0]) == 1 and len(tails[1][0]) == 1)
    assert tails[2][0] == []
    store.append("parsed", "t", {})
    assert wait_for(lambda: len(tails[2][0]) == 1)
    for _, _, _, stop, thread in tails:
        stop.set()
        thread.join(2)


def test_an_append_to_a_stream_nobody_here_follows_wakes_nothing(log_dir: Path, monkeypatch) -> None:
    """The web appends one `inbox` event per webhook and follows other streams of the same directory: those appends
    must not reach its watch handlers (each costs a thread hop and the GIL, on every web process)."""
    from autosig.events import tailing

    seen: list[str] = []
    handler = tailing._Handler.on_any_event
    monkeypatch.setattr(tailing._Handler, "on_any_event",
                        lambda self, event: (seen.append(os.path.basename(event.src_path)), handler(self, event)))  # fmt: skip
    store = FileStore(log_dir, fsync=False, tail_poll_seconds=30)
    store.append("inbox", "t", {})
    store.append(RAW, "t", {})
    events, _, _, stop, thread = collect_tail(store)
    assert wait_for(lambda: len(events) == 1)
    time.sleep(0.3)
    seen.clear()
    for _ in range(5):
        store.append("inbox", "t", {})
    store.append(RAW, "t", {})
    assert wait_for(lambda: len(events) == 2)  # the followed one still wakes at once
    time.sleep(0.2)
    assert [name for name in seen if name.startswith("inbox")] == []
    stop.set()
    thread.join(2)


def test_after_a_replacement_the_new_file_s_appends_wake_the_tail(log_dir: Path, tmp_path: Path) -> None:
    """A watch on a file stays with the file it was placed on: after a restore moved another file into place, the
    tail must be woken by appends to the new one, not only by its 30 s poll."""
    store = FileStore(log_dir, fsync=False, tail_poll_seconds=30)
    store.append(RAW, "t", {})
    events, resets, _, stop, thread = collect_tail(store)
    assert wait_for(lambda: len(events) == 1)
    other_dir = tmp_path / "other"
    FileStore(other_dir, fsync=False).append_many(RAW, [("t", {"other": i}, None, None) for i in range(2)])
    os.replace(raw_file(other_dir), raw_file(log_dir))
    assert wait_for(lambda: len(events) == 3) and resets == [1]
    time.sleep(0.3)
    for n in range(3):
        child_proc = child("append-one", f"file:{log_dir}", RAW, "")
        read_line(child_proc)
        assert wait_for(lambda n=n: len(events) == 4 + n, timeout=2.0), f"append {n} after the replacement unseen"
    stop.set()
    thread.join(2)


def test_truncated_file_makes_the_reader_start_over(log_dir: Path) -> None:
    store = FileStore(log_dir, fsync=False, tail_poll_seconds=0.05)
    events_written = store.append_many(RAW, [("t", {"i": i}, None, None) for i in range(5)])
    events, resets, _, stop, thread = collect_tail(store)
    assert wait_for(lambda: len(events) == 5)
    keep = sum(len(e.line) for e in events_written[:2])
    os.truncate(raw_file(log_dir), keep)  # cut below what the reader has read
    assert wait_for(lambda: len(events) == 7)
    assert resets == [5]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 1, 2]
    stop.set()
    thread.join(2)


def test_replaced_file_makes_the_reader_start_over(log_dir: Path, tmp_path: Path) -> None:
    store = FileStore(log_dir, fsync=False)
    store.append_many(RAW, [("t", {"i": i}, None, None) for i in range(3)])
    events, resets, _, stop, thread = collect_tail(store)
    assert wait_for(lambda: len(events) == 3)
    # Another store's history, larger than the old file, moved into place (as a restore from backup would be).
    other_dir = tmp_path / "other"
    other = FileStore(other_dir, fsync=False)
    replacement = other.append_many(RAW, [("t", {"other": i, "pad": "x" * 50}, None, None) for i in range(4)])
    os.replace(raw_file(other_dir), raw_file(log_dir))
    assert wait_for(lambda: len(events) == 7)
    assert resets == [3]
    assert [e.line for e in events[3:]] == [e.line for e in replacement]
    # A writer notices the replacement too and continues the new file's chain.
    appended = store.append(RAW, "t", {"after": True})
    assert appended.seq == 5 and appended.prev == replacement[-1].hash
    audit(raw_file(log_dir).read_bytes())
    stop.set()
    thread.join(2)


def test_corrupt_line_is_reported_and_skipped(log_dir: Path) -> None:
    store = FileStore(log_dir, fsync=False)
    store.append_many(RAW, [("t", {"i": i}, None, None) for i in range(2)])
    with open(raw_file(log_dir), "ab") as f:
        f.write(b'{"seq":3, this is not json}\n')
    writer = FileStore(log_dir, fsync=False)
    fourth = writer.append(RAW, "t", {"i": 3}, key="after-corruption")
    assert fourth.seq == 4  # the corrupt line keeps its place in the numbering
    problems: list[Problem] = []
    assert [e.seq for e in store.read(RAW, on_problem=problems.append)] == [1, 2, 4]
    assert [(p.stream, p.line) for p in problems] == [(RAW, 3)]
    assert "invalid JSON" in problems[0].error
    events, _, tail_problems, stop, thread = collect_tail(store)
    assert wait_for(lambda: len(events) == 3)
    assert [(p.line) for p in tail_problems] == [3]
    stop.set()
    thread.join(2)
    with pytest.raises(RecordError, match="line 3"):
        list(store.read(RAW))


# --- failed writes and durability --------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["write", "fsync"])
def test_failed_write_leaves_no_partial_line(log_dir: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    store = FileStore(log_dir, fsync=True)
    store.append(RAW, "t", {"i": 0}, key="a")
    before = raw_file(log_dir).read_bytes()
    real_write, real_fsync = file_mod.write_all, file_mod.fsync_fd

    def half_then_enospc(fd: int, data: bytes) -> None:
        real_write(fd, data[: len(data) // 2 + 7])  # part-way through a line
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def eio(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    if where == "write":
        monkeypatch.setattr(file_mod, "write_all", half_then_enospc)
    else:
        monkeypatch.setattr(file_mod, "fsync_fd", eio)
    with pytest.raises(StoreError) as info:
        store.append_many(RAW, [("t", {"i": i, "pad": "p" * 100}, None, f"k{i}") for i in range(1, 4)])
    assert "No space left" in str(info.value) or "Input/output" in str(info.value)
    monkeypatch.setattr(file_mod, "write_all", real_write)
    monkeypatch.setattr(file_mod, "fsync_fd", real_fsync)
    assert raw_file(log_dir).read_bytes() == before
    assert [e.seq for e in store.read(RAW)] == [1]
    assert store.get_by_key(RAW, "k1") is None
    retried = store.append_many(RAW, [("t", {"i": i}, None, f"k{i}") for i in range(1, 4)])
    assert [e.seq for e in retried] == [2, 3, 4]
    audit(raw_file(log_dir).read_bytes())
    assert not list(log_dir.glob("*.torn-*"))


def test_fsync_is_on_by_default_once_per_batch(log_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = file_mod.fsync_fd
    monkeypatch.setattr(file_mod, "fsync_fd", lambda fd: (calls.append(fd), real(fd)))
    store = open_store(f"file:{log_dir}")
    store.append(RAW, "t", {})  # creates the file (and fsyncs the directory)
    calls.clear()
    store.append_many(RAW, [("t", {"i": i}, None, None) for i in range(10)])
    assert len(calls) == 1
    quiet = FileStore(log_dir, fsync=False)
    calls.clear()
    quiet.append_many(RAW, [("t", {"i": i}, None, None) for i in range(10)])
    assert calls == []


def test_writers_killed_mid_stream_leave_an_intact_chain(log_dir: Path) -> None:
    url = f"file:{log_dir}"
    for round_ in range(3):
        procs = [child("loop", url) for _ in range(2)]
        for p in procs:
            assert read_line(p) == "started"
        time.sleep(0.15 + 0.05 * round_)
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait(10)
    data = raw_file(log_dir).read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    records = audit(complete)
    assert len(records) > 0
    after = FileStore(log_dir, fsync=False).append(RAW, "t", {"after": "kills"})
    assert after.seq == len(records) + 1
    audit(raw_file(log_dir).read_bytes())


def test_lease_is_released_when_the_holder_is_killed(log_dir: Path) -> None:
    url = f"file:{log_dir}"
    proc = child("lease", url)
    try:
        assert read_line(proc) == "held"
        store = FileStore(log_dir, fsync=False)
        holder = store.try_acquire_lease("worker", "waiting worker")
        assert holder is not None and f"pid {proc.pid}" in holder and "test worker" in holder
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert wait_for(lambda: store.try_acquire_lease("worker", "waiting worker") is None, timeout=2)
    finally:
        proc.kill()
        proc.wait(10)


def test_last_seq_reads_only_the_end(log_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(log_dir, fsync=False)
    store.append_many(RAW, [("t", {"pad": "x" * 1000}, None, None) for _ in range(500)])
    size = raw_file(log_dir).stat().st_size
    read_sizes: list[int] = []
    import builtins

    real_open = builtins.open

    class Counting:
        def __init__(self, f) -> None:
            self._f = f

        def __getattr__(self, name):
            return getattr(self._f, name)

        def read(self, n=-1):
            data = self._f.read(n)
            read_sizes.append(len(data))
            return data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._f.close()

    monkeypatch.setattr(builtins, "open", lambda *a, **k: Counting(real_open(*a, **k)))
    assert store.last_seq(RAW) == 500
    assert sum(read_sizes) < size / 5


def test_failed_quarantine_keeps_the_torn_bytes_in_place(log_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(log_dir, fsync=False)
    store.append(RAW, "t", {})
    with open(raw_file(log_dir), "ab") as f:
        f.write(b'{"seq":2,"torn')
    before = raw_file(log_dir).read_bytes()
    real_write = file_mod.write_all

    def enospc(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(file_mod, "write_all", enospc)
    with pytest.raises(StoreError):
        FileStore(log_dir, fsync=False).append(RAW, "t", {"n": 2})
    assert raw_file(log_dir).read_bytes() == before
    assert not list(log_dir.glob("*.torn-*"))
    monkeypatch.setattr(file_mod, "write_all", real_write)
    assert FileStore(log_dir, fsync=False).append(RAW, "t", {"n": 2}).seq == 2
    assert [p.read_bytes() for p in log_dir.glob("*.torn-*")] == [b'{"seq":2,"torn']


def test_tail_of_a_store_whose_directory_does_not_exist_yet(tmp_path: Path) -> None:
    later = tmp_path / "created-later"
    reader = FileStore(later, fsync=False, tail_poll_seconds=0.1)
    events, _, _, stop, thread = collect_tail(reader)
    time.sleep(0.3)
    assert events == [] and not later.exists()
    FileStore(later, fsync=False).append(RAW, "t", {})
    assert wait_for(lambda: len(events) == 1)
    FileStore(later, fsync=False).append(RAW, "t", {})
    assert wait_for(lambda: len(events) == 2)
    stop.set()
    thread.join(2)
    assert not thread.is_alive()


def test_failed_write_that_cannot_be_rolled_back_is_repaired_by_the_next_append(
    log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worst case (the disk refuses even the truncate): the next append quarantines the partial line, and keys make
    the retry of the half-written batch safe."""
    store = FileStore(log_dir, fsync=False)
    store.append(RAW, "t", {"i": 0}, key="k0")
    real_write, real_truncate = file_mod.write_all, os.ftruncate
    items = [("t", {"i": i, "pad": "p" * 100}, None, f"k{i}") for i in range(1, 4)]
    first_line_len = len(store.append_many("parsed", items[:1])[0].line)  # the size of one such line elsewhere

    def partial(fd: int, data: bytes) -> None:
        real_write(fd, data[: first_line_len + 10])  # one whole line, then part of the next
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    def refuse(fd: int, length: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(file_mod, "write_all", partial)
    monkeypatch.setattr(file_mod.os, "ftruncate", refuse)
    with pytest.raises(StoreError):
        store.append_many(RAW, items)
    monkeypatch.setattr(file_mod.os, "ftruncate", real_truncate)
    monkeypatch.setattr(file_mod, "write_all", real_write)
    assert [e.seq for e in store.read(RAW)] == [1, 2]  # readers never see the partial line
    retried = store.append_many(RAW, items)
    assert [e.seq for e in retried] == [2, 3, 4]  # k1 made it before the failure; k2 and k3 are appended now
    torn = list(log_dir.glob("alerts_raw.jsonl.torn-*"))
    assert len(torn) == 1 and len(torn[0].read_bytes()) == 10
    audit(raw_file(log_dir).read_bytes())


def _tail_in_forked_child(directory: str, ready, result) -> None:
    store = FileStore(directory, fsync=False, tail_poll_seconds=30)  # only an inotify wake-up can be quick enough
    stop = threading.Event()
    ready.set()
    for event in store.tail(RAW, after=1, stop=stop):
        result.put(event.seq)
        return


def test_tailing_works_in_a_child_forked_from_a_tailing_process(log_dir: Path) -> None:
    import multiprocessing

    store = FileStore(log_dir, fsync=False, tail_poll_seconds=30)
    store.append(RAW, "t", {})
    events, _, _, stop, thread = collect_tail(store)  # the parent's observer is running when it forks
    assert wait_for(lambda: len(events) == 1)
    ctx = multiprocessing.get_context("fork")
    ready, result = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_tail_in_forked_child, args=(str(log_dir), ready, result))
    proc.start()
    try:
        assert ready.wait(10)
        time.sleep(0.5)
        store.append(RAW, "t", {})
        assert result.get(timeout=2) == 2
        assert wait_for(lambda: len(events) == 2)
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
        stop.set()
        thread.join(2)


def test_tails_starting_and_stopping_while_events_flow_never_deadlock(log_dir: Path) -> None:
    """Subscribing and unsubscribing race with wake-ups dispatched on the observer's thread."""
    store = FileStore(log_dir, fsync=False, tail_poll_seconds=30)
    store.append(RAW, "t", {})
    writing = threading.Event()
    writing.set()

    def writer() -> None:
        while writing.is_set():
            store.append(RAW, "t", {})
            time.sleep(0.001)

    failures: list[str] = []

    def churn() -> None:
        for _ in range(15):
            events, _, _, stop, thread = collect_tail(store)
            if not wait_for(lambda events=events: len(events) >= 1, timeout=5):
                failures.append("no event")
            stop.set()
            thread.join(5)
            if thread.is_alive():
                failures.append("tail did not stop")
                return

    threads = [threading.Thread(target=writer, daemon=True)] + [
        threading.Thread(target=churn, daemon=True) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads[1:]:
        t.join(60)
    writing.clear()
    threads[0].join(5)
    assert failures == [] and not any(t.is_alive() for t in threads)
    assert os.path.abspath(log_dir) not in HUB._dirs


class _StoreMachine(RuleBasedStateMachine):
    """Two writers (separate store objects, as two processes would be), torn writes and reopens, against a model."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="autosig-machine-"))
        self.stores = [FileStore(self.dir, fsync=False), FileStore(self.dir, fsync=False)]
        self.seq_of: dict[str, int] = {}  # key -> seq of its event
        self.count = 0
        self.torn: list[bytes] = []

    @rule(
        writer=st.integers(0, 1),
        keys=st.lists(st.one_of(st.none(), st.sampled_from([f"k{i}" for i in range(12)])), min_size=1, max_size=4),
    )
    def append(self, writer: int, keys: list[str | None]) -> None:
        events = self.stores[writer].append_many(RAW, [("t", {"n": i}, None, key) for i, key in enumerate(keys)])
        for key, event in zip(keys, events, strict=True):
            if key is not None and key in self.seq_of:
                assert event.seq == self.seq_of[key]
            else:
                self.count += 1
                assert event.seq == self.count
                if key is not None:
                    self.seq_of[key] = event.seq

    @rule(garbage=st.binary(min_size=1, max_size=30).filter(lambda b: b"\n" not in b))
    def tear(self, garbage: bytes) -> None:
        with open(raw_file(self.dir), "ab") as f:
            f.write(garbage)
        self.torn.append(garbage)

    @rule(writer=st.integers(0, 1))
    def reopen(self, writer: int) -> None:
        self.stores[writer].close()
        self.stores[writer] = FileStore(self.dir, fsync=False)

    @invariant()
    def stream_is_intact(self) -> None:
        reader = FileStore(self.dir, fsync=False)
        events = list(reader.read(RAW))
        assert [e.seq for e in events] == list(range(1, self.count + 1))
        assert reader.last_seq(RAW) == self.count
        data = raw_file(self.dir).read_bytes() if raw_file(self.dir).exists() else b""
        audit(data[: data.rfind(b"\n") + 1])
        for key, seq in self.seq_of.items():
            found = reader.get_by_key(RAW, key)
            assert found is not None and found.seq == seq

    def teardown(self) -> None:
        for store in self.stores:
            store.close()
        # Every torn write ended up, in order, in quarantine files or is still at the end of the stream.
        quarantined = b"".join(p.read_bytes() for p in sorted(self.dir.glob("*.torn-*")))
        data = raw_file(self.dir).read_bytes() if raw_file(self.dir).exists() else b""
        assert quarantined + data[data.rfind(b"\n") + 1 :] == b"".join(self.torn)
        shutil.rmtree(self.dir, ignore_errors=True)


TestStoreMachine = _StoreMachine.TestCase
TestStoreMachine.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)


def test_keys_never_include_a_torn_tail(log_dir: Path) -> None:
    store = FileStore(log_dir, fsync=False)
    store.append_many("parsed", [("alert.parsed", {"raw_seq": n}, None, f"parse:{n}:1") for n in (1, 2, 3)])
    with open(log_dir / "alerts_parsed.jsonl", "ab") as f:
        f.write(b'{"seq":4,"id":"x","type":"alert.parsed","key":"parse:99:1","ts":"2026-')  # torn: never written
    assert list(store.keys("parsed", "parse:")) == [(1, "parse:1:1"), (2, "parse:2:1"), (3, "parse:3:1")]
    store.close()
