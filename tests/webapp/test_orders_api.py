"""/api/orders, /api/positions, `execution` and `mode` in /api/status, time travel over them, `event: order` on the
live stream and the execution metrics — through the Flask client over a real file store fed with the executor's
events (the schema's constructors)."""

from __future__ import annotations

import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from autosig.clock import rfc3339
from autosig.schema import SKIP_REASONS
from autosig.web.reasons import SKIPS
from webapp.conftest import sig, synced, wait_until
from webapp.orders_feed import OrdersFeed

FIELDS = {"seq", "raw_seq", "channel", "source_id", "signal_index", "decision", "reason", "client_order_id", "status",
          "quantity", "limit_price", "filled_quantity", "average_fill_price", "text"}


def orders_synced(client, seq: int):
    return lambda: client.get("/api/status").get_json()["execution"]["orders_seq"] >= seq


@pytest.fixture
def orders(store) -> OrdersFeed:
    return OrdersFeed(store)


@pytest.fixture
def traded(client, feed, orders, store):
    """A paper executor: one entry filled, one working, one skipped by a cap, one exit missed; a reconciliation."""
    feed.started()
    feed.completed()
    r1, _ = feed.alert("BTO 2 SPY 600c 1/17 @ 1.25", source_id="m1", signals=[sig("SPY")])
    r2, _ = feed.alert("BTO QQQ 500p 1/17 @ 2.10", source_id="m2", signals=[sig("QQQ", right="P", strike=500.0)])
    r3, _ = feed.alert("BTO 10 NVDA 150c @ 4", source_id="m3", signals=[sig("NVDA", strike=150.0, price=4.0)])
    r4, _ = feed.alert("STC SPY 600c — out", source_id="m4", signals=[sig("SPY", action="close")])
    orders.started(mode="paper", broker="sim", account="PA31234")
    filled = orders.planned(r1, "m1", quantity=2, limit=1.35)
    orders.submitted(filled)
    orders.updated(filled, "partially_filled", 1, 1.30)
    orders.updated(filled, "filled", 2, 1.32)
    working = orders.planned(r2, "m2", ticker="QQQ", strike=500.0, right="P", quantity=1, limit=2.30)
    orders.submitted(working)
    orders.skipped(r3, "m3", "cap:max_daily_usd", "the entry would cost 4000.00 with 5000.00 left", ticker="NVDA")
    orders.skipped(r4, "m4", "market_closed", "the regular session is closed", ticker="SPY", action="close",
                   exit_missed=True)
    orders.reconciled(1, "SPY", ours=2, brokers=1)
    wait_until(orders_synced(client, store.last_seq("orders")))
    return {"filled": filled, "working": working, "raw": (r1, r2, r3, r4)}


def test_orders_newest_first_with_the_contract_fields_and_the_alert_text(client, traded):
    body = client.get("/api/orders").get_json()
    entries = body["orders"]
    assert [e["decision"] for e in entries] == ["skipped", "skipped", "planned", "planned"]
    assert all(FIELDS <= set(e) for e in entries)
    assert [e["seq"] for e in entries] == sorted((e["seq"] for e in entries), reverse=True)
    missed, capped, working, filled = entries
    assert filled["client_order_id"] == traded["filled"] and filled["status"] == "filled"
    assert (filled["quantity"], filled["limit_price"], filled["filled_quantity"], filled["average_fill_price"]) == \
        (2, 1.35, 2.0, 1.32)
    assert [(f["quantity"], f["price"]) for f in filled["fills"]] == [(1.0, 1.3), (1.0, 1.34)]
    assert filled["text"] == "BTO 2 SPY 600c 1/17 @ 1.25" and filled["reason"] is None
    assert working["status"] == "accepted" and working["status_text"] == "working at the broker"
    assert capped["reason"] == "cap:max_daily_usd" and capped["reason_text"] == "Today's entry budget is used up"
    assert capped["rule"] == "rule-cap-max_daily_usd" and capped["text"] == "BTO 10 NVDA 150c @ 4"
    assert missed["exit_missed"] is True and missed["reason"] == "market_closed"


