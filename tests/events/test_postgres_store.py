"""The Postgres store: the shared store contract, plus what only Postgres has — lost connections, the expiring
worker lease, concurrent migrations, NOTIFY wake-ups, byte-identical copies to and from the file store.

Every test works in a schema of its own (dropped afterwards), so parallel sessions never share rows or locks."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psycopg
import pytest
from auditor import audit

from autosig.events import StoreError, open_store
from autosig.events.record import ZERO_HASH, decode, line_hash_ok
from events.contract import StoreContract
from events.pg_helpers import drop_schema, new_schema_name, schema_url, terminate, with_params

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.pg


@pytest.fixture
def url(pg_url):
    yield from schema_url(pg_url)


@pytest.fixture
def store(url):
    s = open_store(url, writer="test", fsync=False)
    yield s
    s.close()


class TestPostgresStoreContract(StoreContract):
    """The shared store contract, each test in a fresh schema of its own."""

    @pytest.fixture
    def store_url(self, pg_url):
        yield from schema_url(pg_url)

    def _behind_the_back(self, store, sql: str, *params) -> None:
        table = f'"{store.schema}".autosig_events'
        with psycopg.connect(store._conninfo, autocommit=True) as conn:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER autosig_events_append_only")
            conn.execute(sql.replace("{table}", table), params)
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER autosig_events_append_only")

    def corrupt_last_line(self, store, stream: str) -> None:
        self._behind_the_back(
            store,
            "UPDATE {table} SET line = overlay(line placing '['::bytea from position('\"data\":{'::bytea in line) + 7)"
            " WHERE stream = %s AND seq = (SELECT max(seq) FROM {table} WHERE stream = %s)",
            stream,
            stream,
        )

    def cut_history(self, store, stream: str, keep: int) -> None:
        self._behind_the_back(store, "DELETE FROM {table} WHERE stream = %s AND seq > %s", stream, keep)


def schema_of(url: str) -> str:
    return url.split("schema=")[1].split("&")[0]


def chain_ok(lines: list[bytes]) -> None:
    """An independent check: each line's own hash, contiguous seqs, prev links."""
    prev = ZERO_HASH
    for n, line in enumerate(lines, 1):
        ev = decode(line)
        assert line_hash_ok(line), f"line {n}: hash mismatch"
        assert ev.seq == n, f"line {n}: seq {ev.seq}"
        assert ev.prev == prev, f"line {n}: prev"
        prev = ev.hash


