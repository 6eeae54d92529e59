"""The execute stage in-process, against the fake broker with a ManualClock: gates, sizing, the exactly-once protocol
and AutoSig's own positions. (Process-level crash tests run `python main.py` against the HTTP broker simulator.)"""

from __future__ import annotations

from decimal import Decimal

import pytest

from autosig.brokers.errors import OutcomeUnknown, RateLimited, Refused
from autosig.schema import CONTROL, execution_paused, execution_resumed
from stages.execute_harness import Harness, option
from stages.fake_broker import FakeBroker


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path, FakeBroker)
    harness.start()
    return harness


def sent(h) -> list:
    return [e.data for e in h.orders("order.submitted")]


def test_a_fresh_open_is_planned_sent_once_and_filled(h):
    h.alert(option(price=1.25))
    h.run()
    (plan,) = [e.data for e in h.orders("order.planned")]
    assert plan["quantity"] == 4 and plan["limit_price"] == 1.37  # usd:500 at 1.25 x 100; 1.25 x 1.10 rounded down
    assert plan["legs"] == [{"symbol": "SPY270115C00600000", "side": "buy", "position_intent": "buy_to_open",
                             "ratio": 1}]  # fmt: skip
    assert plan["client_order_id"].startswith("as-") and len(plan["client_order_id"]) == 27
    assert h.broker.counts == {plan["client_order_id"]: 1}
    assert [e.data["status"] for e in h.orders("order.updated")] == ["filled"]
    (position,) = h.stage.book.positions()
    assert position["quantity"] == 4 and position["average_cost"] == 1.37


def test_a_stale_backlog_is_skipped_and_nothing_reaches_the_broker(h):
    for _ in range(5):
        h.alert(option(), age=600)
    h.run()
    assert h.decisions() == [("order.skipped", "stale_alert")] * 5
    assert h.broker.counts == {}


def test_a_reposted_open_is_already_open(h):
    h.alert(option())
    h.alert(option())
    h.run()
    assert h.decisions() == [("order.planned", None), ("order.skipped", "already_open")]


@pytest.mark.parametrize(("held", "sold"), [(3, 1), (1, 1), (4, 2)])
def test_a_trim_of_half_sells_half_rounded_down_and_at_least_one(tmp_path, held, sold):
    h = Harness(tmp_path, FakeBroker, AUTOSIG_SIZE=f"fixed:{held}")
    h.start()
    opened = h.alert(option())
    h.alert(option("trim", fraction=0.5, price=1.6), reply_to=opened)
    h.run()
    exits = [e.data for e in h.orders("order.planned") if e.data["effect"] == "exit"]
    assert [x["quantity"] for x in exits] == [sold]
    assert exits[0]["legs"][0]["side"] == "sell" and exits[0]["legs"][0]["position_intent"] == "sell_to_close"
    assert h.stage.book.positions()[0]["quantity"] == held - sold if held > sold else h.stage.book.positions() == []


def test_a_close_after_a_partial_fill_sells_only_what_filled_and_cancels_the_rest(tmp_path):
    h = Harness(tmp_path, lambda clock: FakeBroker(clock, fill="half"), AUTOSIG_SIZE="fixed:4")
    h.start()
    h.alert(option())
    h.run()
    h.broker.fill = "all"
    h.alert(option("close", price=1.5))
    h.run()
    entry, exit_ = [e.data for e in h.orders("order.planned")]
    assert exit_["quantity"] == 2  # what filled
    cancels = [e.data for e in h.orders("order.cancel_requested")]
    assert cancels == [{"client_order_id": entry["client_order_id"], "reason": "exit"}]
    assert h.broker.cancels  # the working rest was cancelled at the broker before the exit was sized
    assert h.stage.book.positions() == []


def test_a_close_of_what_autosig_never_bought_is_no_position_even_when_the_account_holds_it(h):
    h.broker.held["SPY270115C00600000"] = 10  # the account held it before AutoSig
    h.alert(option("close", price=1.5))
    h.run()
    assert h.decisions() == [("order.skipped", "no_position")]
    assert h.broker.counts == {}


