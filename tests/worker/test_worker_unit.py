"""The poll loop driven in-process with a ManualClock: backoff, Retry-After, store failures, crash between appends."""

from __future__ import annotations

import errno
import threading

import pytest

import autosig.events.file as file_store
from autosig.clock import ManualClock
from autosig.config import Settings
from autosig.events import open_store
from autosig.redact import Secret
from autosig.schema import PARSED, RAW, WORKER
from autosig.sources.whop import BACKOFF_CAP_S, Page, WhopError
from autosig.worker import Worker


class FakeClient:
    """A Whop listing in memory; `script` is a list of exceptions/None consumed one per fetch (None = answer)."""

    def __init__(self, channel="chat_feed_T", page_size=10):
        self.channel = channel
        self.url = f"https://api.whop.com/api/v1/messages?channel_id={channel}"
        self.messages = []  # oldest first
        self.script = []
        self.fetches = 0
        self.page_size = page_size
        self.on_fetch = None

    def publish(self, n, start=0):
        for i in range(start, start + n):
            stamp = f"2026-01-05T15:{i // 60:02d}:{i % 60:02d}Z"
            self.messages.append(
                {
                    "id": f"m{i}",
                    "content": f"BTO {i} SPY 600c 1/17 @ 1.25",
                    "created_at": stamp,
                    "updated_at": stamp,
                    "user": {"id": "u", "username": "u", "name": "U"},
                }
            )

    def fetch_page(self, after=None):
        self.fetches += 1
        if self.on_fetch:
            self.on_fetch(self)
        if self.script:
            step = self.script.pop(0)
            if step is not None:
                raise step
        newest_first = self.messages[::-1]
        start = int(after) if after else 0
        chunk = newest_first[start : start + self.page_size]
        more = start + self.page_size < len(newest_first)
        return Page(chunk, str(start + self.page_size) if chunk else None, more, 200)


def _settings(tmp_path, **kw):
    base = dict(
        whop_alerts_urls=("https://api.whop.com/api/v1/messages?channel_id=chat_feed_T",),
        whop_access_token=Secret("tok"),
        poll_interval_seconds=30.0,
        store_url=f"file:{tmp_path}",
        log_dir=tmp_path,
        fsync=False,
        stale_after_seconds=90.0,
    )
    base.update(kw)
    return Settings(**base)


def _worker(tmp_path, client, clock=None, **kw):
    store = open_store(f"file:{tmp_path}", writer="worker", fsync=False)
    w = Worker(_settings(tmp_path, **kw), store, clock=clock or ManualClock(), client_factory=lambda url: client)
    return w, store


def _types(store, stream):
    return [e.type for e in store.read(stream)]


def test_5xx_backs_off_exponentially_then_resets_after_success(tmp_path):
    client = FakeClient()
    client.publish(3)
    clock = ManualClock()
    w, store = _worker(tmp_path, client, clock)
    client.script = [WhopError("http_5xx", "Whop server error (HTTP 503)", 503)] * 8 + [None]
    stop_after = 10

    def count(c):
        if c.fetches >= stop_after:
            w.stop.set()

    client.on_fetch = count
    assert w.run() == 0
    sleeps = clock.sleeps[:9]
    assert sleeps[0] == 30  # first failure: the normal interval
    for n, s in enumerate(sleeps[:8], 1):
        ceiling = min(BACKOFF_CAP_S, 30 * 2 ** (n - 1))
        assert max(30, ceiling / 2) <= s <= ceiling
    assert max(sleeps[:8]) > 150 and sleeps[8] == 30  # success: back to the poll interval
    failed = [e.data for e in store.read(WORKER) if e.type == "poll.failed"]
    assert len(failed) == 8 and {f["reason"] for f in failed} == {"http_5xx"}
    assert [f["retry_in_s"] for f in failed] == [round(s, 3) for s in sleeps[:8]]
    assert len(list(store.read(RAW))) == 3