def run_child(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


# ---------------------------------------------------------------------------------------------- records and schema


def test_rows_hold_the_exact_line_bytes(store, url, pg_url):
    ev = store.append("raw", "alert.received", {"text": "BTO 2 SPY 600c 1/17 @ 1.25 é \u2028"}, key="whop:1:ab")
    with psycopg.connect(pg_url) as conn:
        row = conn.execute(
            f'SELECT seq, key, line FROM "{schema_of(url)}".autosig_events WHERE stream = %s', ("raw",)
        ).fetchone()
    assert row == (1, "whop:1:ab", ev.line)
    assert ev.line.endswith(b"\n") and line_hash_ok(ev.line)
    assert decode(ev.line) == ev


def test_postgres_scheme_alias_is_accepted(pg_url):
    schema = new_schema_name()
    alias = with_params(pg_url.replace("postgresql://", "postgres://", 1), schema=schema)
    try:
        with open_store(alias, writer="test", fsync=False) as s:
            assert s.append("worker", "worker.started", {}).seq == 1
            assert s.last_seq("worker") == 1
    finally:
        drop_schema(pg_url, schema)


def test_history_cannot_be_updated_or_deleted(store, url, pg_url):
    store.append("raw", "alert.received", {"n": 1})
    table = f'"{schema_of(url)}".autosig_events'
    with psycopg.connect(pg_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(f"UPDATE {table} SET line = 'x'::bytea")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(f"DELETE FROM {table}")
    assert store.last_seq("raw") == 1


def test_migration_is_versioned_and_idempotent(url, pg_url):
    from autosig.events import pg_schema

    schema = schema_of(url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert pg_schema.current_version(conn, schema) == 0
        assert pg_schema.migrate(conn, schema) == sorted(pg_schema.MIGRATIONS)
        assert pg_schema.migrate(conn, schema) == []
        versions = [r[0] for r in conn.execute(f'SELECT version FROM "{schema}".autosig_schema_version ORDER BY 1')]
        assert versions == sorted(pg_schema.MIGRATIONS)
        # A database migrated by a newer AutoSig is refused, not silently used.
        conn.execute(f'INSERT INTO "{schema}".autosig_schema_version (version) VALUES (%s)', (pg_schema.LATEST + 1,))
    with pytest.raises(StoreError, match="newer"):
        with open_store(url, writer="test", fsync=False) as s:
            s.last_seq("raw")


def test_concurrent_first_use_from_many_processes_migrates_once(url, pg_url):
    code = """
        import sys
        from autosig.events import open_store
        with open_store(sys.argv[1], writer="first-use", fsync=False) as s:
            s.append("worker", "worker.started", {"n": int(sys.argv[2])})
        print("ok")
    """
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), url, str(i)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in outs]
    schema = schema_of(url)
    with psycopg.connect(pg_url) as conn:
        versions = [r[0] for r in conn.execute(f'SELECT version FROM "{schema}".autosig_schema_version ORDER BY 1')]
    from autosig.events import pg_schema

    assert versions == sorted(pg_schema.MIGRATIONS)
    with open_store(url, writer="test", fsync=False) as s:
        lines = list(s.iter_lines("worker"))
    assert sorted(decode(x).data["n"] for x in lines) == list(range(6))
    chain_ok(lines)


# ---------------------------------------------------------------------------------------------- ordering and tailing


def test_concurrent_writers_commit_in_seq_order_and_a_follower_never_skips(url):
    """Four processes append at once while a tail follows: the follower sees 1..N with no gap and no repeat, and
    the chain is intact — seq order is commit order."""
    per_writer = 150
    code = """
        import sys
        from autosig.events import open_store
        with open_store(sys.argv[1], writer="w" + sys.argv[2], fsync=False) as s:
            for i in range(int(sys.argv[3])):
                if i % 3 == 0:
                    s.append_many("raw", [("t", {"w": sys.argv[2], "i": i}, None, None),
                                          ("t", {"w": sys.argv[2], "i": i, "b": 1}, None, None)])
                else:
                    s.append("raw", "t", {"w": sys.argv[2], "i": i})
    """
    follower = open_store(url, writer="follower", fsync=False, tail_poll_seconds=0.2)
    seen: list[int] = []
    stop = threading.Event()

    def follow():
        for ev in follower.tail("raw", stop=stop):
            seen.append(ev.seq)

    t = threading.Thread(target=follow, daemon=True)
    t.start()
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), url, str(w), str(per_writer)], cwd=ROOT)
        for w in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * 4
    expected = 4 * (per_writer + (per_writer + 2) // 3)
    deadline = time.monotonic() + 20
    while len(seen) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join(timeout=10)
    assert seen == list(range(1, expected + 1))
    chain_ok(list(follower.iter_lines("raw")))
    follower.close()


def test_notify_wakes_a_tail_long_before_its_poll_interval(url):
    with open_store(url, writer="test", fsync=False, tail_poll_seconds=30) as s:
        s.append("raw", "t", {"n": 0})
        got: list[tuple[int, float]] = []
        stop = threading.Event()

        def follow():
            for ev in s.tail("raw", stop=stop):
                got.append((ev.seq, time.monotonic()))
                if ev.seq == 2:
                    return

        t = threading.Thread(target=follow, daemon=True)
        t.start()
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [g[0] for g in got] == [1]
        time.sleep(0.3)  # the tail is now waiting on LISTEN with a 30 s backstop
        written = time.monotonic()
        with open_store(url, writer="other", fsync=False) as other:
            other.append("raw", "t", {"n": 1})
        t.join(timeout=10)
        assert [g[0] for g in got] == [1, 2]
        assert got[1][1] - written < 5  # generous: NOTIFY, not the 30 s poll


def test_poll_backstop_finds_rows_that_came_without_a_notification(url, pg_url):
    """A row that arrives without NOTIFY (a lost wake-up) is still found by the periodic poll by seq."""
    with open_store(url, writer="test", fsync=False, tail_poll_seconds=0.2) as s:
        s.append("raw", "t", {"n": 0})
        second = s.append("raw", "t", {"n": 1})
        got: list[int] = []
        stop = threading.Event()

        def follow():
            for ev in s.tail("raw", after=2, stop=stop):
                got.append(ev.seq)
                return

        t = threading.Thread(target=follow, daemon=True)
        t.start()
        time.sleep(0.3)
        from autosig.events.record import encode

        third = encode(3, "id-3", "t", None, "2026-01-01T00:00:00.000000Z", {"n": 2}, {}, second.hash)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                f'INSERT INTO "{schema_of(url)}".autosig_events (stream, seq, key, line) VALUES (%s, %s, %s, %s)',
                ("raw", 3, None, third.line),
            )
        t.join(timeout=10)
        stop.set()
        assert got == [3]


