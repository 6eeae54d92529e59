"""End to end: the real worker polling the simulator, the real gunicorn command with 2 workers (each process runs a
sender; one is elected), and a real webhook receiver. The worker is SIGKILLed (stale), restarted (recovered), and
Whop rejects the token (auth) — each change is exactly one message, and each is recorded once."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from webapp.test_gunicorn import Server
from worker.worker_harness import TOKEN, WorkerProc, polls, wait_polls

from autosig.sources.simulator import Simulator

STALE_AFTER = "1.5"


def ingestion(receiver) -> list[dict]:
    return [b for b in receiver.delivered() if b["kind"] == "ingestion"]


def recorded(log_dir: Path) -> list[str]:
    path = log_dir / "notifications.jsonl"
    return [orjson.loads(line)["key"] for line in path.read_bytes().splitlines()
            if b'"notification.delivered"' in line]


@pytest.fixture
def sim():
    s = Simulator(TOKEN, history=0, seed=7).start()
    yield s
    s.stop()


def test_kill_restart_and_auth_failure_through_gunicorn_with_two_workers(tmp_path, log_dir, sim, receiver):
    out = tmp_path / "out"
    out.mkdir()
    worker_env = {"AUTOSIG_STALE_AFTER_SECONDS": STALE_AFTER}
    worker = WorkerProc(log_dir, sim.url, out, **worker_env)
    server = None
    try:
        wait_polls(log_dir, 3)
        server = Server(log_dir, {"AUTOSIG_NOTIFY_URL": receiver.url, "AUTOSIG_TAIL_POLL_SECONDS": "0.05"})
        assert len(server.pids) == 2
        time.sleep(1.0)
        assert ingestion(receiver) == []  # polls succeed: nothing to say

        worker.kill()  # SIGKILL: no worker.stopped, the stream just goes quiet
        receiver.wait_for(lambda: ingestion(receiver), timeout=20)
        time.sleep(1.0)
        [stale] = ingestion(receiver)
        assert stale["state"] == "stale" and stale["id"].startswith("stale:")

        worker = WorkerProc(log_dir, sim.url, out, **worker_env)
        receiver.wait_for(lambda: len(ingestion(receiver)) == 2, timeout=20)
        assert ingestion(receiver)[1]["state"] == "recovered"

        sim.fault(status=401, body='{"error": "invalid token"}', content_type="application/json", count=10**6)
        receiver.wait_for(lambda: any(b["state"] == "auth_failed" for b in ingestion(receiver)), timeout=20)
        assert len([p for p in polls(log_dir) if p["type"] == "poll.failed"]) >= 1
        time.sleep(2.5)  # many failed polls (and long enough to turn stale as well)
        states = [b["state"] for b in ingestion(receiver)]
        assert states.count("auth_failed") == 1, states
        sim.clear_faults()
        receiver.wait_for(lambda: [b["state"] for b in ingestion(receiver)][-1] == "recovered", timeout=20)
        time.sleep(1.0)

        states = [b["state"] for b in ingestion(receiver)]
        assert states in (["stale", "recovered", "auth_failed", "recovered"],
                          ["stale", "recovered", "auth_failed", "stale", "recovered"]), states
        ids = receiver.ids()
        assert len(ids) == len(set(ids))  # two web processes, still one message per change
        assert sorted(recorded(log_dir)) == sorted(ids)
        senders = {r["headers"].get("User-Agent") for r in receiver.requests}
        assert senders == {"autosig-notify"}
    finally:
        worker.ensure_dead()
        output = server.stop() if server is not None else ""
    assert "s3cr3t-webhook-token" not in output
