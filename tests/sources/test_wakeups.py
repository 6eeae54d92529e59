"""The poll schedule: each channel on its interval, woken at once by webhooks but coalesced (one poll in flight per
channel, at least 2 s apart, never inside a rate-limit hold); and the inbox follower, against a real file store."""

from __future__ import annotations

import threading
import time

from waiting import wait_until

from autosig.clock import ManualClock
from autosig.events import open_store
from autosig.schema import INBOX, webhook_received
from autosig.sources.wakeups import MIN_GAP_S, InboxFollower, PollSchedule


def schedule(channels=("a", "b"), interval=3600.0) -> tuple[PollSchedule, ManualClock]:
    clock = ManualClock()
    return PollSchedule(channels, interval, clock=clock), clock


def test_every_channel_is_due_at_start_then_on_its_interval():
    s, clock = schedule()
    assert {s.next_due()[0], s.next_due()[0]} == {"a", "b"}
    assert s.next_due()[0] is None  # both in flight
    s.done("a")
    s.done("b", next_in=10)
    channel, wait = s.next_due()
    assert channel is None and wait == 10
    clock.advance(10)
    assert s.next_due()[0] == "b"
    clock.advance(3600)
    assert s.next_due()[0] == "a"


def test_a_wake_polls_at_once_but_never_sooner_than_the_gap():
    s, clock = schedule(("a",))
    assert s.next_due()[0] == "a"
    s.done("a")
    assert s.wake("a")
    channel, wait = s.next_due()
    assert channel is None and wait == MIN_GAP_S  # the first poll started 0 s ago
    clock.advance(MIN_GAP_S)
    assert s.next_due()[0] == "a"


def test_a_flood_of_wakes_is_one_poll():
    s, clock = schedule(("a",))
    s.next_due()
    s.done("a")
    clock.advance(60)
    for _ in range(1000):
        s.wake("a")
    assert s.next_due()[0] == "a"
    assert s.next_due()[0] is None  # in flight: the flood gave one poll
    s.done("a")
    assert s.next_due()[0] is None  # and nothing queued after it: every wake came before it started


def test_a_wake_during_a_poll_gives_exactly_one_more_poll_after_it():
    s, clock = schedule(("a",))
    s.next_due()
    s.wake("a")
    s.wake("a")
    clock.advance(0.5)
    s.done("a")
    assert s.next_due() == (None, MIN_GAP_S - 0.5)
    clock.advance(MIN_GAP_S)
    assert s.next_due()[0] == "a"
    s.done("a")
    assert s.next_due()[0] is None


def test_wakes_for_unknown_channels_change_nothing():
    s, clock = schedule(("a",))
    s.next_due()
    s.done("a")
    assert not s.wake("elsewhere") and not s.wake(None) and not s.wake(["a"])
    assert s.next_due()[0] is None and s.wakes == 0


def test_a_rate_limit_hold_is_not_shortened_by_wakes():
    s, clock = schedule(("a",))
    s.next_due()
    s.done("a", next_in=60, hold=True)
    clock.advance(5)
    s.wake("a")
    assert s.next_due() == (None, 55)
    clock.advance(55)
    assert s.next_due()[0] == "a"
    s.done("a", next_in=30)  # a later failure without hold: wakes may bring the poll forward again
    clock.advance(5)
    s.wake("a")
    assert s.next_due()[0] == "a"


def test_wait_due_returns_on_a_wake_and_on_stop():
    s = PollSchedule(["a"], 3600.0, min_gap=0.0)
    assert s.wait_due() == "a"
    s.done("a")
    threading.Timer(0.2, s.wake, args=("a",)).start()
    began = time.monotonic()
    assert s.wait_due() == "a" and time.monotonic() - began < 1.5
    s.done("a")
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    assert s.wait_due(stop) is None


def test_inbox_follower_wakes_from_the_stream_head_on(tmp_path):
    writer = open_store(f"file:{tmp_path}", writer="web", fsync=False)
    writer.append_many(INBOX, [webhook_received(webhook_id="old", timestamp="t", channel="a", message_id="m0")])
    reader = open_store(f"file:{tmp_path}", writer="worker", fsync=False, tail_poll_seconds=0.5)
    s = PollSchedule(["a", "b"], 3600.0, min_gap=0.0)
    while s.next_due()[0] is not None:
        pass
    for c in ("a", "b"):
        s.done(c)
    follower = InboxFollower(reader, s).start()
    try:
        time.sleep(0.3)
        assert s.wakes == 0  # what was in inbox before the start was polled for already
        writer.append_many(INBOX, [webhook_received(webhook_id="w1", timestamp="t", channel="b", message_id="m1")])
        began = time.monotonic()
        wait_until(lambda: s.wakes == 1, timeout=2, what="the wake from inbox")
        assert time.monotonic() - began < 2 and s.next_due()[0] == "b"
        writer.append_many(INBOX, [webhook_received(webhook_id="w2", timestamp="t", channel="zzz", message_id="m")])
        wait_until(lambda: follower.seen == 2, timeout=2)
        assert s.wakes == 1
    finally:
        follower.stop()
        reader.close()
        writer.close()