def test_tail_calls_on_reset_when_history_it_followed_was_replaced(url, pg_url):
    """A restore of an older or different log under a running web: rows at seqs already yielded change, so the
    tail says so and starts over from seq 1."""
    with open_store(url, writer="test", fsync=False, tail_poll_seconds=0.2) as s:
        for i in range(3):
            s.append("raw", "t", {"n": i})
        got: list[tuple[int, int]] = []
        resets: list[int] = []
        stop = threading.Event()

        def follow():
            for ev in s.tail("raw", stop=stop, on_reset=lambda: resets.append(len(got))):
                got.append((ev.seq, ev.data["n"]))

        t = threading.Thread(target=follow, daemon=True)
        t.start()
        deadline = time.monotonic() + 10
        while len(got) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        table = f'"{schema_of(url)}".autosig_events'
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER autosig_events_append_only")
            conn.execute(f"DELETE FROM {table} WHERE seq >= 2")
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER autosig_events_append_only")
        s.append("raw", "t", {"n": 10})
        s.append("raw", "t", {"n": 11})
        deadline = time.monotonic() + 10
        while len(got) < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()
        t.join(timeout=10)
    assert resets == [3]
    assert got == [(1, 0), (2, 1), (3, 2), (1, 0), (2, 10), (3, 11)]


# ---------------------------------------------------------------------------------------------- lost connections


def test_terminated_connections_mid_run_lose_and_duplicate_nothing(url, pg_url):
    """A writer process appends keyed batches (retrying on StoreError, as the worker does) and a tail follows, while
    every session of the schema is terminated again and again. Afterwards: every key exactly once, seqs 1..N, an
    intact chain, and the follower saw exactly the stored events."""
    code = """
        import sys, time
        from autosig.events import StoreError, open_store
        s = open_store(sys.argv[1], writer="writer", fsync=False)
        failures = 0
        for i in range(int(sys.argv[2])):
            batch = [("alert.received", {"i": i, "j": j}, None, f"k:{i}:{j}") for j in range(3)]
            while True:
                try:
                    s.append_many("raw", batch)
                    s.append("worker", "poll.completed", {"i": i})
                    break
                except StoreError:
                    failures += 1
                    time.sleep(0.05)
        s.close()
        print(failures)
    """
    n = 120
    follower = open_store(url, writer="follower", fsync=False, tail_poll_seconds=0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def follow():
        for ev in follower.tail("raw", stop=stop):
            seen.append(ev.line)

    t = threading.Thread(target=follow, daemon=True)
    t.start()
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), url, str(n)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    kills = 0
    while proc.poll() is None:
        time.sleep(0.15)
        kills += terminate(pg_url, schema_of(url))
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert kills >= 3, "the test did not manage to terminate sessions mid-run"
    deadline = time.monotonic() + 20
    while len(seen) < 3 * n and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join(timeout=10)
    raw = list(follower.iter_lines("raw"))
    chain_ok(raw)
    keys = [decode(x).key for x in raw]
    assert sorted(keys) == sorted(f"k:{i}:{j}" for i in range(n) for j in range(3))
    assert seen == raw
    worker = list(follower.iter_lines("worker"))
    chain_ok(worker)
    # Unkeyed appends are not duplicated by the store's own reconnect either.
    assert [decode(x).data["i"] for x in worker] == list(range(n))
    follower.close()