def test_retry_after_is_honoured_and_default_is_60(tmp_path):
    client = FakeClient()
    clock = ManualClock()
    w, store = _worker(tmp_path, client, clock, poll_interval_seconds=5.0)
    w.start()
    client.script = [WhopError("rate_limited", "429", 429, 120.0)]
    assert w.poll_once() == 120.0
    client.script = [WhopError("rate_limited", "429", 429, None)]
    assert w.poll_once() == 60.0
    assert w.poll_once() == 5.0
    failed = [e.data for e in store.read(WORKER) if e.type == "poll.failed"]
    assert [(f["reason"], f["retry_in_s"], f["http_status"]) for f in failed] == [
        ("rate_limited", 120.0, 429),
        ("rate_limited", 60.0, 429),
    ]


def test_auth_failures_are_reported_every_poll_at_the_normal_pace(tmp_path):
    client = FakeClient()
    w, store = _worker(tmp_path, client)
    w.start()
    for _ in range(4):
        client.script = [WhopError("auth", "Whop refused the access token (HTTP 401)", 401)]
        assert w.poll_once() == 30.0
    assert [e.data["reason"] for e in store.read(WORKER) if e.type == "poll.failed"] == ["auth"] * 4


def test_store_refusing_writes_retries_with_backoff_and_records_store_failure(tmp_path, monkeypatch, capsys):
    client = FakeClient()
    client.publish(2)
    w, store = _worker(tmp_path, client)
    w.start()
    assert w.poll_once() == 30.0
    real = file_store.write_all
    failures = {"left": 4}

    def full_disk(fd, data):
        if failures["left"] > 0:
            failures["left"] -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, data)

    monkeypatch.setattr(file_store, "write_all", full_disk)
    client.publish(3, start=2)
    delays = [w.poll_once() for _ in range(4)]
    assert delays[0] == 30 and delays[-1] > delays[0]  # backing off
    assert "No space left on device" in capsys.readouterr().err
    assert len(list(store.read(RAW))) == 2  # nothing half-written surfaced
    assert w.poll_once() == 30.0  # writable again
    assert [e.data["source_id"] for e in store.read(RAW)] == ["m0", "m1", "m2", "m3", "m4"]
    outcomes = [e for e in store.read(WORKER) if e.type.startswith("poll.")]
    store_failure = outcomes[-2].data
    assert outcomes[-2].type == "poll.failed" and store_failure["reason"] == "store"
    assert store_failure["attempts"] == 4 and "No space left" in store_failure["detail"]
    assert outcomes[-1].type == "poll.completed" and outcomes[-1].data["new"] == 3
    assert sorted(e.data["raw_seq"] for e in store.read(PARSED)) == [1, 2, 3, 4, 5]


def test_crash_between_raw_and_parsed_append_leaves_no_hole(tmp_path, monkeypatch):
    client = FakeClient()
    client.publish(5)
    w, store = _worker(tmp_path, client)
    w.start()

    def crash(*a, **k):
        raise SystemExit("killed")  # as if the process died right after the raw append

    monkeypatch.setattr(w, "_parse", crash)
    with pytest.raises(SystemExit):
        w.poll_once()
    store.close()
    assert len(list(open_store(f"file:{tmp_path}").read(RAW))) == 5
    w2, store2 = _worker(tmp_path, client)
    w2.start()
    assert w2.index.seq - w2.parse.position == 5  # left to parse
    assert w2.poll_once() == 30.0
    assert sorted(e.data["raw_seq"] for e in store2.read(PARSED)) == [1, 2, 3, 4, 5]
    assert len(list(store2.read(RAW))) == 5  # nothing re-recorded


