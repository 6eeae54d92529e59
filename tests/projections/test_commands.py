"""`autosig tail` and `autosig stats` against a real file store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from webapp.conftest import Feed, sig

from autosig.cli import main
from autosig.events import open_store

ROOT = Path(__file__).resolve().parents[2]


def _fill(log_dir: Path) -> None:
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.started(stale=90)
    feed.completed()
    feed.alert("BTO 2 SPY 600c 1/17 @ 1.25", signals=[sig("SPY")])
    feed.alert("gm\x1b[31m red \x07", kind="non_signal", reason="chatter")
    feed.alert("BTO something", kind="unparseable", reason="no strike")
    feed.failed()
    store.close()


def test_stats_counts_and_ingestion_state(log_dir, monkeypatch, capsys):
    _fill(log_dir)
    monkeypatch.setenv("AUTOSIG_LOG_DIR", str(log_dir))
    assert main(["stats", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["types"]["raw"] == {"alert.received": 3}
    assert out["types"]["worker"] == {"worker.started": 1, "poll.completed": 1, "poll.failed": 1}
    assert out["parse_stats"]["1"] == {"signal": 1, "non_signal": 1, "unparseable": 1, "total": 3}
    assert out["status"]["worker"]["consecutive_failures"] == 1
    assert main(["stats"]) == 0
    text = capsys.readouterr().out
    assert "ingestion: fresh [amber] Whop rejects the token since" in text
    assert "signal       1" in text and "alert.received" in text


def test_tail_prints_readable_escaped_lines(log_dir):
    _fill(log_dir)
    env = {"AUTOSIG_LOG_DIR": str(log_dir), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "autosig", "tail", "--no-follow", "-n", "5"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3 + 3 + 3
    assert any("alert.parsed" in line and "signal: open SPY 600C 2027-01-17 @ 1.25" in line for line in lines)
    assert any("poll.failed" in line and "auth (HTTP 401)" in line for line in lines)
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    assert any("gm\\x1b[31m red \\x07" in line for line in lines)


def test_tail_follows_new_events(log_dir):
    _fill(log_dir)
    env = {"AUTOSIG_LOG_DIR": str(log_dir), "PATH": "/usr/bin:/bin", "AUTOSIG_TAIL_POLL_SECONDS": "0.05"}
    proc = subprocess.Popen([sys.executable, "-m", "autosig", "tail", "--stream", "raw", "-n", "1"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the last existing event: the tail is running
        assert first.startswith("raw") and " 3 " in first
        store = open_store(f"file:{log_dir}", writer="test", fsync=False)
        Feed(store).alert("BTO FOLLOWED 1c @ 1", signals=[sig("FOLLOWED")])
        store.close()
        line = proc.stdout.readline()
        assert line.startswith("raw") and "BTO FOLLOWED 1c @ 1" in line and " 4 " in line
    finally:
        proc.terminate()
        proc.wait(10)