class _LoseReplyAfterCommit:
    """Wraps the writer connection so that COMMIT really commits and then the connection dies before the reply is
    seen — the one case where an append's outcome is unknown."""

    def __init__(self, conn: psycopg.Connection, pg_url: str, commit_first: bool) -> None:
        self._conn = conn
        self._pg_url = pg_url
        self._commit_first = commit_first

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def commit(self) -> None:
        if self._commit_first:
            self._conn.commit()
        with psycopg.connect(self._pg_url, autocommit=True) as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", (self._conn.info.backend_pid,))
        if not self._commit_first:
            self._conn.commit()  # raises: the session is gone, the transaction rolled back
        raise psycopg.OperationalError("connection lost during COMMIT (simulated reply loss)")


@pytest.mark.parametrize("committed", [True, False])
def test_an_append_whose_commit_reply_was_lost_is_neither_lost_nor_doubled(url, pg_url, committed):
    with open_store(url, writer="test", fsync=False) as s:
        s.append("worker", "worker.started", {})
        real = s._writer_conn()
        s._wconn = _LoseReplyAfterCommit(real, pg_url, commit_first=committed)
        ev = s.append("worker", "poll.failed", {"reason": "timeout"})  # unkeyed: only the store can tell
        lines = list(s.iter_lines("worker"))
    assert [decode(x).type for x in lines] == ["worker.started", "poll.failed"]
    assert lines[1] == ev.line
    chain_ok(lines)


def test_database_down_raises_store_error_without_the_password(pg_url):
    down = "postgresql://autosig:s3cret-Pa55@127.0.0.1:1/nothing?schema=t_down"
    s = open_store(down, writer="test", fsync=False)
    with pytest.raises(StoreError) as info:
        s.append("worker", "poll.failed", {"reason": "store"})
    assert "s3cret-Pa55" not in str(info.value)
    assert "127.0.0.1" in str(info.value)
    with pytest.raises(StoreError):
        s.last_seq("raw")
    assert "s3cret-Pa55" not in repr(s)


def test_a_retry_after_store_error_does_not_double_append(url, pg_url):
    """The database goes away during COMMIT and stays away for the whole call: StoreError. The caller (the worker)
    retries the same append later; the store finds it did commit and returns it instead of appending again."""
    with open_store(url, writer="test", fsync=False) as s:
        s.append("worker", "worker.started", {})
        real = s._writer_conn()
        s._wconn = _LoseReplyAfterCommit(real, pg_url, commit_first=True)
        good_conninfo = s._conninfo
        s._conninfo = "postgresql://postgres@127.0.0.1:1/nothing"  # every reconnect fails for now
        with pytest.raises(StoreError):
            s.append("worker", "poll.completed", {"new": 1})
        s._conninfo = good_conninfo
        again = s.append("worker", "poll.completed", {"new": 1})
        lines = list(s.iter_lines("worker"))
    assert [decode(x).type for x in lines] == ["worker.started", "poll.completed"]
    assert again.line == lines[1]


# ---------------------------------------------------------------------------------------------- expiring leases


def test_lease_is_exclusive_renewed_and_taken_over_after_expiry(url):
    a = open_store(url, writer="worker", fsync=False, lease_seconds=1.5)
    b = open_store(url, writer="worker", fsync=False, lease_seconds=1.5)
    try:
        assert a.try_acquire_lease("worker", "worker A") is None
        held = b.try_acquire_lease("worker", "worker B")
        assert held is not None and "worker A" in held and f"pid {os.getpid()}" in held and "since" in held
        for _ in range(4):  # renewed by its holder: never expires while renewed
            time.sleep(0.6)
            assert a.try_acquire_lease("worker", "worker A") is None
            assert b.try_acquire_lease("worker", "worker B") is not None
        time.sleep(2.0)  # A stops renewing
        assert b.try_acquire_lease("worker", "worker B") is None
        described = a.try_acquire_lease("worker", "worker A")
        assert described is not None and "worker B" in described
        b.release_lease("worker")
        assert a.try_acquire_lease("worker", "worker A") is None
    finally:
        a.close()
        b.close()


