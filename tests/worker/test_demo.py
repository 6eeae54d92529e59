"""`autosig demo`: three processes on loopback, alerts arriving in the streams, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import requests
from worker_harness import ROOT, events, wait_until


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_demo_runs_three_processes_shows_alerts_and_ctrl_c_leaves_nothing(tmp_path):
    demo_dir = tmp_path / "demo"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autosig",
            "demo",
            "--dir",
            str(demo_dir),
            "--pace",
            "0.2",
            "--poll-interval",
            "0.2",
            "--history",
            "10",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        dashboard = wait_until(
            lambda: next((ln.split("Dashboard: ", 1)[1].strip() for ln in lines if "Dashboard: " in ln), None),
            60,
            what="dashboard URL",
        )
        assert dashboard.startswith("http://127.0.0.1:")
        assert requests.get(dashboard.rstrip("/") + "/health", timeout=5).json() == {"status": "ok"}
        wait_until(lambda: len(events(demo_dir, "raw")) >= 15, 30, what="alerts arriving")
        count = len(events(demo_dir, "raw"))
        wait_until(lambda: len(events(demo_dir, "raw")) > count, 20, what="more alerts arriving")
        assert len(events(demo_dir, "parsed")) > 0
        marker = _marker_of(demo_dir)
        pids = _processes_with(marker)
        assert len(pids) >= 5  # simulator, worker, gunicorn master + 2 workers
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        wait_until(lambda: not _processes_with(marker), 5, what="no demo process left")
        assert events(demo_dir, "worker")[-1]["type"] == "worker.stopped"
        text = "".join(lines)
        assert "simulator: http://127.0.0.1:" in text and "[worker]" in text
    finally:
        if proc.poll() is None:
            proc.kill()


def _marker_of(demo_dir: Path) -> str:
    """The AUTOSIG_DEMO_ID the demo gave its children (read from the worker's environment via the lease holder)."""
    holder = (demo_dir / "worker-lease.lock").read_text()
    pid = int(holder.split('"pid":')[1].split(",")[0])
    env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return next(e.decode() for e in env if e.startswith(b"AUTOSIG_DEMO_ID="))
