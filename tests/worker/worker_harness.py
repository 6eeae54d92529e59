"""Runs the real worker (`python main.py`) as a subprocess against an in-process simulator, and reads its streams."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import waiting

from autosig.events.record import ZERO_HASH, line_hash_ok

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "whop-tok-Zq8XvN3mK2pL9sD4"  # distinctive, so a grep for it cannot match anything by chance
FILES = {"raw": "alerts_raw.jsonl", "parsed": "alerts_parsed.jsonl", "worker": "worker.jsonl"}


def wait_until(
    predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.02, what: str = ""
) -> object:
    # processes start slowly on a loaded machine: a longer default than the in-process tests'
    return waiting.wait_until(predicate, timeout, interval, what)


def events(log_dir: Path, stream: str) -> list[dict]:
    """Complete lines of a stream as dicts (a torn tail is ignored, as readers do)."""
    path = log_dir / FILES[stream]
    if not path.exists():
        return []
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1
    return [orjson.loads(line) for line in data[:cut].splitlines()]


def of_type(log_dir: Path, stream: str, *types: str) -> list[dict]:
    return [e for e in events(log_dir, stream) if e["type"] in types]


def verify_chain(log_dir: Path, stream: str) -> int:
    """Asserts seq continuity and the hash chain of a stream; returns its event count."""
    path = log_dir / FILES[stream]
    if not path.exists():
        return 0
    prev = ZERO_HASH
    lines = path.read_bytes().splitlines(keepends=True)
    for n, line in enumerate(lines, 1):
        assert line.endswith(b"\n"), f"{stream} line {n} is torn"
        assert line_hash_ok(line), f"{stream} line {n}: hash mismatch"
        rec = orjson.loads(line)
        assert rec["seq"] == n, f"{stream} line {n}: seq {rec['seq']}"
        assert rec["prev"] == prev, f"{stream} line {n}: prev does not chain"
        prev = rec["hash"]
    return len(lines)


class WorkerProc:
    """One `python main.py` process; stdout/stderr go to files so the whole output can be searched afterwards."""

    def __init__(self, log_dir: Path, url: str, out_dir: Path, **env: str) -> None:
        self.log_dir = log_dir
        n = len(list(out_dir.glob("worker-*.out")))
        self.out_path = out_dir / f"worker-{n}.out"
        self.err_path = out_dir / f"worker-{n}.err"
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("WHOP_", "AUTOSIG_", "POLL_", "LIVE_", "DRY_"))
        }
        full_env.update(
            WHOP_ALERTS_URL=url,
            WHOP_ACCESS_TOKEN=TOKEN,
            POLL_INTERVAL_SECONDS="0.05",
            AUTOSIG_LOG_DIR=str(log_dir),
            AUTOSIG_FSYNC="never",
            PYTHONUNBUFFERED="1",
        )
        for k, v in env.items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "main.py"], cwd=ROOT, env=full_env, stdout=self.out, stderr=self.err
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def terminate(self, timeout: float = 5.0) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds it took)."""
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        self._close()
        return rc, time.monotonic() - began

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self._close()

    def wait(self, timeout: float = 10.0) -> int:
        rc = self.proc.wait(timeout)
        self._close()
        return rc

    def _close(self) -> None:
        self.out.close()
        self.err.close()

    def ensure_dead(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close()


def polls(log_dir: Path) -> list[dict]:
    return of_type(log_dir, "worker", "poll.completed", "poll.failed")


def wait_polls(log_dir: Path, count: int, timeout: float = 20.0) -> list[dict]:
    """Waits for `count` more poll outcomes than there are now; returns them."""
    before = len(polls(log_dir))
    wait_until(lambda: len(polls(log_dir)) >= before + count, timeout, what=f"{count} polls")
    return polls(log_dir)[before:]


def source_ids(log_dir: Path, *types: str) -> list[str]:
    return [e["data"]["source_id"] for e in of_type(log_dir, "raw", *(types or ("alert.received", "alert.edited")))]
