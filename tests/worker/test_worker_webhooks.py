"""Webhooks end to end with real processes: the simulator posts signed chat.message.created deliveries to the real
gunicorn command, which appends them to `inbox`; the worker (`python main.py`, which needs no webhook secret) follows
`inbox` from its head and polls that channel at once — the poll stays the only writer of `raw`.

Skipped until the ingest stage follows `inbox` (autosig.sources.wakeups: PollSchedule + InboxFollower)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from webapp.test_gunicorn import Server
from worker_harness import TOKEN, of_type, polls, source_ids, wait_until

from autosig.sources.simulator import Simulator

SECRET = "ws_9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a"
SLOW = {"POLL_INTERVAL_SECONDS": "3600"}  # only a webhook can make the worker poll again within the test
SPACING = 2.1  # polls of one channel are at least 2 s apart: a webhook right after a poll waits that out


@pytest.fixture
def web(log_dir: Path):
    server = Server(log_dir, {"WHOP_WEBHOOK_SECRET": SECRET})
    yield server
    server.stop()


@pytest.fixture
def hooked_sim(sim: Simulator, web):
    return sim, sim.enable_webhooks(web.url + "/webhooks/whop", SECRET)


def _started(log_dir: Path, count: int = 1) -> None:
    wait_until(lambda: len(of_type(log_dir, "worker", "worker.started")) >= count, what="worker.started")
    wait_until(lambda: len(polls(log_dir)) >= 1, what="the first poll")


def test_a_webhook_makes_the_worker_poll_within_2_s(hooked_sim, workers, log_dir):
    sim, hooks = hooked_sim
    w = workers(sim.url, **SLOW)
    _started(log_dir)
    for i in range(3):
        time.sleep(SPACING)  # after the last poll (the first, then the webhook's)
        message = sim.publish(f"BTO {i + 1} SPY 600c 1/17 @ 1.25")
        began = time.monotonic()
        wait_until(lambda m=message: m["id"] in source_ids(log_dir), timeout=2.0, what="the webhook's poll")
        assert time.monotonic() - began < 2.0
    assert [d.status for d in hooks.deliveries] == [200, 200, 200]
    assert w.terminate()[0] == 0


def _unannounced(hooked_sim, workers, log_dir: Path):
    """A running worker, and a message published without the automatic webhook: (sim, hooks, polls so far, it)."""
    sim, hooks = hooked_sim
    hooks.automatic = False
    workers(sim.url, **SLOW)
    _started(log_dir)
    return sim, hooks, len(polls(log_dir)), sim.publish("BTO 1 SPY 600c 1/17 @ 1.25")


def test_forged_replayed_duplicated_and_malformed_webhooks_add_nothing(hooked_sim, workers, log_dir):
    sim, hooks, before, message = _unannounced(hooked_sim, workers, log_dir)
    for kind in ("forged", "replayed", "unsigned", "malformed"):
        assert hooks.send(message, channel=sim.channel, kind=kind)[0].status == 401
    hooks.send(message, channel="chat_feed_unknown")  # a channel the worker does not follow
    time.sleep(3)
    assert len(polls(log_dir)) == before and message["id"] not in source_ids(log_dir)
    hooks.send(message, channel=sim.channel, copies=20)  # one genuine delivery, redelivered 20 times
    wait_until(lambda: message["id"] in source_ids(log_dir), timeout=2.0)
    time.sleep(3)
    assert len(polls(log_dir)) - before <= 2  # coalesced: one poll (and at most one more for a late wake)
    assert source_ids(log_dir).count(message["id"]) == 1


def test_a_flood_of_webhooks_polls_at_most_every_2_s(hooked_sim, workers, log_dir):
    sim, hooks, before, message = _unannounced(hooked_sim, workers, log_dir)
    began = time.monotonic()
    while time.monotonic() - began < 6:
        hooks.send(message, channel=sim.channel)  # each with a new id: all accepted into inbox
    elapsed = time.monotonic() - began
    time.sleep(0.5)
    assert len(polls(log_dir)) - before <= elapsed / 2.0 + 2


def test_webhooks_while_the_worker_is_down_are_caught_up_once_after_restart(hooked_sim, workers, log_dir):
    sim, hooks = hooked_sim
    w = workers(sim.url, **SLOW)
    _started(log_dir)
    w.kill()
    published = [sim.publish(f"STC {i + 1} SPY 600c 1/17 @ 2.00")["id"] for i in range(5)]
    assert hooks.wait_idle() and all(d.status == 200 for d in hooks.deliveries)
    workers(sim.url, **SLOW)
    _started(log_dir, count=2)
    wait_until(lambda: set(published) <= set(source_ids(log_dir)), timeout=5)
    ids = source_ids(log_dir)
    assert all(ids.count(p) == 1 for p in published)


@pytest.mark.pg
def test_postgres_web_and_worker_share_only_the_database_and_the_wake_up_arrives(tmp_path, pg_url):
    from events.pg_helpers import schema_url
    from worker.worker_harness import WorkerProc

    from autosig.events import open_store
    from autosig.schema import RAW

    with contextmanager(schema_url)(pg_url) as url:
        web_dir, worker_dir, out = tmp_path / "web", tmp_path / "worker", tmp_path / "out"
        for d in (web_dir, worker_dir, out):
            d.mkdir()
        with Simulator(TOKEN, history=0, seed=3) as sim:
            server = Server(web_dir, {"WHOP_WEBHOOK_SECRET": SECRET, "AUTOSIG_STORE_URL": url})
            worker = WorkerProc(worker_dir, sim.url, out, AUTOSIG_STORE_URL=url, **SLOW)
            store = open_store(url, writer="test", fsync=False)
            try:
                wait_until(lambda: store.last_seq("worker") >= 2, what="the worker's first poll")
                sim.enable_webhooks(server.url + "/webhooks/whop", SECRET)
                time.sleep(SPACING)
                message = sim.publish("BTO 1 SPY 600c 1/17 @ 1.25")
                began = time.monotonic()
                wait_until(lambda: any(e.data["source_id"] == message["id"] for e in store.read(RAW)), timeout=2.0)
                assert time.monotonic() - began < 2.0
            finally:
                worker.ensure_dead()
                server.stop()
                store.close()