def test_the_504_after_accept_is_unknown_then_found_and_sent_once(h):
    h.broker.faults["submit"] = ["accept_then_504"]
    h.alert(option())
    h.run()
    coid = h.orders("order.planned")[0].data["client_order_id"]
    assert [e.type for e in h.orders() if e.type.startswith("order.")][1:3] == ["order.unknown", "order.submitted"]
    assert h.broker.counts[coid] == 1


def test_a_429_waits_as_told_and_sends_again(h):
    h.broker.faults["submit"] = [RateLimited("slow down", retry_after=7.0)]
    h.alert(option())
    h.run()
    assert 7.0 in h.clock.sleeps
    assert len(sent(h)) == 1 and sum(h.broker.counts.values()) == 1


def test_a_refusal_is_confirmed_by_one_lookup(h):
    h.broker.faults["submit"] = [Refused("insufficient buying power", http_status=403)]
    h.alert(option())
    h.run()
    (failed,) = [e.data for e in h.orders("order.failed")]
    assert failed["reason"] == "refused" and "insufficient buying power" in failed["detail"]


def test_an_unknown_outcome_the_broker_never_saw_is_sent_again_while_fresh(h):
    h.broker.faults["submit"] = [OutcomeUnknown("connection reset", maybe_sent=False)]
    h.alert(option())
    h.run()
    coid = h.orders("order.planned")[0].data["client_order_id"]
    assert h.broker.counts[coid] == 1 and len(sent(h)) == 1  # absent at the broker: sent again, once


def test_tradier_like_absence_after_two_looks_is_unverified_and_never_resent(tmp_path):
    h = Harness(tmp_path, lambda clock: FakeBroker(clock, unique_ids=False))
    h.broker.name = "tradier"
    h.start()
    h.broker.faults["submit"] = [OutcomeUnknown("no answer", maybe_sent=True)]
    h.alert(option())
    h.run()
    assert h.orders("order.failed") == [] and h.clock.sleeps == []  # the second look is the timers', not a wait
    h.clock.advance(4)
    h.stage._next_poll = 0
    h.run()
    assert h.orders("order.failed") == []  # not yet 5 s since the first look
    h.clock.advance(1)
    h.stage._next_poll = 0
    h.run()
    (failed,) = [e.data for e in h.orders("order.failed")]
    assert failed["reason"] == "unverified"
    assert h.broker.counts == {}
    h.clock.advance(60)
    h.run()
    assert h.broker.counts == {}  # never sent again


def test_dry_run_sends_nothing_and_its_plans_stay_final_after_a_switch_to_paper(tmp_path):
    h = Harness(tmp_path, FakeBroker, DRY_RUN="true")
    h.start()
    h.alert(option())
    h.run()
    (plan,) = h.orders("order.planned")
    assert plan.data["mode"] == "dry_run" and h.broker.counts == {}
    assert h.stage.book.positions()[0]["quantity"] == 4  # dry run follows what it would hold
    paper = Harness(tmp_path, FakeBroker)
    paper.clock = h.clock
    paper.start()
    paper.run()
    assert paper.broker.counts == {}  # a dry-run plan is never sent


def test_the_first_start_on_a_store_with_history_decides_nothing_of_it(tmp_path):
    h = Harness(tmp_path, FakeBroker)
    h.alert(option())  # before the executor ever started
    h.start()
    h.run()
    assert h.decisions() == []
    h.alert(option(ticker="QQQ"))
    h.run()
    assert h.decisions() == [("order.planned", None)]


