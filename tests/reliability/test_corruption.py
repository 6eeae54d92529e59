"""A corrupt line in the middle of a stream — there before the web started, or arriving while it follows: the web
keeps serving and names each under `problems`, `autosig verify` names it, and nothing else is skipped: every other
alert is in the projections, in both gunicorn worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from soak.soak_harness import FILES, ROOT, Web
from webapp.conftest import Feed, sig
from worker.worker_harness import wait_until

from autosig.events import open_store

N = 40
RAW_BAD, PARSED_BAD = 10, 25  # line numbers (= seqs) corrupted in place


def corrupt_in_place(path: Path, line_no: int) -> None:
    """Damages one line without changing its length (as a bad sector or a stray write would)."""
    lines = path.read_bytes().splitlines(keepends=True)
    line = lines[line_no - 1]
    lines[line_no - 1] = b"#" + line[1:40] + b"\x00" + line[41:]
    path.write_bytes(b"".join(lines))


def verify(log_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUTOSIG_LOG_DIR": str(log_dir), "AUTOSIG_STORE_URL": ""}
    return subprocess.run([sys.executable, "-m", "autosig", "verify", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def alert_seqs(web: Web) -> dict[str, set[int]]:
    """raw seqs of /api/alerts, per gunicorn worker process."""
    return {pid: {a["raw_seq"] for a in r.json()["alerts"]}
            for pid, r in web.from_each_worker("/api/alerts?limit=500").items()}


def problems(web: Web) -> dict[str, set[tuple[str, int]]]:
    return {pid: {(p["stream"], p["line"]) for p in r.json()["problems"]}
            for pid, r in web.from_each_worker("/api/status").items()}


def test_corrupt_lines_are_named_and_nothing_else_is_skipped(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.started(stale=600)
    feed.completed()
    pairs = [feed.alert(f"BTO T{i} {100 + i}c @ 1.{i}", signals=[sig(f"T{i}")]) for i in range(N)]
    store.close()
    corrupt_in_place(log_dir / FILES["raw"], RAW_BAD)
    corrupt_in_place(log_dir / FILES["parsed"], PARSED_BAD)

    done = verify(log_dir, "--stream", "raw")
    assert done.returncode == 1 and f"line {RAW_BAD}" in done.stdout + done.stderr, done.stdout + done.stderr
    done = verify(log_dir, "--stream", "parsed")
    assert done.returncode == 1 and f"line {PARSED_BAD}" in done.stdout + done.stderr, done.stdout + done.stderr
    assert verify(log_dir, "--stream", "worker").returncode == 0

    raw_of_bad_parse = next(raw for raw, parsed in pairs if parsed == PARSED_BAD)
    expected = {raw for raw, _ in pairs} - {RAW_BAD}  # an alert whose parse is unreadable is listed, unparsed
    web = Web(log_dir, tmp_path / "web.log")
    try:
        want = {("raw", RAW_BAD), ("parsed", PARSED_BAD)}
        wait_until(lambda: all(p == want for p in problems(web).values()), 30, 0.2, "both lines named")
        got = alert_seqs(web)
        assert all(seqs == expected for seqs in got.values()), [(sorted(s - expected), sorted(expected - s))
                                                                 for s in got.values()]
        kinds = {a["raw_seq"]: a["kind"] for a in web.get("/api/alerts?limit=500").json()["alerts"]}
        assert kinds[raw_of_bad_parse] is None and all(kinds[s] == "signal" for s in expected - {raw_of_bad_parse})
        tickers = {s["signal"]["ticker"] for s in web.get("/api/signals?limit=500").json()["signals"]}
        assert tickers == {f"T{i}" for i in range(N)} - {f"T{RAW_BAD - 1}", f"T{raw_of_bad_parse - 1}"}

        # while the web follows: a corrupt line arrives in each stream, then more alerts after it
        with open(log_dir / FILES["raw"], "ab") as f:
            f.write(b'{"seq":41,"id":"x","type":"alert.received" this is not JSON\n')
        with open(log_dir / FILES["parsed"], "ab") as f:
            f.write(b"\x00\xff garbage\n")
        store = open_store(f"file:{log_dir}", writer="test", fsync=False)
        feed = Feed(store)
        later = [feed.alert(f"STC LATE{i} 1c @ 2", signals=[sig(f"LATE{i}")]) for i in range(3)]
        store.close()
        want |= {("raw", N + 1), ("parsed", N + 1)}
        wait_until(lambda: all(p == want for p in problems(web).values()), 30, 0.2, "the new lines named")
        expected |= {raw for raw, _ in later}
        wait_until(lambda: all(s == expected for s in alert_seqs(web).values()), 30, 0.2, "alerts after the damage")
        assert web.get("/health").json() == {"status": "ok"} and web.get("/").status_code == 200
    finally:
        web.stop()
