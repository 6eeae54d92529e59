"""The sender in-process against a real file store and a real local receiver: one message per change, delivery
recorded, no resend after a restart, a successor resumes, one sender among several. Time is a ManualClock."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from webapp.conftest import Feed

from autosig.clock import ManualClock
from autosig.config import load_settings
from autosig.events import open_store
from autosig.notify.deliver import Backoff
from autosig.notify.election import StoreElection
from autosig.notify.sender import Sender

ROOT = Path(__file__).resolve().parents[2]


class TickingClock(ManualClock):
    """A ManualClock whose sleep also yields for a moment, so a retrying sender does not spin."""

    def sleep(self, seconds, stop=None):  # noqa: ANN001, ANN201
        if stop is not None and stop.wait(0.005):
            return True
        return super().sleep(seconds, stop)


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock(start=time.time())


@pytest.fixture
def store(log_dir, clock):
    # events are stamped by the same manual clock the sender judges staleness with, as on one machine
    s = open_store(f"file:{log_dir}", writer="test", fsync=False, clock=clock)
    yield s
    s.close()


@pytest.fixture
def feed(store) -> Feed:
    return Feed(store)


@pytest.fixture
def senders():
    made: list[Sender] = []
    yield made
    for s in made:
        s.stop()


def settings_for(log_dir: Path, url: str, **extra: str):
    return load_settings({"AUTOSIG_LOG_DIR": str(log_dir), "AUTOSIG_NOTIFY_URL": url, "AUTOSIG_FSYNC": "never",
                          "AUTOSIG_TAIL_POLL_SECONDS": "0.05", **extra})


def make_sender(senders, log_dir, receiver, clock, **kwargs) -> Sender:
    kwargs.setdefault("daily_heads", False)
    s = Sender(settings_for(log_dir, receiver.url), clock=clock, tick_seconds=0.02, election_retry_seconds=0.05,
               backoff=Backoff(base=1.0, cap=30.0, rng=random.Random(0)), **kwargs)
    senders.append(s)
    s.start()
    return s


def applied(sender: Sender, stream: str, seq: int) -> bool:
    m = sender.machine
    return m is not None and m.applied[stream] >= seq


def wait(predicate, timeout: float = 10.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def recorded(log_dir: Path) -> list[dict]:
    path = log_dir / "notifications.jsonl"
    lines = path.read_bytes().splitlines() if path.exists() else []
    return [orjson.loads(line) for line in lines if b'"notification.delivered"' in line]


def test_stale_recovery_and_auth_are_one_message_each(log_dir, feed, receiver, senders, clock):
    feed.started(stale=90)
    feed.completed()
    sender = make_sender(senders, log_dir, receiver, clock)
    wait(lambda: applied(sender, "worker", 2))
    time.sleep(0.2)
    assert receiver.delivered() == []  # fresh: nothing to say

    clock.advance(100)
    receiver.wait_for(lambda: receiver.of_state("stale"))
    time.sleep(0.3)  # many ticks later, still stale: still one message
    [stale] = receiver.delivered()
    assert stale["id"] == "stale:2" and stale["kind"] == "ingestion" and "STALE" in stale["text"]

    feed.completed()
    receiver.wait_for(lambda: receiver.of_state("recovered"))
    for _ in range(5):
        feed.failed(reason="auth", status=401)
    receiver.wait_for(lambda: receiver.of_state("auth_failed"))
    time.sleep(0.3)
    assert [b["state"] for b in receiver.delivered()] == ["stale", "recovered", "auth_failed"]
    assert receiver.ids() == ["stale:2", "recovered:3", "auth:4"]
    # every delivery is an event of the notifications stream, keyed by its id, without the webhook's secret
    notes = recorded(log_dir)
    assert [(n["key"], n["data"]["http_status"]) for n in notes] == [("stale:2", 204), ("recovered:3", 204),
                                                                      ("auth:4", 204)]
    assert b"s3cr3t-webhook-token" not in (log_dir / "notifications.jsonl").read_bytes()


def test_failing_receiver_gets_it_once_recorded_and_a_restart_does_not_resend(log_dir, feed, receiver, senders, clock):
    feed.started(stale=90)
    feed.completed()
    receiver.failures = [500, 500, 500, 503]
    sender = make_sender(senders, log_dir, receiver, clock)
    wait(lambda: applied(sender, "worker", 2))
    clock.advance(100)
    receiver.wait_for(lambda: receiver.delivered())
    wait(lambda: recorded(log_dir))
    assert len(receiver.requests) == 5 and receiver.ids() == ["stale:2"]
    [note] = recorded(log_dir)
    assert note["key"] == "stale:2" and note["data"]["attempts"] == 5
    sender.stop()

    # a restart, still stale: the recorded delivery is not sent again
    again = make_sender(senders, log_dir, receiver, clock)
    wait(lambda: applied(again, "worker", 2))
    time.sleep(0.3)
    assert len(receiver.requests) == 5 and len(recorded(log_dir)) == 1


def test_only_the_elected_sender_sends_and_a_successor_resumes(log_dir, feed, receiver, senders, clock):
    feed.started(stale=90)
    feed.completed()
    receiver.failures = [500] * 100_000  # the receiver is down while the first sender holds the election
    first = make_sender(senders, log_dir, receiver, clock, election=StoreElection(lambda: open_store(f"file:{log_dir}", fsync=False)))
    wait(first.elected.is_set)
    second = make_sender(senders, log_dir, receiver, clock, election=StoreElection(lambda: open_store(f"file:{log_dir}", fsync=False)))
    wait(lambda: applied(first, "worker", 2))
    clock.advance(100)
    wait(lambda: len(receiver.requests) >= 3)
    assert not second.elected.is_set() and second.machine is None
    first.stop()  # the sender goes away with its message undelivered
    receiver.failures.clear()
    wait(second.elected.is_set)
    receiver.wait_for(lambda: receiver.delivered())
    time.sleep(0.3)
    assert receiver.ids() == ["stale:2"] and [n["key"] for n in recorded(log_dir)] == ["stale:2"]


def test_daily_heads_are_sent_once(log_dir, feed, receiver, senders, clock):
    feed.started(stale=1e6)
    feed.completed()
    sender = make_sender(senders, log_dir, receiver, clock, daily_heads=True)
    receiver.wait_for(lambda: receiver.of_state("heads"))
    time.sleep(0.2)
    [heads] = receiver.of_state("heads")
    assert heads["id"].startswith("heads:20") and "worker:2:" in heads["text"]
    clock.advance(86_400)
    receiver.wait_for(lambda: len(receiver.of_state("heads")) == 2)
    assert sender.elected.is_set()


def test_signals_are_pushed_when_enabled(log_dir, feed, receiver, senders, clock):
    from webapp.conftest import sig

    feed.started(stale=1e6)
    feed.completed()
    feed.alert("BTO SPY 600c 1/17 @ 1.25", signals=[sig()])  # before notifications began: history
    s = Sender(settings_for(log_dir, receiver.url, AUTOSIG_NOTIFY_SIGNALS="true"), clock=clock, tick_seconds=0.02,
               daily_heads=False)
    senders.append(s)
    s.start()
    wait(lambda: applied(s, "parsed", 1))
    feed.alert("chatter")
    _, parsed_seq = feed.alert("STC QQQ 500p 1/17 @ 2", signals=[sig("QQQ", "close", 2.0, 500.0, "P")])
    receiver.wait_for(lambda: receiver.of_state("signal"))
    time.sleep(0.2)
    [pushed] = receiver.of_state("signal")
    assert pushed["id"] == f"signal:{parsed_seq}" and pushed["text"] == "AutoSig signal: CLOSE QQQ 500P 2027-01-17 @ 2.0"


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autosig", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def test_notify_heads_on_demand_can_be_checked_with_verify(log_dir, feed, receiver):
    feed.started()
    feed.completed()
    feed.alert("BTO SPY 600c 1/17 @ 1.25")
    env = {"AUTOSIG_LOG_DIR": str(log_dir), "AUTOSIG_NOTIFY_URL": receiver.url}
    done = run_cli("notify-heads", env=env)
    assert done.returncode == 0, done.stderr
    assert "s3cr3t-webhook-token" not in done.stdout + done.stderr
    [msg] = receiver.delivered()
    assert msg["kind"] == "heads" and msg["id"].startswith("heads:manual:")
    expect = msg["details"]["expect_head"]
    assert {e.split(":")[0] for e in expect} == {"raw", "parsed", "worker"}
    assert all(e in msg["text"] for e in expect)
    assert [n["key"] for n in recorded(log_dir)] == [msg["id"]]

    args = [a for e in expect for a in ("--expect-head", e)]
    feed.completed()  # the log grows: the kept heads are still in it
    assert run_cli("verify", *args, env=env).returncode == 0
    # cut the newest two lines of the worker stream: the kept head is gone, and verify says so
    path = log_dir / "worker.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-2]))
    cut = run_cli("verify", *args, env=env)
    assert cut.returncode == 1 and "worker" in cut.stdout


def test_notify_heads_without_a_url_says_so(log_dir):
    done = run_cli("notify-heads", env={"AUTOSIG_LOG_DIR": str(log_dir), "AUTOSIG_NOTIFY_URL": ""})
    assert done.returncode == 2 and "AUTOSIG_NOTIFY_URL" in done.stderr
