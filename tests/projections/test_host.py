"""The host over a real file store: catch-up, follow, rebuild after a replaced stream, errors kept out of requests."""

from __future__ import annotations

import os
import threading
import time

from webapp.conftest import Feed, sig, wait_until
from webapp.orders_feed import OrdersFeed

from autosig.events import open_store
from autosig.projections import Projections
from autosig.projections.host import Host
from autosig.schema import ORDERS, PARSED, RAW, alert_parsed


def make_host(log_dir) -> Host:
    return Host(
        lambda: open_store(f"file:{log_dir}", writer="web", fsync=False, tail_poll_seconds=0.05),
        lambda: Projections("1"),
    )


def tickers(host: Host) -> list[str]:
    return host.read(lambda p: [s["signal"]["ticker"] for s in p.signals.signals()])


def test_catch_up_then_follow(log_dir):
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.alert("BTO A", signals=[sig("A")])
    host = make_host(log_dir)
    before = threading.active_count()
    assert host.read(lambda p: p.last_seq("raw")) == 0  # nothing runs before start()
    assert threading.active_count() == before
    host.start()
    try:
        assert host.wait_ready(5)
        assert tickers(host) == ["A"]
        version = host.version
        feed.alert("BTO B", signals=[sig("B")])
        wait_until(lambda: tickers(host) == ["B", "A"], timeout=2)
        assert host.wait_change(version, 0.01) > version
        host.start()  # idempotent in one process
        assert host.ready_seconds is not None
    finally:
        host.stop()
        store.close()


def test_replaced_stream_rebuilds_every_projection(log_dir):
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    for t in ("A", "B", "C"):
        feed.alert(f"BTO {t}", signals=[sig(t)])
    host = make_host(log_dir)
    host.start()
    try:
        assert host.wait_ready(5)
        assert tickers(host) == ["C", "B", "A"]
        generation = host.generation
        # replace both streams with a shorter history (what restoring a backup looks like)
        other = log_dir.parent / "other"
        other.mkdir()
        s2 = open_store(f"file:{other}", writer="test", fsync=False)
        Feed(s2).alert("BTO Z", signals=[sig("Z")])
        s2.close()
        for name in ("alerts_raw.jsonl", "alerts_parsed.jsonl"):
            os.replace(other / name, log_dir / name)
        wait_until(lambda: tickers(host) == ["Z"], timeout=5)
        assert host.generation > generation
        # and it keeps following the new files
        s3 = open_store(f"file:{log_dir}", writer="test", fsync=False)
        Feed(s3).alert("BTO Y", signals=[sig("Y")])
        s3.close()
        wait_until(lambda: tickers(host) == ["Y", "Z"], timeout=5)
    finally:
        host.stop()
        store.close()


def test_stop_ends_every_thread(log_dir):
    host = make_host(log_dir)
    before = threading.active_count()
    host.start()
    assert host.wait_ready(5)
    host.stop()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(t.name.startswith("autosig-") for t in threading.enumerate()):
        time.sleep(0.05)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("autosig-")]
    assert threading.active_count() <= before + 1  # the store's file watcher may outlive the host


def test_a_ledger_that_must_replay_everything_is_rebuilt_beside_the_published_state(log_dir):
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.started(version="1")
    raw_seq, _ = feed.alert("BTO SPY", signals=[sig("SPY", price=1.0)], created_at="2027-01-14T15:00:00Z")
    feed.alert("STC SPY", signals=[sig("SPY", action="close", price=2.0)], created_at="2027-01-14T15:10:00Z")
    host = make_host(log_dir)
    host.start()
    try:
        assert host.wait_ready(5) and host.want_ledger(5)
        first = host.read(lambda p: p.ledger)
        assert host.read(lambda p: p.ledger.summary()["totals"]["realized"]) == 100.0
        # parser v2 read the opening alert differently, and the worker now runs v2: every settled message changed
        store.append_many(PARSED, [
            alert_parsed(raw_seq, "x", "2", {"kind": "signal", "reason": None, "signals": [sig("SPY", price=1.5)]}),
            alert_parsed(raw_seq + 1, "y", "2",
                         {"kind": "signal", "reason": None, "signals": [sig("SPY", action="close", price=2.0)]}),
        ])  # fmt: skip
        feed.started(version="2")
        wait_until(lambda: host.read(lambda p: p.ledger.needs_replay), timeout=2)
        # a ledger request builds a new one off the lock: meanwhile the rest follows the streams
        generation = host.generation
        assert host.want_ledger(5)
        assert host.read(lambda p: p.ledger) is not first and host.generation == generation
        summary = host.read(lambda p: p.ledger.summary())
        assert summary["parser_version"] == "2" and summary["totals"]["realized"] == 50.0
        feed.alert("BTO QQQ", signals=[sig("QQQ", price=1.0)], version="2", created_at="2027-01-14T15:20:00Z")
        wait_until(lambda: host.read(lambda p: len(p.ledger.positions())) == 1, timeout=2)
    finally:
        host.stop()
        store.close()