def test_pause_is_honoured_before_the_next_decision_and_resume_restarts(h):
    h.store.append_many(CONTROL, [execution_paused(by="cli", reason="checking", cancel_entries=False)])
    h.alert(option())
    h.run()
    assert h.decisions() == [("order.skipped", "paused")] and h.broker.counts == {}
    h.store.append_many(CONTROL, [execution_resumed(by="cli", reason="")])
    h.alert(option(ticker="QQQ"))
    h.run()
    assert h.decisions()[-1] == ("order.planned", None) and len(h.broker.counts) == 1


def test_a_planned_order_unsent_when_paused_fails_paused(h):
    h.alert(option())
    h.runner.recover()
    original = h.stage.desk.send

    def pause_first(order):
        h.store.append_many(CONTROL, [execution_paused(by="dashboard", reason="stop", cancel_entries=False)])
        original(order)

    h.stage.desk.send = pause_first
    h.run()
    assert [e.data["reason"] for e in h.orders("order.failed")] == ["paused"] and h.broker.counts == {}


def test_an_entry_not_filled_in_time_is_cancelled(tmp_path):
    h = Harness(tmp_path, lambda clock: FakeBroker(clock, fill="none"))
    h.start()
    h.alert(option())
    h.run()
    h.clock.advance(121)
    h.stage._next_poll = 0
    h.poll()
    h.run()
    assert [e.data["reason"] for e in h.orders("order.cancel_requested")] == ["timeout"]
    h.stage._next_poll = 0
    h.run()
    assert h.orders("order.updated")[-1].data["status"] == "canceled"


def test_a_cancel_asked_while_the_outcome_was_unknown_is_sent_once_the_order_is_found(tmp_path):
    h = Harness(tmp_path, lambda clock: FakeBroker(clock, fill="none"))
    h.start()
    h.broker.faults["submit"] = ["accept_then_504"]
    h.broker.faults["find"] = [OutcomeUnknown("connection reset", maybe_sent=True)]
    h.alert(option())
    h.runner.catch_up()  # sent; 504; the lookup fails: unknown, without the broker's id
    assert [e.type for e in h.orders()][-1] == "order.unknown"
    h.store.append_many(CONTROL, [execution_paused(by="cli", reason="stop", cancel_entries=True)])
    h.run()  # the cancel is recorded, the order found, and the cancel sent
    (oid,) = h.broker.orders
    assert h.broker.cancels == [oid] and h.broker.orders[oid]["status"] == "canceled"
    assert h.orders("order.updated")[-1].data["status"] == "canceled"


def test_the_trades_per_day_cap_binds_entries_only(tmp_path):
    h = Harness(tmp_path, FakeBroker, AUTOSIG_MAX_TRADES_PER_DAY="2")
    h.start()
    for ticker in ("SPY", "QQQ", "IWM"):
        h.alert(option(ticker=ticker))
    h.alert(option("close", ticker="SPY", price=1.5))
    h.run()
    assert h.decisions() == [("order.planned", None), ("order.planned", None),
                             ("order.skipped", "cap:max_trades_per_day"), ("order.planned", None)]  # fmt: skip


def test_an_entry_cancelled_unfilled_frees_its_trade_and_an_unverified_one_does_not(tmp_path):
    h = Harness(tmp_path, lambda clock: FakeBroker(clock, fill="none"), AUTOSIG_MAX_TRADES_PER_DAY="1",
                AUTOSIG_ENTRY_TIMEOUT_SECONDS="2")  # fmt: skip
    h.start()
    h.alert(option(ticker="SPY"))
    h.run()
    h.clock.advance(3)  # past the entry timeout: cancelled with nothing filled
    h.stage._next_poll = 0
    h.poll()
    h.run()
    h.stage._next_poll = 0
    h.run()
    assert h.orders("order.updated")[-1].data["status"] == "canceled"
    h.alert(option(ticker="QQQ"))
    h.run()
    assert h.decisions() == [("order.planned", None), ("order.planned", None)]

    u = Harness(tmp_path / "unverified", lambda clock: FakeBroker(clock, unique_ids=False),
                AUTOSIG_MAX_TRADES_PER_DAY="1")  # fmt: skip
    u.broker.name = "tradier"
    u.start()
    u.broker.faults["submit"] = [OutcomeUnknown("no answer", maybe_sent=True)]
    u.alert(option(ticker="SPY"))
    u.run()
    for _ in range(2):
        u.clock.advance(5)
        u.stage._next_poll = 0
        u.run()
    assert [e.data["reason"] for e in u.orders("order.failed")] == ["unverified"]
    u.alert(option(ticker="QQQ"))
    u.run()
    assert u.decisions() == [("order.planned", None), ("order.skipped", "cap:max_trades_per_day")]


