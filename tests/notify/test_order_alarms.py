"""The alarms of execution: one message per fill, refusal, unknown or unverified outcome, missed exit, pause and resume,
and the daily loss cap reached — from the machine's events alone (pure), and through the real gunicorn command with
two workers (each runs a sender, one is elected) to a real webhook receiver: each change exactly once."""

from __future__ import annotations

import time

from webapp.conftest import Feed
from webapp.orders_feed import OrdersFeed
from webapp.test_gunicorn import Feeder, Server

from autosig.clock import rfc3339
from autosig.events import open_store
from autosig.events.record import Event
from autosig.notify import Baseline, NotifyMachine
from autosig.schema import CONTROL, ORDERS

T0 = 1_800_000_000.0


class Recorder:
    """An in-memory store for the constructors' drafts: each append becomes an Event of its stream, stamped T0+seq."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Event]] = []
        self.seqs = {ORDERS: 0, CONTROL: 0}

    def append_many(self, stream: str, drafts: list) -> list[Event]:
        out = []
        for type_, data, _meta, key in drafts:
            self.seqs[stream] += 1
            seq = self.seqs[stream]
            event = Event(seq, f"id{seq}", type_, key, rfc3339(T0 + len(self.events)), data, {}, "", "", b"")
            self.events.append((stream, event))
            out.append(event)
        return out


def run(baseline: Baseline | None = None, *, before=None, after=None) -> list:
    """Feeds what `before` appends as history (up to the baseline) and what `after` appends as new; the messages due."""
    rec = Recorder()
    feed = OrdersFeed(rec)
    if before is not None:
        before(feed)
    base = baseline or Baseline(0, 0, T0 - 1, rec.seqs[ORDERS], rec.seqs[CONTROL])
    if after is not None:
        after(feed)
    m = NotifyMachine(base, daily_heads=False)
    for stream, event in rec.events:
        m.apply(stream, event)
    return m.due(T0)


def test_fills_refusals_unknown_and_unverified_outcomes_each_say_so_once():
    def after(f: OrdersFeed) -> None:
        f.started(mode="paper", broker="sim", account="PA31234")
        a = f.planned(1, "m1", quantity=2, limit=1.35)
        f.submitted(a)
        f.updated(a, "partially_filled", 1, 1.30)
        f.updated(a, "filled", 2, 1.32)
        f.updated(a, "filled", 2, 1.32)  # a repeat adds nothing
        b = f.planned(2, "m2", ticker="QQQ")
        f.failed(b, "refused", "insufficient buying power")
        c = f.planned(3, "m3", ticker="IWM")
        f.unknown(c, 1)
        f.unknown(c, 2)  # still the same unknown outcome
        f.failed(c, "unverified", "not found in the session's orders twice, 5 s apart")
        d = f.planned(4, "m4", ticker="AMD")
        f.submitted(d)
        f.updated(d, "rejected", 0, None)
        e = f.planned(5, "m5", ticker="TSLA")
        f.failed(e, "paused", "execution was paused before the send")  # the user paused it: no alarm

    due = run(after=after)
    assert [(m.id.split(":")[0], m.state) for m in due] == [
        ("fill", "filled"), ("fill", "filled"), ("refused", "refused"), ("unknown", "unknown"),
        ("unverified", "unverified"), ("rejected", "rejected")]
    assert all(m.kind == "orders" for m in due)
    first, second = due[0].text, due[1].text
    assert first == "AutoSig FILLED (PAPER sim …1234): bought 1 of 2 SPY 600C 2027-01-17 at 1.3 on average."
    assert second.endswith("bought 2 of 2 SPY 600C 2027-01-17 at 1.32 on average — complete.")
    assert "REFUSED" in due[2].text and "insufficient buying power" in due[2].text and "BUY 2 QQQ" in due[2].text
    assert "UNKNOWN OUTCOME" in due[3].text and due[3].id.startswith("unknown:as-")
    assert "never resent" in due[4].text
    assert due[0].details["client_order_id"] == due[1].details["client_order_id"]


def test_dry_run_sends_nothing_for_its_plans():
    def after(f: OrdersFeed) -> None:
        f.started(mode="dry_run", broker="none", account=None)
        f.planned(1, "m1")

    assert run(after=after) == []


def test_missed_exits_the_switch_and_the_loss_cap():
    def after(f: OrdersFeed) -> None:
        f.started(mode="live", broker="alpaca", account="ACC99991234")
        f.skipped(1, "m1", "market_closed", "the regular session is closed", ticker="SPY", action="close",
                  exit_missed=True)
        f.skipped(2, "m2", "market_closed", "the regular session is closed", ticker="QQQ")  # an entry: no alarm
        f.paused("fills look wrong", by="dashboard", cancel_entries=True)
        f.resumed("checked", by="cli")
        f.skipped(3, "m3", "cap:max_daily_loss_usd", "realized today -512.00 (cap 500)", ticker="NVDA")
        f.skipped(4, "m4", "cap:max_daily_loss_usd", "realized today -512.00 (cap 500)", ticker="AMD")  # same day

    due = run(after=after)
    assert [m.state for m in due] == ["exit_missed", "paused", "resumed", "loss_cap"]
    missed, paused, resumed, cap = due
    assert missed.text.startswith("AutoSig EXIT MISSED (LIVE, real money alpaca …1234): the analyst left a position "
                                  "(close SPY) that AutoSig still holds")
    assert paused.id == "paused:1" and paused.text == (
        "AutoSig: execution PAUSED by dashboard: fills look wrong. No new order is sent until it is resumed. "
        "Working entries are cancelled.")
    assert resumed.id == "resumed:2" and "RESUMED by cli: checked" in resumed.text
    assert cap.id.startswith("loss_cap:20") and "DAILY LOSS CAP" in cap.text


def test_changes_of_both_streams_are_sent_in_the_order_they_happened():
    """The orders and control streams are followed by separate threads: a pause read before an earlier fill of the
    other stream is still sent after it."""
    rec = Recorder()
    feed = OrdersFeed(rec)
    feed.started(mode="paper", broker="sim", account="PA31234")
    coid = feed.planned(1, "m1", quantity=2)
    feed.submitted(coid)
    feed.updated(coid, "filled", 2, 1.3)
    feed.paused("phone", by="dashboard")
    m = NotifyMachine(Baseline(0, 0, T0 - 1, 0, 0), daily_heads=False)
    for stream, event in sorted(rec.events, key=lambda se: se[0] != CONTROL):  # the control stream's thread first
        m.apply(stream, event)
    assert [d.state for d in m.due(T0)] == ["filled", "paused"]


def test_history_is_not_announced_but_still_known():
    held = {}

    def before(f: OrdersFeed) -> None:
        f.started(mode="paper", broker="sim", account="PA31234")
        coid = f.planned(1, "m1", quantity=2)
        f.submitted(coid)
        f.updated(coid, "filled", 2, 1.3)
        f.paused("old", by="cli")
        b = f.planned(2, "m2", ticker="QQQ")
        f.submitted(b)
        held["working"] = b

    def after(f: OrdersFeed) -> None:
        f.updated(held["working"], "filled", 2, 1.4)  # an order planned before the baseline fills after it

    due = run(before=before, after=after)
    assert [m.state for m in due] == ["filled"] and "QQQ" in due[0].text and "PAPER sim …1234" in due[0].text


def test_a_baseline_older_than_the_orders_stream_counts_by_time():
    """A baseline written before orders existed has no orders seq: events stamped after it are new."""
    def after(f: OrdersFeed) -> None:
        f.paused("now", by="dashboard")

    assert [m.id for m in run(Baseline(0, 0, T0 - 1), after=after)] == ["paused:1"]
    assert run(Baseline(0, 0, T0 + 10), after=after) == []


def test_through_gunicorn_each_change_is_one_message(log_dir, receiver):
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.started(stale=1e6)
    feed.completed()
    orders = OrdersFeed(store)
    orders.started(mode="paper", broker="sim", account="PA31234")
    early = orders.planned(1, "m0")  # before notifications began: its outcome is still announced, not its plan
    store.close()
    server = Server(log_dir, {"AUTOSIG_NOTIFY_URL": receiver.url, "AUTOSIG_TAIL_POLL_SECONDS": "0.05"})
    feeder = Feeder(log_dir)
    try:
        assert len(server.pids) == 2
        receiver.wait_for(lambda: (log_dir / "notifications.jsonl").exists(), timeout=10)

        def call(name: str, **kwargs):
            return feeder("orders", call=name, **kwargs)["result"]

        call("started", mode="paper", broker="sim", account="PA31234")  # the feeding process's own executor view
        call("submitted", coid=early)
        call("updated", coid=early, status="filled", filled=2, average=1.31)
        coid = call("planned", raw_seq=2, source_id="m1", ticker="QQQ")
        call("unknown", coid=coid)
        call("failed", coid=coid, reason="unverified", detail="not in the session twice")
        call("skipped", raw_seq=3, source_id="m2", reason="stale_alert", detail="posted 400 s ago", action="close",
             exit_missed=True)
        call("paused", reason="phone", by="dashboard")
        call("resumed", by="dashboard")
        want = ["filled", "unknown", "unverified", "exit_missed", "paused", "resumed"]
        def sent() -> list[dict]:
            return [b for b in receiver.delivered() if b["kind"] == "orders"]

        receiver.wait_for(lambda: len(sent()) >= len(want), timeout=20)
        time.sleep(1.5)  # both processes had time to send twice if they would
        states = [b["state"] for b in sent()]
        # each stream's changes in its order; orders and control are separate streams, followed by separate threads,
        # so a change to one can be sent before an earlier change to the other that its thread had not read yet
        assert [s for s in states if s not in ("paused", "resumed")] == want[:4]
        assert [s for s in states if s in ("paused", "resumed")] == want[4:]
        ids = receiver.ids()
        assert len(ids) == len(set(ids))
        assert "s3cr3t-webhook-token" not in (log_dir / "notifications.jsonl").read_text()
    finally:
        feeder.close()
        server.stop()