def test_lease_of_a_killed_worker_expires_and_is_taken_over(url):
    code = """
        import sys, time
        from autosig.events import open_store
        s = open_store(sys.argv[1], writer="worker", fsync=False, lease_seconds=2)
        assert s.try_acquire_lease("worker", "child worker") is None
        print("held", flush=True)
        time.sleep(60)
    """
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), url], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "held"
        with open_store(url, writer="worker", fsync=False, lease_seconds=2) as s:
            holder = s.try_acquire_lease("worker", "parent worker")
            assert holder is not None and "child worker" in holder and f"pid {child.pid}" in holder
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            started = time.monotonic()
            while s.try_acquire_lease("worker", "parent worker") is not None:
                assert time.monotonic() - started < 10
                time.sleep(0.2)
            assert time.monotonic() - started > 0.5  # it waited for the expiry, it did not take a live lease
    finally:
        child.kill()
        child.wait()


def test_closing_the_store_releases_the_lease_at_once(url):
    a = open_store(url, writer="worker", fsync=False, lease_seconds=60)
    b = open_store(url, writer="worker", fsync=False, lease_seconds=60)
    try:
        assert a.try_acquire_lease("worker", "A") is None
        assert b.try_acquire_lease("worker", "B") is not None
        a.close()
        assert b.try_acquire_lease("worker", "B") is None
    finally:
        b.close()


def test_a_lease_lasts_what_its_holder_asks_unless_the_url_fixes_it(url):
    with open_store(url, writer="w", fsync=False) as s:
        assert s.try_acquire_lease("worker", "w", seconds=45) is None
        assert 40 < s.lease_seconds_left("worker") <= 45
        with psycopg.connect(s._conninfo, autocommit=True) as conn:
            (left,) = conn.execute(
                f'SELECT extract(epoch FROM expires_at - now()) FROM "{s.schema}".autosig_leases WHERE name = %s',
                ("worker",),
            ).fetchone()
        assert 40 < float(left) <= 45
    with open_store(with_params(url, lease_seconds=7), writer="w", fsync=False) as s:
        assert s.try_acquire_lease("executor", "e", seconds=45) is None
        assert 0 < s.lease_seconds_left("executor") <= 7


# ---------------------------------------------------------------------------------------------- copy and export


def _fill(store, n: int = 40) -> None:
    for i in range(n):
        store.append("raw", "alert.received", {"i": i, "text": f"BTO {i} SPY 600c"}, key=f"whop:{i}:x")
        store.append("parsed", "alert.parsed", {"raw_seq": i + 1}, key=f"parse:{i + 1}:1")
    store.append("worker", "poll.completed", {"new": n})


def _digest(lines) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line)
    return h.hexdigest()