def test_a_low_confidence_signal_is_skipped(h):
    h.alert(option(confidence=0.5))
    h.run()
    assert h.decisions() == [("order.skipped", "low_confidence")]


def test_futures_and_updates_are_unsupported(h):
    h.alert({**option(), "instrument": "future", "legs": [], "ticker": "NQ"}, option("update", price=None))
    h.run()
    assert h.decisions() == [("order.skipped", "unsupported"), ("order.skipped", "unsupported")]


def test_an_option_the_broker_does_not_list_is_unknown_contract(h):
    h.broker.delisted.add("SPY270115C00600000")
    h.alert(option())
    h.run()
    assert h.decisions() == [("order.skipped", "unknown_contract")]


def test_an_index_option_listed_only_under_its_weekly_root_is_sent_as_that_root_on_its_underlying(h):
    h.broker.weekly_roots["SPX"] = "SPXW"
    h.alert(option(ticker="SPX", strike=6000.0, price=4.0))
    h.run()
    (plan,) = [e.data for e in h.orders("order.planned")]
    assert [leg["symbol"] for leg in plan["legs"]] == ["SPXW270115C06000000"]
    assert plan["underlying"] == "SPX"  # Tradier's order names the underlying, which SPXW is not


def test_market_closed_flags_a_missed_exit(h):
    h.alert(option())
    h.run()
    h.broker.is_open = False
    h.stage.market._session = None
    h.alert(option("close", price=1.5))
    h.run()
    skipped = h.orders("order.skipped")[0].data
    assert skipped["reason"] == "market_closed" and skipped["exit_missed"] is True


def test_a_restart_reconciles_a_plan_that_was_never_confirmed(tmp_path):
    h = Harness(tmp_path, FakeBroker)
    h.start()
    h.alert(option())
    h.stage.desk.send = lambda order: None  # as if killed right after the plan was appended
    h.run()
    coid = h.orders("order.planned")[0].data["client_order_id"]
    h.store.close()  # the process died: its lease with it
    again = Harness(tmp_path, lambda clock: h.broker)
    again.clock = h.clock
    again.start()  # reconciles before any decision: absent at the broker and fresh, so sent now
    assert h.broker.counts[coid] == 1 and len([e for e in again.orders("order.submitted")]) == 1


def test_limit_prices_round_to_the_tick(h):
    h.alert(option(price=3.13))
    h.run()
    assert Decimal(str(h.orders("order.planned")[0].data["limit_price"])) == Decimal("3.40")  # 3.443 down to 0.05


