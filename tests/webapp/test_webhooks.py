"""POST /webhooks/whop: a genuine, fresh chat.message.created for a followed channel lands in `inbox` once; forged,
replayed, malformed and foreign deliveries change nothing; refusals are counted in /metrics and never lock anyone
out; where the web cannot write the worker's store it answers 503 saying why. In-process, then the real gunicorn
command fed by the simulator's signed deliveries (file store and Postgres)."""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from waiting import wait_until

from autosig.events import open_store
from autosig.schema import INBOX, RAW, WORKER
from autosig.sources.simulator import Simulator, _shapes
from autosig.sources.wakeups import InboxFollower, PollSchedule
from autosig.sources.whop_webhooks import sign
from webapp.test_gunicorn import Server

SECRET = "ws_b1f0c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
PASSWORD = "dash-pw-for-webhooks"
CHANNEL = "chat_feed_x"  # the channel Feed.started() says the worker follows


def body(channel=CHANNEL, message_id="post_1", type_="chat.message.created", webhook_id="msg_1") -> bytes:
    doc = _shapes.chat_message_created(
        webhook_id, {"id": message_id}, channel=channel, experience_id="exp_1", sent_at=datetime.now(UTC)
    )
    doc["type"] = type_
    return json.dumps(doc).encode()


def post(client, data: bytes, webhook_id="msg_1", *, stamp=None, secret=SECRET, headers=None):
    h = sign(secret, webhook_id, int(time.time()) if stamp is None else stamp, data)
    h.update(headers or {})
    return client.post("/webhooks/whop", data=data, headers={"Content-Type": "application/json", **h})


@pytest.fixture
def hooked(make_app, feed, store):
    feed.started()
    app = make_app(WHOP_WEBHOOK_SECRET=SECRET, DASHBOARD_PASSWORD=PASSWORD)
    return app.test_client(), store


def metric(client, outcome: str) -> float:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {PASSWORD}"}).get_data(as_text=True)
    for line in text.splitlines():
        if line.startswith("autosig_webhooks_total{") and f'outcome="{outcome}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no autosig_webhooks_total for {outcome}:\n{text}")


def test_a_genuine_delivery_for_a_followed_channel_is_appended_once_without_a_password(hooked):
    client, store = hooked
    r = post(client, body(), "msg_1")
    assert r.status_code == 200 and r.get_json()["status"] == "accepted"
    assert post(client, body(), "msg_1").get_json()["status"] == "duplicate"  # Whop redelivers with the same id
    events = list(store.read(INBOX))
    assert len(events) == 1
    assert events[0].type == "webhook.received" and events[0].key == "webhook:msg_1"
    assert {k: events[0].data[k] for k in ("webhook_id", "channel", "message_id")} == {
        "webhook_id": "msg_1",
        "channel": CHANNEL,
        "message_id": "post_1",
    }
    assert events[0].data["timestamp"].endswith("Z")
    assert events[0].meta["writer"] == "web"
    assert metric(client, "accepted") == 1 and metric(client, "duplicate") == 1


def test_an_experience_followed_by_id_matches_its_chat(make_app, store):
    store.append(WORKER, "worker.started", {"poll_interval_seconds": 30, "channels": ["exp_1"]})
    client = make_app(WHOP_WEBHOOK_SECRET=SECRET).test_client()
    assert post(client, body(channel="feed_unlisted")).get_json()["status"] == "accepted"
    assert [e.data["channel"] for e in store.read(INBOX)] == ["exp_1"]


@pytest.mark.parametrize(
    ("make", "status", "outcome"),
    [
        (lambda c: post(c, body(), secret="ws_forged"), 401, "bad_signature"),
        (lambda c: post(c, body(), stamp=int(time.time()) - 400), 401, "old_timestamp"),
        (lambda c: c.post("/webhooks/whop", data=body()), 401, "malformed"),
        (lambda c: post(c, b"{not json"), 401, "malformed"),
        (lambda c: post(c, body(channel="chat_feed_elsewhere")), 200, "ignored"),
        (lambda c: post(c, body(type_="chat.reaction.created")), 200, "ignored"),
        (lambda c: post(c, b"x" * (2 << 20)), 413, "malformed"),
    ],
)
def test_everything_else_changes_nothing_and_is_counted(hooked, make, status, outcome):
    client, store = hooked
    r = make(client)
    assert r.status_code == status, r.get_data(as_text=True)
    assert SECRET not in r.get_data(as_text=True)
    assert list(store.read(INBOX)) == [] and store.last_seq(RAW) == 0
    assert metric(client, outcome) == 1


def test_bad_signatures_never_lock_an_address_out(hooked):
    client, store = hooked
    for i in range(50):
        assert post(client, body(), f"msg_f{i}", secret="ws_forged").status_code == 401
    assert post(client, body(), "msg_ok").status_code == 200
    assert client.get("/api/status", headers={"Authorization": f"Bearer {PASSWORD}"}).status_code == 200
    assert metric(client, "bad_signature") == 50