def test_orders_filters_limit_and_after_seq(client, traded):
    def get(q: str) -> list[dict]:
        r = client.get("/api/orders?" + q)
        assert r.status_code == 200, r.get_json()
        return r.get_json()["orders"]

    assert [e["decision"] for e in get("status=skipped")] == ["skipped", "skipped"]
    assert [e["client_order_id"] for e in get("status=planned")] == [traded["working"], traded["filled"]]
    assert [e["client_order_id"] for e in get("status=filled")] == [traded["filled"]]
    assert [e["client_order_id"] for e in get("status=accepted")] == [traded["working"]]
    assert len(get("limit=1")) == 1
    everything = get("")
    oldest = everything[-1]["seq"]
    assert [e["seq"] for e in get(f"after_seq={oldest}")] == [e["seq"] for e in everything[:-1]]
    for bad in ("status=bogus", "limit=0", "limit=x", "after_seq=-1"):
        r = client.get("/api/orders?" + bad)
        assert r.status_code == 400 and r.get_json()["error"], bad
    assert len(get("limit=100000")) == 4  # capped, not refused


def test_positions_are_autosigs_own_with_p_and_l_and_the_brokers_difference(client, traded):
    body = client.get("/api/positions").get_json()
    assert body["scope"] == {"mode": "paper", "broker": "sim", "account": "1234"}
    [spy] = body["positions"]
    assert (spy["contract"], spy["quantity"], spy["average_cost"], spy["broker_quantity"]) == \
        ("SPY 600C 2027-01-17", 2, 1.32, 1)
    assert body["realized"] == {"total": 0.0, "today": 0.0}
    [recon] = body["reconciliations"]
    assert (recon["ours"], recon["brokers"], recon["change"]) == (2, 1, "closed by hand")


def test_status_has_the_executor_state_and_the_mode_from_its_start(client, traded, orders, feed, store):
    st = client.get("/api/status").get_json()
    ex = st["execution"]
    assert (ex["mode"], ex["broker"], ex["account"], ex["running"], ex["paused"]) == ("paper", "sim", "1234", True,
                                                                                       False)
    assert ex["open_orders"] == 1 and [w["client_order_id"] for w in ex["working"]] == [traded["working"]]
    assert ex["last_decision"]["decision"] == "skipped" and ex["last_decision"]["reason"] == "market_closed"
    assert ex["caps"]["max_open_positions"] == {"used": 2, "limit": 10}
    assert ex["caps"]["max_trades_per_day"] == {"used": 2, "limit": 20}
    assert ex["caps"]["max_daily_usd"]["used"] == pytest.approx(2 * 1.35 * 100 + 1 * 2.30 * 100)
    assert ex["strip"]["level"] == "paper" and ex["strip"]["headline"] == "PAPER — sim …1234"
    # the worker says dry run; the executor's start wins
    assert st["mode"] == {"dry_run": False, "live_trading": False}
    orders.started(mode="live", broker="alpaca", account="ACC99991234")
    wait_until(lambda: client.get("/api/status").get_json()["mode"]["live_trading"])
    strip = client.get("/api/status").get_json()["execution"]["strip"]
    assert strip["level"] == "live" and strip["headline"] == "LIVE — real money — alpaca …1234"
    orders.paused("fills look wrong", by="cli", cancel_entries=True)
    wait_until(lambda: client.get("/api/status").get_json()["execution"]["paused"])
    ex = client.get("/api/status").get_json()["execution"]
    assert ex["pause"]["by"] == "cli" and ex["pause"]["reason"] == "fills look wrong" and ex["pause"]["cancel_entries"]
    assert ex["strip"]["paused"]["reason"] == "fills look wrong"


def test_without_an_executor_the_mode_is_the_workers_and_the_strip_says_none_runs(client, feed):
    feed.started(dry_run=False, live=True)
    wait_until(synced(client, "worker", 1))
    st = client.get("/api/status").get_json()
    assert st["mode"] == {"dry_run": False, "live_trading": True}
    assert st["execution"]["strip"]["headline"] == "Executor never started — nothing is traded"
    assert st["execution"]["started"] is False and st["execution"]["caps"] == {}


def test_a_stopped_executor_says_so(client, feed, orders, store):
    feed.started()
    orders.started(mode="dry_run", broker="none", account=None)
    orders.stopped()
    wait_until(orders_synced(client, 2))
    strip = client.get("/api/status").get_json()["execution"]["strip"]
    assert strip["level"] == "stopped" and strip["headline"] == "Executor stopped at" and strip["at"]
    assert "it last ran in DRY RUN" in strip["detail"]