def test_close_expiring_at_sells_todays_expiring_options_once_at_the_bid(tmp_path):
    from datetime import UTC, datetime

    from autosig.brokers.base import Quote

    h = Harness(tmp_path, FakeBroker, AUTOSIG_CLOSE_EXPIRING_AT="15:45", AUTOSIG_SIZE="fixed:3")
    h.start()
    h.alert(option(expiry="2027-01-13", price=1.0))  # expires today (Wednesday 2027-01-13)
    h.alert(option(ticker="QQQ", expiry="2027-01-15", price=1.0))  # expires Friday: kept
    h.run()
    assert len(h.orders("order.planned")) == 2
    h.clock.advance(5 * 3600 + 44 * 60)  # 15:44 New York
    h.poll()
    h.run()
    assert len(h.orders("order.planned")) == 2  # not yet
    h.clock.advance(120)  # 15:46
    h.poll()
    h.broker.quotes_by_symbol["SPY270113C00600000"] = Quote("SPY270113C00600000", Decimal("0.42"), Decimal("0.45"),
                                                            datetime.fromtimestamp(h.clock.time(), UTC))  # fmt: skip
    h.run()
    h.run()
    closes = [e.data for e in h.orders("order.planned") if e.data["effect"] == "exit"]
    assert len(closes) == 1
    (close,) = closes
    assert close["channel"] == "autosig" and close["source_id"].startswith("close-expiring:2027-01-13:")
    assert close["quantity"] == 3 and close["limit_price"] == 0.42
    assert [leg["side"] for leg in close["legs"]] == ["sell"]
    assert h.broker.counts[close["client_order_id"]] == 1
    (position,) = h.stage.book.positions()
    assert position["ticker"] == "QQQ"


def test_a_position_closed_by_hand_is_listed_and_limits_the_next_exit(tmp_path):
    h = Harness(tmp_path, FakeBroker, AUTOSIG_SIZE="fixed:3")
    h.start()
    h.alert(option())
    h.run()
    h.broker.held["SPY270115C00600000"] = 1  # two sold by hand at the broker
    h.stage.reconcile_positions()
    (diff,) = [e.data for e in h.orders("position.reconciled")]
    assert (diff["ours"], diff["brokers"]) == (3, 1)
    (position,) = h.stage.book.positions()
    assert position["broker_quantity"] == 1  # listed beside AutoSig's own quantity
    h.alert(option("close", price=1.5))
    h.run()
    close = [e.data for e in h.orders("order.planned") if e.data["effect"] == "exit"]
    assert [c["quantity"] for c in close] == [1]  # what the broker still holds, not AutoSig's 3


def test_a_shortfall_gone_at_the_next_comparison_no_longer_limits_exits(tmp_path):
    h = Harness(tmp_path, FakeBroker, AUTOSIG_SIZE="fixed:3")
    h.start()
    h.alert(option())
    h.run()
    symbol = "SPY270115C00600000"
    h.broker.held[symbol] = 2  # for a moment the broker shows less (a fill not yet read, a hand trade undone)
    h.stage.reconcile_positions()
    h.broker.held[symbol] = 3
    h.stage.reconcile_positions()
    assert [e.data["brokers"] for e in h.orders("position.reconciled")] == [2, 3]
    h.alert(option("close", price=1.5))
    h.run()
    close = [e.data for e in h.orders("order.planned") if e.data["effect"] == "exit"]
    assert [c["quantity"] for c in close] == [3]
    assert h.broker.held[symbol] == 0


def test_a_past_pause_that_cancelled_entries_cancels_nothing_after_resume_and_restart(tmp_path):
    h = Harness(tmp_path, lambda clock: FakeBroker(clock, fill="none"))
    h.start()
    h.store.append_many(CONTROL, [execution_paused(by="cli", reason="lunch", cancel_entries=True)])
    h.run()
    h.store.append_many(CONTROL, [execution_resumed(by="cli", reason="")])
    h.alert(option())
    h.run()
    assert h.decisions() == [("order.planned", None)]
    h.start()  # a restart reads the control stream from its start: the old pause is history, not a request
    h.run()
    assert h.orders("order.cancel_requested") == [] and h.broker.cancels == []


def test_a_pause_that_cancels_entries_is_honoured_by_a_restart_that_missed_it(tmp_path):
    h = Harness(tmp_path, lambda clock: FakeBroker(clock, fill="none"))
    h.start()
    h.alert(option())
    h.run()
    h.store.append_many(CONTROL, [execution_paused(by="cli", reason="stop", cancel_entries=True)])
    h.start()  # the executor died before it read the pause: the one that starts cancels what it asked for
    h.run()
    assert [e.data["reason"] for e in h.orders("order.cancel_requested")] == ["paused"]
    assert len(h.broker.cancels) == 1
