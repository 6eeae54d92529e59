"""Start, stop, the single-worker lease, configuration errors, secrecy of the token, LIVE_TRADING."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from worker_harness import ROOT, TOKEN, events, of_type, polls, source_ids, wait_polls, wait_until


def test_sigterm_exits_0_within_2_s_and_records_worker_stopped(sim, workers, log_dir):
    sim.publish_many(10)
    w = workers(sim.url)
    wait_until(lambda: len(polls(log_dir)) >= 3, what="polling")
    rc, took = w.terminate()
    assert rc == 0 and took < 2.0
    assert events(log_dir, "worker")[-1]["type"] == "worker.stopped"


def test_sigterm_during_a_slow_whop_answer_still_exits_within_2_s(sim, workers, log_dir):
    w = workers(sim.url, WHOP_TIMEOUT_SECONDS="60")
    wait_until(lambda: polls(log_dir), what="first poll")
    sim.fault(delay=30)
    before = sim.requests
    wait_until(lambda: sim.requests > before, what="the slow request")
    time.sleep(0.2)
    rc, took = w.terminate()
    assert rc == 0 and took < 2.0
    assert events(log_dir, "worker")[-1]["type"] == "worker.stopped"


def test_sigint_exits_0_too(sim, workers, log_dir):
    w = workers(sim.url)
    wait_until(lambda: polls(log_dir), what="first poll")
    began = time.monotonic()
    w.proc.send_signal(2)
    assert w.wait(5) == 0 and time.monotonic() - began < 2.0
    assert events(log_dir, "worker")[-1]["type"] == "worker.stopped"


def test_second_worker_waits_without_appending_and_takes_over(sim, workers, log_dir):
    first = workers(sim.url)
    wait_until(lambda: polls(log_dir), what="first worker polling")
    second = workers(sim.url)
    wait_until(lambda: "another worker holds this store" in second.stdout(), what="second worker waiting")
    assert f"pid {first.pid}" in second.stdout()  # it names the holder
    time.sleep(0.5)
    pids = {e["meta"]["pid"] for s in ("raw", "parsed", "worker") for e in events(log_dir, s)}
    assert pids == {first.pid}
    msg = sim.publish("BTO 1 SPY 600c 1/17 @ 1.25")
    wait_until(lambda: msg["id"] in source_ids(log_dir), what="first worker ingesting")
    assert first.terminate()[0] == 0
    wait_until(
        lambda: any(e["meta"]["pid"] == second.pid for e in of_type(log_dir, "worker", "worker.started")),
        what="takeover",
    )
    msg2 = sim.publish("STC 1 SPY 600c 1/17 @ 2.00")
    wait_until(lambda: msg2["id"] in source_ids(log_dir), what="second worker ingesting")
    assert second.terminate()[0] == 0
    assert source_ids(log_dir) == [msg["id"], msg2["id"]]


def _run_main(env_overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHOP_", "POLL_", "AUTOSIG_"))}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)


def test_invalid_configuration_is_one_line_and_exit_2(tmp_path):
    base = {
        "WHOP_ALERTS_URL": "http://127.0.0.1:9/api/v1/messages?channel_id=x",
        "WHOP_ACCESS_TOKEN": TOKEN,
        "AUTOSIG_LOG_DIR": str(tmp_path / "logs"),
    }
    cases = [
        ({**base, "POLL_INTERVAL_SECONDS": "abc"}, "POLL_INTERVAL_SECONDS"),
        ({k: v for k, v in base.items() if k != "WHOP_ALERTS_URL"}, "WHOP_ALERTS_URL"),
        ({**base, "WHOP_ALERTS_URL": "ftp://nope"}, "WHOP_ALERTS_URL"),
        ({**base, "WHOP_TIMEOUT_SECONDS": "soon"}, "WHOP_TIMEOUT_SECONDS"),
        ({**base, "LIVE_TRADING": "maybe"}, "LIVE_TRADING"),
    ]
    for env, variable in cases:
        result = _run_main(env)
        assert result.returncode == 2, (variable, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and variable in lines[0], result.stderr
        assert TOKEN not in result.stderr + result.stdout
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").glob("*.jsonl"))


def test_token_appears_nowhere(sim, workers, log_dir):
    sim.publish_many(5)
    w = workers(sim.url, LIVE_TRADING="true", WHOP_TIMEOUT_SECONDS="0.3")
    wait_until(lambda: len(source_ids(log_dir)) == 5, what="ingest")
    # failures are where a careless client leaks headers: every kind once
    for fault in (
        {"status": 401},
        {"status": 500},
        {"delay": 0.6},
        {"reset": True},
        {"status": 200, "body": "<html>login</html>", "content_type": "text/html"},
    ):
        before = len(of_type(log_dir, "worker", "poll.failed"))
        sim.fault(**fault)
        wait_until(lambda before=before: len(of_type(log_dir, "worker", "poll.failed")) > before, what=str(fault))
    wrong = workers(sim.url)  # waits on the lease: its output must not leak either
    wait_until(lambda: "another worker holds" in wrong.stdout(), what="waiting worker")
    assert w.terminate()[0] == 0
    wait_polls(log_dir, 2)
    assert wrong.terminate()[0] == 0
    needle = TOKEN.encode()
    leaked = [p for p in log_dir.rglob("*") if p.is_file() and needle in p.read_bytes()]
    leaked += [p for p in workers.out_dir.iterdir() if needle in p.read_bytes()]
    assert leaked == []
    out = w.stdout()
    assert "WARNING" in out and "LIVE_TRADING=true is ignored: DRY_RUN=true wins, nothing is sent" in out
    started = of_type(log_dir, "worker", "worker.started")[0]["data"]
    assert started["live_trading"] is True and started["execution_mode"] == "dry_run"
    assert (log_dir / "app.log").read_text().count("Fetching alerts...") >= 5


def test_sigterm_during_start_up_over_a_big_stream_exits_within_2_s(sim, workers, log_dir):
    from autosig.events import open_store
    from autosig.schema import RAW, payload_fields, raw_key

    store = open_store(f"file:{log_dir}", fsync=False)
    for chunk in range(4):
        items = []
        for i in range(chunk * 20_000, (chunk + 1) * 20_000):
            m = {"id": f"m{i}", "content": "BTO 1 SPY 600c 1/17 @ 1.25 " * 8, "created_at": i, "updated_at": i}
            items.append(
                (
                    "alert.received",
                    {"source": "whop", "channel": "c", "source_id": m["id"], **payload_fields(m)},
                    None,
                    raw_key(m),
                )
            )
        store.append_many(RAW, items)
    store.close()
    w = workers(sim.url)
    wait_until(
        lambda: (log_dir / "worker-lease.lock").exists() and (log_dir / "worker-lease.lock").stat().st_size,
        what="lease taken",
    )
    time.sleep(0.05)  # indexing 80k events takes a few tenths of a second: stop it part-way
    rc, took = w.terminate()
    assert rc == 0 and took < 2.0
    assert not of_type(log_dir, "worker", "worker.started")  # stopped part-way through the start
    assert "worker started" not in w.stdout()