def test_time_travel_over_orders_positions_and_status(client, feed, orders, store):
    feed.started()
    r1, _ = feed.alert("BTO 2 SPY 600c 1/17 @ 1.25", source_id="m1", signals=[sig("SPY")])
    orders.started(mode="paper", broker="sim", account="PA31234")
    coid = orders.planned(r1, "m1")
    orders.submitted(coid)
    time.sleep(0.02)
    before_fill = time.time()
    time.sleep(0.02)
    orders.updated(coid, "filled", 2, 1.3)
    orders.paused("later", by="cli")
    wait_until(lambda: client.get("/api/status").get_json()["execution"]["paused"])
    q = "as_of=" + rfc3339(before_fill)
    past = client.get("/api/orders?" + q).get_json()
    assert past["as_of"] == rfc3339(before_fill) and [e["status"] for e in past["orders"]] == ["accepted"]
    assert client.get("/api/positions?" + q).get_json()["positions"] == []
    st = client.get("/api/status?" + q).get_json()
    assert st["execution"]["paused"] is False and st["execution"]["open_orders"] == 1
    # live: filled, held, paused
    assert [e["status"] for e in client.get("/api/orders").get_json()["orders"]] == ["filled"]
    assert len(client.get("/api/positions").get_json()["positions"]) == 1
    page = client.get("/orders?" + q).get_data(as_text=True)
    assert "Past view as of" in page and 'id="pause-form"' not in page and "working at the broker" in page


def test_live_stream_sends_each_change_of_a_decision(client, feed, orders, store):
    feed.started()
    r1, _ = feed.alert("BTO 2 SPY 600c 1/17 @ 1.25", source_id="m1", signals=[sig("SPY")])
    orders.started(mode="paper", broker="sim", account="PA31234")
    wait_until(orders_synced(client, 1))
    response = client.get("/api/stream", buffered=False)
    chunks = iter(response.response)
    next(chunks)  # connected
    coid = orders.planned(r1, "m1")
    orders.submitted(coid)
    orders.updated(coid, "filled", 2, 1.3)
    seen: list[dict] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(e["status"] == "filled" for e in seen):
        for block in next(chunks).decode().split("\n\n"):
            if block.startswith("event: order\n"):
                assert "\nid:" not in "\n" + block  # the signals' Last-Event-ID is left alone
                seen.append(json.loads(block.split("data: ", 1)[1]))
    response.close()
    assert seen and seen[-1]["status"] == "filled" and seen[-1]["client_order_id"] == coid
    assert {e["seq"] for e in seen} == {seen[0]["seq"]} and seen[-1]["text"] == "BTO 2 SPY 600c 1/17 @ 1.25"
    # a page rendered at an earlier orders seq gets every change since (orders_after)
    response = client.get("/api/stream?orders_after=1", buffered=False)
    chunks = iter(response.response)
    body = b"".join(next(chunks) for _ in range(2)).decode()
    response.close()
    assert body.count("event: order\n") == 1 and '"status":"filled"' in body


def test_metrics_count_outcomes_the_pause_and_unknown_sends(client, traded, orders, store):
    coid = orders.planned(traded["raw"][0], "m5", ticker="AMD")
    orders.unknown(coid)
    orders.paused(by="cli")
    wait_until(lambda: client.get("/api/status").get_json()["execution"]["paused"])
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))}
    outcomes = {s.labels["outcome"]: s.value for s in families["autosig_orders"].samples
                if s.name == "autosig_orders_total"}  # fmt: skip
    assert outcomes["planned"] == 3 and outcomes["skipped"] == 2 and outcomes["filled"] == 1
    assert outcomes["skipped:cap:max_daily_usd"] == 1 and outcomes["unknown"] == 1
    assert families["autosig_execution_paused"].samples[0].value == 1
    assert families["autosig_order_unknown"].samples[0].value == 1
    assert families["autosig_open_orders"].samples[0].value == 2


def test_every_skip_reason_has_words_and_a_rule():
    assert set(SKIPS) == set(SKIP_REASONS)
    assert all(words and rule for words, rule in SKIPS.values())