def test_before_the_worker_ever_started_nothing_is_stored(make_app, store):
    client = make_app(WHOP_WEBHOOK_SECRET=SECRET).test_client()
    r = post(client, body())
    assert r.status_code == 200 and r.get_json()["status"] == "ignored"
    assert store.last_seq(INBOX) == 0


def test_without_the_secret_the_endpoint_is_off(make_app, feed):
    feed.started()
    r = post(make_app().test_client(), body())
    assert r.status_code == 404 and "WHOP_WEBHOOK_SECRET" in r.get_json()["error"]


def test_a_store_the_web_cannot_write_answers_503_saying_why(make_app, log_dir, feed, tmp_path):
    missing = tmp_path / "not-here"
    client = make_app(WHOP_WEBHOOK_SECRET=SECRET, AUTOSIG_LOG_DIR=str(missing)).test_client()
    r = post(client, body())
    assert r.status_code == 503 and "does not exist on this machine" in r.get_json()["error"]
    if os.geteuid() != 0:  # root can write anywhere: the permission case only means something for a normal user
        feed.started()
        log_dir.chmod(0o555)
        try:
            r = post(make_app(WHOP_WEBHOOK_SECRET=SECRET).test_client(), body())
            assert r.status_code == 503 and "not writable" in r.get_json()["error"]
        finally:
            log_dir.chmod(0o755)


# --- the real command, fed by the simulator --------------------------------------------------------------------


def _followed(store, channel: str) -> None:
    store.append(
        WORKER,
        "worker.started",
        {
            "poll_interval_seconds": 3600,
            "stale_after_seconds": 10800,
            "parser_version": "1",
            "dry_run": True,
            "live_trading": False,
            "channels": [channel],
        },
    )


def _wakes_within(store, sim: Simulator, url: str, bound: float) -> list[float]:
    """Publishes at the simulator and returns how long each wake took to reach a follower of `store`."""
    schedule = PollSchedule([sim.channel], 3600.0, min_gap=0.0)
    while schedule.next_due()[0] is not None:
        pass
    schedule.done(sim.channel)
    follower = InboxFollower(store, schedule).start()
    hooks = sim.enable_webhooks(url, SECRET)
    took = []
    try:
        for i in range(3):
            began = time.monotonic()
            sim.publish(f"BTO {i + 1} SPY 600c 1/17 @ 1.25")
            wait_until(lambda n=i: schedule.wakes == n + 1, timeout=bound, what="the wake-up")
            took.append(time.monotonic() - began)
            assert schedule.next_due()[0] == sim.channel
            schedule.done(sim.channel)
        hooks.send(sim.messages()[-1], channel=sim.channel, kind="forged")
        hooks.send(sim.messages()[-1], channel=sim.channel, kind="replayed")
        hooks.send(sim.messages()[-1], channel=sim.channel, copies=3)
        wait_until(lambda: follower.seen == 4, timeout=bound)
        assert [d.status for d in hooks.deliveries[-5:]] == [401, 401, 200, 200, 200]
    finally:
        follower.stop()
    return took


def _served(tmp_path: Path, store_url: str | None, **env: str) -> tuple[list[float], str, int]:
    """The gunicorn command over `store_url` (default: a file store) fed by the simulator's webhooks: the wake times,
    gunicorn's output, and the answer to /api/status without a password."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    url = store_url or f"file:{log_dir}"
    store = open_store(url, writer="test", fsync=False, tail_poll_seconds=0.5)
    try:
        with Simulator("t", history=0) as sim:
            _followed(store, sim.channel)
            server = Server(log_dir, {"WHOP_WEBHOOK_SECRET": SECRET, "AUTOSIG_STORE_URL": url, **env})
            try:
                took = _wakes_within(store, sim, server.url + "/webhooks/whop", bound=2.0)
                unauthenticated = requests.get(server.url + "/api/status", timeout=5).status_code
            finally:
                output = server.stop()
        assert store.last_seq(INBOX) == 4 and store.last_seq(RAW) == 0
    finally:
        store.close()
    return took, output, unauthenticated


def test_gunicorn_takes_simulator_webhooks_into_inbox_and_a_follower_wakes(tmp_path: Path):
    took, output, unauthenticated = _served(tmp_path, None, DASHBOARD_PASSWORD=PASSWORD)
    assert max(took) < 2.0 and SECRET not in output
    assert unauthenticated == 401  # everything else still needs the password


@pytest.mark.pg
def test_postgres_web_and_follower_share_only_the_database(tmp_path: Path, pg_url):
    from events.pg_helpers import schema_url

    with contextmanager(schema_url)(pg_url) as url:
        took, _, _ = _served(tmp_path, url)
    assert max(took) < 2.0