def test_new_parser_version_does_not_reparse_history_at_start(tmp_path):
    client = FakeClient()
    client.publish(4)
    w, store = _worker(tmp_path, client, parser_version="0")
    w.start()
    w.poll_once()
    w.shutdown()
    w2, store2 = _worker(tmp_path, client, parser_version="1")
    w2.start()
    assert w2.parse.position == w2.index.seq  # older history is `autosig reprocess`'s job
    client.publish(1, start=4)
    w2.poll_once()
    parsed = [(e.data["raw_seq"], e.data["parser_version"]) for e in store2.read(PARSED)]
    assert parsed == [(1, "0"), (2, "0"), (3, "0"), (4, "0"), (5, "1")]


def test_a_parser_crash_is_recorded_as_unparseable_and_ingestion_goes_on(tmp_path, monkeypatch):
    client = FakeClient()
    client.publish(2)
    w, store = _worker(tmp_path, client)
    w.start()
    monkeypatch.setattr(w.parse.stage.ctx, "parse", lambda raw, version: 1 / 0)
    assert w.poll_once() == 30.0
    parsed = [e.data for e in store.read(PARSED)]
    assert [(p["kind"], p["reason"]) for p in parsed] == [("unparseable", "parser error: ZeroDivisionError")] * 2


def test_stop_during_a_slow_fetch_abandons_the_poll_without_writing(tmp_path):
    client = FakeClient()
    release = threading.Event()
    w, store = _worker(tmp_path, client)
    w.start()
    client.on_fetch = lambda c: release.wait(10)
    threading.Timer(0.1, w.stop.set).start()
    assert w.poll_once() == 0.0
    release.set()
    assert _types(store, WORKER) == ["worker.started"]


def test_an_unexpected_client_error_is_reported_not_fatal(tmp_path):
    client = FakeClient()
    w, store = _worker(tmp_path, client)
    w.start()
    client.script = [KeyError("boom")]
    assert w.poll_once() == 30.0
    failed = [e.data for e in store.read(WORKER) if e.type == "poll.failed"]
    assert failed[0]["reason"] == "network" and "KeyError" in failed[0]["detail"]
    client.publish(1)
    w.poll_once()
    assert len(list(store.read(RAW))) == 1


def test_one_append_per_stream_per_poll_even_for_hundreds_of_alerts(tmp_path):
    client = FakeClient(page_size=50)
    client.publish(600)
    w, store = _worker(tmp_path, client)
    w.start()
    calls = []
    real = store.append_many

    def spy(stream, items):
        items = list(items)
        calls.append((stream, len(items)))
        return real(stream, items)

    store.append_many = spy
    w.poll_once()
    assert calls == [(RAW, 600), (PARSED, 600), (WORKER, 1)]
    calls.clear()
    client.publish(3, start=600)
    w.poll_once()
    assert calls == [(RAW, 3), (PARSED, 3), (WORKER, 1)]
    calls.clear()
    w.poll_once()  # nothing new: only the heartbeat
    assert calls == [(WORKER, 1)]


def test_one_failing_channel_does_not_hold_back_the_others(tmp_path):
    good, bad = FakeClient("chat_feed_good"), FakeClient("chat_feed_bad")
    good.publish(2)
    clients = {c.url: c for c in (good, bad)}
    store = open_store(f"file:{tmp_path}", writer="worker", fsync=False)
    settings = _settings(tmp_path, whop_alerts_urls=(good.url, bad.url))
    w = Worker(settings, store, clock=ManualClock(), client_factory=lambda url: clients[url])
    w.start()
    bad.script = [WhopError("auth", "Whop refused the access token (HTTP 403)", 403)]
    assert w.poll_once() == 30.0
    assert [e.data["channel"] for e in store.read(RAW)] == ["chat_feed_good", "chat_feed_good"]
    failed = [e.data for e in store.read(WORKER) if e.type == "poll.failed"]
    assert failed[0]["reason"] == "auth" and failed[0]["channel"] == "chat_feed_bad"
    assert failed[0]["detail"].startswith("chat_feed_bad: ")