def test_copy_file_to_postgres_and_back_is_byte_identical(url, tmp_path):
    src_dir, back_dir = tmp_path / "src", tmp_path / "back"
    with open_store(f"file:{src_dir}", writer="test", fsync=False) as src:
        _fill(src)
    env = {**os.environ, "AUTOSIG_FSYNC": "never"}
    first = subprocess.run(
        [sys.executable, "-m", "autosig", "copy", "--from", f"file:{src_dir}", "--to", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    assert "raw: 40 events copied and verified" in first.stdout
    second = subprocess.run(
        [sys.executable, "-m", "autosig", "copy", "--from", url, "--to", f"file:{back_dir}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    for name in ("alerts_raw.jsonl", "alerts_parsed.jsonl", "worker.jsonl"):
        assert (back_dir / name).read_bytes() == (src_dir / name).read_bytes()
    # The Postgres side is usable afterwards: appends continue the copied chain.
    with open_store(url, writer="test", fsync=False) as pg:
        pg.append("raw", "alert.received", {"i": 99}, key="whop:99:x")
        assert pg.append("raw", "alert.received", {"i": 0}, key="whop:0:x").seq == 1  # keys came along
        lines = list(pg.iter_lines("raw"))
    chain_ok(lines)
    assert len(lines) == 41


def test_copy_refuses_a_non_empty_target_and_a_broken_source(url, tmp_path):
    with open_store(url, writer="test", fsync=False) as pg:
        pg.append("worker", "worker.started", {})
    src = tmp_path / "src"
    with open_store(f"file:{src}", writer="test", fsync=False) as f:
        _fill(f, 3)
    env = {**os.environ, "AUTOSIG_FSYNC": "never"}
    refused = subprocess.run(
        [sys.executable, "-m", "autosig", "copy", "--from", f"file:{src}", "--to", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert refused.returncode == 1
    assert "not empty" in refused.stderr and "worker (1 events)" in refused.stderr
    # A tampered line in the source: nothing is copied.
    raw = src / "alerts_raw.jsonl"
    lines = raw.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"BTO 1", b"BTO 9")
    raw.write_bytes(b"".join(lines))
    empty = tmp_path / "empty"
    broken = subprocess.run(
        [sys.executable, "-m", "autosig", "copy", "--from", f"file:{src}", "--to", f"file:{empty}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert broken.returncode == 1
    assert "raw does not verify at line 2" in broken.stderr
    assert not (empty / "alerts_parsed.jsonl").exists()


def test_import_lines_refuses_a_broken_chain_and_writes_nothing(store):
    with pytest.raises(StoreError, match="line 2"):
        from autosig.events.record import encode

        a = encode(1, "a", "t", None, "2026-01-01T00:00:00.000000Z", {}, {}, ZERO_HASH)
        b = encode(2, "b", "t", None, "2026-01-01T00:00:00.000000Z", {}, {}, "f" * 64)
        store.import_lines("raw", [a.line, b.line])
    assert store.last_seq("raw") == 0


def test_export_from_postgres_passes_the_independent_auditor_and_equals_the_file_store(url, tmp_path):
    """`autosig export` on Postgres: stdout checked by the stdlib-only auditor, and byte-identical to the file
    store's stream after a copy; events appended on Postgres itself also audit."""
    from autosig.commands.copy import copy_store

    src_dir = tmp_path / "src"
    with open_store(f"file:{src_dir}", writer="test", fsync=False) as src, open_store(url, fsync=False) as pg:
        _fill(src, 25)
        copy_store(src, pg)
        pg.append("worker", "worker.stopped", {"reason": "SIGTERM", "text": "é 🚀 \u2028"})
        src.append("worker", "worker.stopped", {"other": "bytes"})
    for stream, name in (("raw", "alerts_raw.jsonl"), ("parsed", "alerts_parsed.jsonl"), ("worker", "worker.jsonl")):
        out = subprocess.run(
            [sys.executable, "-m", "autosig", "export", "--stream", stream, "--store", url],
            cwd=ROOT,
            capture_output=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        records = audit(out.stdout)
        if stream == "worker":
            file_lines = (src_dir / name).read_bytes().splitlines(keepends=True)
            assert out.stdout.startswith(file_lines[0]) and len(records) == 2
            assert records[1]["data"]["text"] == "é 🚀 \u2028" and records[1]["prev"] == records[0]["hash"]
        else:
            assert out.stdout == (src_dir / name).read_bytes()
            assert len(records) == 25


def test_a_dropped_schema_is_a_store_error_once_then_recreated(store, url, pg_url):
    """A restore that drops the tables under running processes: the writer gets StoreError (reported as reason
    `store`, never a crash), then the next call migrates again and continues on the new, empty log."""
    store.append("worker", "worker.started", {})
    assert store.last_seq("worker") == 1
    drop_schema(pg_url, schema_of(url))
    with pytest.raises(StoreError, match="does not exist"):
        store.append("worker", "poll.completed", {})
    assert store.append("worker", "poll.completed", {}).seq == 1
    with pytest.raises(StoreError):
        drop_schema(pg_url, schema_of(url))
        store.last_seq("worker")
    assert store.last_seq("worker") == 0
