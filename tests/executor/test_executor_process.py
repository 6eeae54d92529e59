"""The executor in `python main.py` against the broker simulator process, with the Whop simulator publishing: the
504 after accept, a stale backlog after downtime, dry run, and a paused restart."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from autosig.sources.simulator import Simulator as Whop
from executor.process_harness import (
    ROOT,
    WHOP_TOKEN,
    BrokerProc,
    Worker,
    broker_env,
    events,
    of_type,
    wait_until,
)


@pytest.fixture
def whop():
    sim = Whop(WHOP_TOKEN, history=0, seed=9).start()
    yield sim
    sim.stop()


@pytest.fixture
def broker():
    proc = BrokerProc(seed=21)
    yield proc
    proc.stop()


@pytest.fixture
def run(tmp_path, whop):
    """run(**env) -> a started worker on this test's log directory (all are killed at the end)."""
    log_dir, out_dir = tmp_path / "logs", tmp_path / "out"
    log_dir.mkdir()
    out_dir.mkdir()
    started: list[Worker] = []

    def start(**env: str | None) -> Worker:
        w = Worker(log_dir, out_dir, whop.url, **env)
        started.append(w)
        return w

    start.log_dir = log_dir  # type: ignore[attr-defined]
    yield start
    for w in started:
        if w.proc.poll() is None:
            w.kill()


def started_count(log_dir) -> int:
    return len(of_type(log_dir, "orders", "executor.started"))


def start_and_wait(run, **env: str | None) -> Worker:
    before = started_count(run.log_dir)
    worker = run(**env)
    wait_until(lambda: started_count(run.log_dir) > before and of_type(run.log_dir, "worker", "poll.completed"), 30,
               "the executor's start and a poll")  # fmt: skip
    return worker


def decisions(log_dir) -> list[dict]:
    return [e["data"] | {"type": e["type"]} for e in of_type(log_dir, "orders", "order.planned", "order.skipped")]


def order_requests(broker: BrokerProc) -> dict[str, int]:
    """Requests that reached an order endpoint of the simulator (placing, listing, reading or cancelling)."""
    return {k: n for k, n in broker.control.request_counts().items() if "/orders" in k}


def paper(broker: BrokerProc) -> dict[str, str]:
    return {"DRY_RUN": "false", "AUTOSIG_SIZE": "fixed:1", **broker_env("alpaca", broker.url)}


def test_the_504_after_accept_is_unknown_then_submitted_by_reconciliation_and_exists_once(run, whop, broker):
    start_and_wait(run, **paper(broker))
    broker.control.fault(504, after_accept=True, method="POST", path="/v2/orders")
    whop.publish("BTO 1 SPY 640c 1/15 @ 1.00")
    log_dir = run.log_dir
    (plan,) = wait_until(lambda: of_type(log_dir, "orders", "order.planned"), 20, "the plan")
    coid = plan["data"]["client_order_id"]
    wait_until(lambda: of_type(log_dir, "orders", "order.submitted"), 20, "order.submitted")
    history = [e["type"] for e in events(log_dir, "orders") if e["data"].get("client_order_id") == coid]
    assert history[:3] == ["order.planned", "order.unknown", "order.submitted"]
    assert broker.control.order_counts() == {coid: 1}
    assert broker.control.fault_counts() == {"after_accept_http_504": 1}


def test_a_backlog_posted_while_the_worker_was_down_is_stale_and_nothing_reaches_the_broker(run, whop, broker):
    start_and_wait(run, **paper(broker)).terminate()
    now = datetime.now(UTC)
    for minutes, strike in ((10, 641), (6, 642), (2, 643)):  # posted during 10 minutes of downtime
        whop.publish(f"BTO 1 SPY {strike}c 1/15 @ 1.00", created_at=(now - timedelta(minutes=minutes)).isoformat())
    start_and_wait(run, **paper(broker))
    found = wait_until(lambda: len(decisions(run.log_dir)) >= 3 and decisions(run.log_dir), 20, "three decisions")
    assert [(d["type"], d["reason"]) for d in found] == [("order.skipped", "stale_alert")] * 3
    time.sleep(1.0)  # time for anything that would be sent
    assert broker.control.order_counts() == {}


def test_dry_run_sends_nothing_and_a_switch_to_paper_sends_none_of_its_plans(run, whop, broker):
    dry = {**paper(broker), "DRY_RUN": None}
    worker = start_and_wait(run, **dry)
    whop.publish("BTO 1 SPY 644c 1/15 @ 1.00")
    (plan,) = wait_until(lambda: of_type(run.log_dir, "orders", "order.planned"), 20, "the dry-run plan")
    assert plan["data"]["mode"] == "dry_run"
    assert order_requests(broker) == {}  # not even a lookup
    assert broker.control.request_counts()  # while it did read the broker (clock, quotes, contracts)
    worker.terminate()
    start_and_wait(run, **paper(broker))  # within the alert's freshness window
    time.sleep(2.0)  # two order polls and a reconciliation: time enough to send it, were it sent
    assert broker.control.order_counts() == {}
    assert of_type(run.log_dir, "orders", "order.submitted", "order.unknown", "order.failed") == []


def test_a_paused_restart_sends_nothing_and_decides_paused(run, whop, broker):
    start_and_wait(run, **paper(broker)).terminate()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOSIG_")}
    env["AUTOSIG_LOG_DIR"] = str(run.log_dir)
    subprocess.run([sys.executable, "-m", "autosig", "pause", "--reason", "holiday"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    start_and_wait(run, **paper(broker))
    whop.publish("BTO 1 SPY 645c 1/15 @ 1.00")
    (skipped,) = wait_until(lambda: decisions(run.log_dir), 20, "the decision")
    assert (skipped["type"], skipped["reason"]) == ("order.skipped", "paused")
    assert broker.control.order_counts() == {}