def test_ledger_is_built_on_first_request_and_then_followed(log_dir):
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.alert("BTO SPY", signals=[sig("SPY", price=1.0)], created_at="2027-01-14T15:00:00Z")
    host = make_host(log_dir)
    host.start()
    try:
        assert host.wait_ready(5)
        # left out until asked for: its memory and replay grow with the whole history
        assert host.read(lambda p: p.ledger) is None and tickers(host) == ["SPY"]
        generation = host.generation
        assert host.want_ledger(5)
        # built beside the published state, which kept following the streams: no rebuild of the rest
        assert host.generation == generation
        assert host.read(lambda p: len(p.ledger.positions())) == 1
        feed.alert("STC SPY", signals=[sig("SPY", action="close", price=2.0)], created_at="2027-01-14T15:10:00Z")
        wait_until(lambda: host.read(lambda p: p.ledger.summary()["totals"]["realized"]) == 100.0, timeout=2)
        assert host.want_ledger(0) and host.generation == generation
    finally:
        host.stop()
        store.close()


def test_a_read_error_is_cleared_once_the_stream_answers_again(log_dir):
    """A follower whose tail failed (a database blip) resumes; its error must not stay on /api/status for as long
    as the resumed tail runs, which is until the next rebuild."""
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.alert("BTO A", signals=[sig("A")])
    reader = open_store(f"file:{log_dir}", writer="web", fsync=False, tail_poll_seconds=0.05)
    real_tail = reader.tail
    failures = {"raw": 1}

    def flaky_tail(stream, *args, **kwargs):
        if failures.get(stream):
            failures[stream] -= 1
            raise OSError("the database went away")
        return real_tail(stream, *args, **kwargs)

    reader.tail = flaky_tail
    host = Host(lambda: reader, lambda: Projections("1"))
    host.start()
    try:
        assert host.wait_ready(5)
        wait_until(lambda: failures["raw"] == 0, timeout=2)
        feed.alert("BTO B", signals=[sig("B")])
        wait_until(lambda: tickers(host) == ["B", "A"], timeout=5)  # the resumed tail follows the stream
        wait_until(lambda: host.errors == {}, timeout=2)
    finally:
        host.stop()
        store.close()


def test_a_decision_is_applied_after_the_alert_it_names_though_its_stream_is_read_first(log_dir):
    """Each stream has its own follower: when the raw one lags, a decision must still not be seen (on the page, in
    the live stream) before its alert, or it shows without its text."""
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.alert("BTO A", signals=[sig("A")])
    reader = open_store(f"file:{log_dir}", writer="web", fsync=False, tail_poll_seconds=0.05)
    real_tail = reader.tail

    def slow_raw_tail(stream, *args, **kwargs):
        for event in real_tail(stream, *args, **kwargs):
            if stream == RAW:
                time.sleep(0.5)  # the raw follower is behind the orders one
            yield event

    reader.tail = slow_raw_tail
    host = Host(lambda: reader, lambda: Projections("1"))
    host.start()
    seen = []
    try:
        assert host.wait_ready(5)
        raw_seq, _ = feed.alert("BTO 2 SPY 600c 1/17 @ 1.25", source_id="m2", signals=[sig("SPY")])
        OrdersFeed(store, channel="chat_feed_x").planned(raw_seq, "m2")

        def decided() -> bool:
            state = host.read(lambda p: (p.last_seq(ORDERS), p.signals.text(raw_seq)))
            seen.append(state)
            return state[0] > 0

        wait_until(decided, timeout=5)
        assert seen[-1][1] == "BTO 2 SPY 600c 1/17 @ 1.25"
    finally:
        host.stop()
        store.close()


def test_decisions_naming_an_alert_that_never_comes_wait_once_not_each(log_dir, monkeypatch):
    monkeypatch.setattr("autosig.projections.host.CAUSAL_WAIT_SECONDS", 0.5)
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    Feed(store).alert("BTO A", signals=[sig("A")])
    host = make_host(log_dir)
    host.start()
    try:
        assert host.wait_ready(5)
        orders = OrdersFeed(store, channel="chat_feed_x")
        started = time.monotonic()
        for n in range(10):
            orders.planned(1000 + n, f"m{n}")  # raw seqs never written
        wait_until(lambda: host.read(lambda p: p.last_seq(ORDERS)) == 10, timeout=10)
        assert time.monotonic() - started < 3.5  # one wait of 0.5 s, not ten (5 s)
        assert host.read(lambda p: p.signals.text(1000)) is None
    finally:
        host.stop()
        store.close()
