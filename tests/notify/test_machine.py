"""The pure state machine: which changes make a message, and that each makes exactly one."""

from __future__ import annotations

from autosig.clock import rfc3339
from autosig.events.record import Event
from autosig.notify import Baseline, NotifyMachine

T0 = 1_800_000_000.0


class Worker:
    """Worker-stream events at chosen times."""

    def __init__(self) -> None:
        self.seq = 0

    def ev(self, type_: str, at: float, **data) -> Event:
        self.seq += 1
        return Event(self.seq, f"id{self.seq}", type_, None, rfc3339(at), data, {}, "", "", b"")

    def started(self, at: float, stale: float = 90) -> Event:
        return self.ev("worker.started", at, poll_interval_seconds=30, stale_after_seconds=stale, parser_version="1")

    def ok(self, at: float) -> Event:
        return self.ev("poll.completed", at, new=0, gap=False)

    def auth(self, at: float) -> Event:
        return self.ev("poll.failed", at, reason="auth", detail="401 Unauthorized", http_status=401, retry_in_s=30)

    def timeout(self, at: float) -> Event:
        return self.ev("poll.failed", at, reason="timeout", detail="read timed out", http_status=None)


def machine(baseline_seq: int = 0, *, signals: bool = False) -> NotifyMachine:
    return NotifyMachine(Baseline(baseline_seq, 0, T0), signals=signals, daily_heads=False, active_version="1")


def deliver_all(m: NotifyMachine, now: float) -> list[str]:
    ids = [msg.id for msg in m.due(now)]
    for i in ids:
        m.mark_delivered(i)
    return ids


def test_fresh_ingestion_sends_nothing_and_staleness_one_message():
    m, w = machine(), Worker()
    m.apply_worker(w.started(T0))
    for i in range(1, 4):
        m.apply_worker(w.ok(T0 + 30 * i))
    assert deliver_all(m, T0 + 100) == []
    # the last success was at T0+90, stale after 90 s
    assert deliver_all(m, T0 + 180) == []
    [stale] = m.due(T0 + 181)
    assert stale.id == "stale:4" and stale.state == "stale" and stale.kind == "ingestion"
    assert stale.at == rfc3339(T0 + 180) and "STALE" in stale.text
    m.mark_delivered(stale.id)
    assert deliver_all(m, T0 + 5000) == []  # still stale: nothing more


def test_recovery_is_one_message_and_a_new_stall_is_a_new_message():
    m, w = machine(), Worker()
    m.apply_worker(w.started(T0))
    m.apply_worker(w.ok(T0 + 1))
    assert deliver_all(m, T0 + 200) == ["stale:2"]
    m.apply_worker(w.ok(T0 + 300))
    assert deliver_all(m, T0 + 301) == ["recovered:3"]
    m.apply_worker(w.ok(T0 + 330))
    assert deliver_all(m, T0 + 340) == []
    assert deliver_all(m, T0 + 500) == ["stale:4"]


def test_auth_failures_make_one_message_not_one_per_poll():
    m, w = machine(), Worker()
    m.apply_worker(w.started(T0, stale=10_000))
    m.apply_worker(w.ok(T0 + 1))
    for i in range(20):
        m.apply_worker(w.auth(T0 + 2 + i))
        if i == 5:
            m.apply_worker(w.timeout(T0 + 2.5 + i))  # another failure in between is the same episode
    due = m.due(T0 + 30)
    assert [d.id for d in due] == ["auth:3"]
    assert due[0].state == "auth_failed" and "REJECTS THE TOKEN" in due[0].text and "401" in due[0].text
    m.mark_delivered("auth:3")
    m.apply_worker(w.ok(T0 + 40))
    [rec] = m.due(T0 + 41)
    assert rec.state == "recovered" and rec.details["ended"] == ["auth_failed"]


def test_a_stall_nobody_reported_is_reported_late_before_its_recovery():
    m, w = machine(), Worker()
    m.apply_worker(w.started(T0))
    m.apply_worker(w.ok(T0 + 1))
    m.apply_worker(w.ok(T0 + 1000))  # the sender was not running while it was stale
    assert [d.id for d in m.due(T0 + 1001)] == ["stale:2", "recovered:3"]


def test_history_before_the_baseline_is_not_replayed_but_a_current_stall_is_announced():
    w = Worker()
    events = [w.started(T0), w.ok(T0 + 1), w.auth(T0 + 2), w.ok(T0 + 500), w.auth(T0 + 560)]
    m = machine(baseline_seq=len(events))
    for e in events:
        m.apply_worker(e)
    # the old stall/auth episode ended before notifications began: nothing about it; the ongoing auth failure: yes
    assert [d.id for d in m.due(T0 + 580)] == ["auth:5"]
    # and once stale (no success since T0+500), that too
    assert [d.id for d in m.due(T0 + 700)] == ["auth:5", "stale:4"]


def test_never_polled_counts_from_the_worker_start():
    m, w = machine(), Worker()
    assert m.due(T0 + 10) == []
    m.apply_worker(w.started(T0 + 50))
    assert m.due(T0 + 100) == []
    [stale] = m.due(T0 + 141)
    assert stale.id == "stale:0" and "has not completed a poll" in stale.text
    m.mark_delivered(stale.id)
    m.apply_worker(w.ok(T0 + 200))
    assert [d.id for d in m.due(T0 + 201)] == ["recovered:2"]


def test_delivered_records_from_the_notifications_stream_suppress_resending():
    m, w = machine(), Worker()
    m.apply_worker(w.started(T0))
    m.apply_worker(w.auth(T0 + 1))
    note = Event(2, "n", "notification.delivered", "auth:2", rfc3339(T0 + 2), {"id": "auth:2"}, {}, "", "", b"")
    m.apply_notification(note)
    assert [d.id for d in m.due(T0 + 3)] == []


def test_signals_one_message_per_new_signal_not_for_reprocessed_history():
    m = machine(signals=True)

    def parsed(seq: int, raw_seq: int, kind: str = "signal", version: str = "1") -> Event:
        sig = {"action": "open", "ticker": "SPY", "legs": [{"strike": 600.0, "right": "C", "expiry": "2027-01-17"}],
               "price": 1.25}
        data = {"raw_seq": raw_seq, "source_id": f"m{raw_seq}", "parser_version": version, "kind": kind,
                "signals": [sig] if kind == "signal" else []}
        return Event(seq, f"p{seq}", "alert.parsed", None, rfc3339(T0 + seq), data, {}, "", "", b"")

    m.apply_parsed(parsed(1, 1))
    m.apply_parsed(parsed(2, 2, kind="non_signal"))
    m.apply_parsed(parsed(3, 3, version="2"))  # not the active parser
    m.apply_parsed(parsed(4, 1))  # a re-parse of old history
    due = [d for d in m.due(T0) if d.kind == "signal"]
    assert [d.id for d in due] == ["signal:1"]
    assert due[0].text == "AutoSig signal: OPEN SPY 600C 2027-01-17 @ 1.25"


def test_daily_heads_due_once_per_utc_day():
    m = NotifyMachine(Baseline(0, 0, T0), stale_after_seconds=1e9)
    [h] = [d for d in m.due(T0) if d.kind == "heads"]
    m.mark_delivered(h.id)
    assert [d for d in m.due(T0 + 60) if d.kind == "heads"] == []
    [h2] = [d for d in m.due(T0 + 86_400) if d.kind == "heads"]
    assert h2.id != h.id and h2.id.startswith("heads:")
