"""The broker CONTRACT SUITE, written once and run against the simulator over HTTP in each dialect.

A dialect's test module subclasses `BrokerContract` and provides:
    dialect        "alpaca" | "tradier" (the simulator account the adapter trades)
    order_path     the path prefix of the order POST (faults aim at it)
    sim_factory()  a Simulator started with that dialect's keys
    make_broker(sim, **kwargs)   the adapter pointed at the simulator (kwargs: wrong_keys, timeouts)
    secrets        the key material make_broker uses, which no error may ever show
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest

from autosig.brokers import (
    ACCEPTED,
    CANCELED,
    EXPIRED,
    FILLED,
    PARTIALLY_FILLED,
    REJECTED,
    AuthRefused,
    Broker,
    BrokerError,
    Leg,
    NotFound,
    OrderRequest,
    OutcomeUnknown,
    RateLimited,
    Refused,
)
from autosig.brokers.simulator import Simulator

CALL = "SPY261218C00600000"
CALL_HIGH = "SPY261218C00610000"
BUY_CALL = Leg(CALL, "buy", "buy_to_open")
SELL_CALL_HIGH = Leg(CALL_HIGH, "sell", "sell_to_open")
D = Decimal


def stock(cid: str, qty: int = 1, limit: str = "600.50", side: str = "buy") -> OrderRequest:
    return OrderRequest(cid, "stock", (Leg("SPY", side),), qty, D(limit))


def option(cid: str, limit: str = "1.35", qty: int = 1) -> OrderRequest:
    return OrderRequest(cid, "option", (BUY_CALL,), qty, D(limit))


def spread(cid: str, limit: str = "0.60") -> OrderRequest:
    return OrderRequest(cid, "spread", (BUY_CALL, SELL_CALL_HIGH), 1, D(limit), price_effect="debit")


def next_friday() -> date:
    today = date.today()
    return today + timedelta(days=(4 - today.weekday()) % 7 + 7)


class BrokerContract:
    dialect = ""
    order_path = ""
    secrets: tuple[str, ...] = ()

    def make_broker(self, sim: Simulator, **kwargs) -> Broker:  # pragma: no cover - always overridden
        raise NotImplementedError

    def sim_factory(self) -> Simulator:  # pragma: no cover - always overridden
        raise NotImplementedError

    @pytest.fixture
    def sim(self):
        with self.sim_factory() as sim:
            sim.set_quote("SPY", "599.90", "600.10")
            sim.set_quote(CALL, "1.20", "1.30")
            sim.set_quote(CALL_HIGH, "0.70", "0.80")
            yield sim

    @pytest.fixture
    def broker(self, sim):
        broker = self.make_broker(sim)
        yield broker
        broker.close()

    def raises(self, kind: type[BrokerError], call, *args):
        """Runs call(*args), which must raise `kind`; checks that no key or token shows in anything it says."""
        with pytest.raises(kind) as info:
            call(*args)
        exc = info.value
        for text in (str(exc), repr(exc), exc.detail, exc.broker_message, repr(exc.args)):
            for secret in self.secrets:
                assert secret not in text, f"{kind.__name__} shows a key: {text}"
        return exc

    def settled(self, broker: Broker, broker_order_id: str, status: str, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while True:
            order = broker.get_order(broker_order_id)
            if order.status == status or time.monotonic() > deadline:
                return order
            time.sleep(0.02)

    # --- submitting and following orders ------------------------------------------------------------------

    def test_a_marketable_stock_order_is_accepted_then_fills_at_the_ask(self, broker):
        placed = broker.submit(stock("as-stock", qty=2))
        assert placed.status == ACCEPTED and placed.client_order_id in ("as-stock", None)
        assert placed.response  # the broker's body, verbatim
        filled = self.settled(broker, placed.broker_order_id, FILLED)
        assert filled.status == FILLED and filled.final
        assert filled.filled_quantity == 2 and filled.average_fill_price == D("600.10")
        assert filled.client_order_id == "as-stock"
        assert filled.legs[0].symbol == "SPY" and filled.legs[0].side == "buy"
        assert filled.quantity == 2 and filled.limit_price == D("600.50")

    def test_an_option_order_rests_below_the_ask_and_fills_when_the_quote_moves_through(self, sim, broker):
        placed = broker.submit(option("as-rest", limit="1.10"))
        assert broker.get_order(placed.broker_order_id).status == ACCEPTED
        sim.set_quote(CALL, "1.00", "1.05")
        filled = self.settled(broker, placed.broker_order_id, FILLED)
        assert filled.average_fill_price == D("1.05")
        assert filled.legs == (BUY_CALL,)

    def test_a_debit_spread_is_one_order_filling_at_the_net_price(self, broker):
        placed = broker.submit(spread("as-spread"))
        filled = self.settled(broker, placed.broker_order_id, FILLED)
        assert filled.average_fill_price == D("0.60")  # 1.30 ask of the bought call − 0.70 bid of the sold one
        assert filled.price_effect == "debit" and filled.limit_price == D("0.60")
        assert {(leg.symbol, leg.side, leg.position_intent) for leg in filled.legs} == {
            (CALL, "buy", "buy_to_open"), (CALL_HIGH, "sell", "sell_to_open")}

    def test_find_by_client_order_id(self, broker):
        placed = broker.submit(option("as-find", limit="1.00"))
        found = broker.find("as-find")
        assert found is not None and found.broker_order_id == placed.broker_order_id
        assert found.status == ACCEPTED and found.client_order_id == "as-find"
        assert broker.find("as-absent") is None

    def test_a_partial_fill_holds_then_completes(self, sim, broker):
        sim.partial_next(1)
        placed = broker.submit(stock("as-partial", qty=3, limit="601"))
        partial = self.settled(broker, placed.broker_order_id, PARTIALLY_FILLED)
        assert partial.status == PARTIALLY_FILLED and partial.filled_quantity == 1 and not partial.final
        sim.release("as-partial", dialect=self.dialect)
        filled = self.settled(broker, placed.broker_order_id, FILLED)
        assert filled.filled_quantity == 3

    def test_cancel_a_working_order_and_cancel_a_final_one(self, broker):
        placed = broker.submit(option("as-cancel", limit="1.00"))
        assert broker.cancel(placed.broker_order_id) is True
        assert self.settled(broker, placed.broker_order_id, CANCELED).status == CANCELED
        assert broker.cancel(placed.broker_order_id) is False

    def test_an_unknown_order_is_not_found(self, broker):
        self.raises(NotFound, broker.get_order, "999999")
        self.raises(NotFound, broker.cancel, "999999")

    def test_rejected_and_expired_statuses(self, sim, broker):
        sim.reject_next("no")
        rejected = broker.submit(stock("as-rejected"))
        assert self.settled(broker, rejected.broker_order_id, REJECTED).status == REJECTED
        resting = broker.submit(option("as-expires", limit="1.00"))
        sim.expire_day()
        assert self.settled(broker, resting.broker_order_id, EXPIRED).status == EXPIRED

    # --- faults -------------------------------------------------------------------------------------------

    def test_429_is_rate_limited_with_the_brokers_retry_after_and_no_order(self, sim, broker):
        sim.fault(429, headers={"Retry-After": "7"}, method="POST", path=self.order_path)
        exc = self.raises(RateLimited, broker.submit, stock("as-429"))
        assert exc.retry_after == 7
        assert sim.order_count("as-429", dialect=self.dialect) == 0
        broker.submit(stock("as-429"))  # sent again, as the broker said
        assert sim.order_count("as-429", dialect=self.dialect) == 1

    def test_5xx_before_accepting_is_outcome_unknown_and_the_order_is_absent(self, sim, broker):
        sim.fault(503, method="POST", path=self.order_path)
        exc = self.raises(OutcomeUnknown, broker.submit, stock("as-503"))
        assert exc.http_status == 503 and exc.maybe_sent
        assert broker.find("as-503") is None
        assert sim.order_count("as-503", dialect=self.dialect) == 0

    def test_504_after_accepting_is_outcome_unknown_and_find_sees_the_order(self, sim, broker):
        sim.fault(504, after_accept=True, method="POST", path=self.order_path)
        self.raises(OutcomeUnknown, broker.submit, stock("as-504"))
        found = broker.find("as-504")
        assert found is not None and found.client_order_id == "as-504"
        assert sim.order_count("as-504", dialect=self.dialect) == 1

    def test_a_reset_before_answering_is_outcome_unknown(self, sim, broker):
        sim.fault(reset=True, method="POST", path=self.order_path)
        assert self.raises(OutcomeUnknown, broker.submit, stock("as-reset")).maybe_sent
        assert broker.find("as-reset") is None
        sim.fault(reset=True, after_accept=True, method="POST", path=self.order_path)
        self.raises(OutcomeUnknown, broker.submit, stock("as-reset-late"))
        assert broker.find("as-reset-late") is not None

    def test_a_slow_answer_times_out_as_outcome_unknown(self, sim):
        broker = self.make_broker(sim, read_timeout=0.2)
        sim.fault(delay=1.0, after_accept=True, method="POST", path=self.order_path)
        self.raises(OutcomeUnknown, broker.submit, stock("as-slow"))
        assert broker.find("as-slow") is not None

    def test_an_unreachable_broker_was_not_sent_to(self, sim):
        broker = self.make_broker(sim)
        sim.stop()
        exc = self.raises(OutcomeUnknown, broker.submit, stock("as-down"))
        assert exc.maybe_sent is False

    def test_a_restart_keeps_its_orders(self, sim, broker):
        placed = broker.submit(option("as-restart", limit="1.00"))
        sim.restart()
        found = broker.find("as-restart")
        assert found is not None and found.broker_order_id == placed.broker_order_id

    def test_a_refusal_carries_the_status_and_the_brokers_message(self, sim, broker):
        sim.delist(CALL)
        exc = self.raises(Refused, broker.submit, option("as-delisted"))
        assert 400 <= (exc.http_status or 0) < 500 and exc.broker_message
        assert sim.order_count("as-delisted", dialect=self.dialect) == 0

    def test_auth_refused(self, sim):
        broker = self.make_broker(sim, wrong_keys=True)
        self.raises(AuthRefused, broker.account)
        self.raises(AuthRefused, broker.submit, stock("as-auth"))
        assert self.secrets and all(s not in repr(broker) for s in self.secrets)

    # --- account, positions, market -----------------------------------------------------------------------

    def test_account(self, broker):
        account = broker.account()
        assert account.number and account.paper is True and broker.live is False
        assert account.equity == D("100000") and account.buying_power and account.buying_power > 0
        assert account.options_level is not None and account.status

    def test_positions_held_before_and_bought_through_autosig(self, sim, broker):
        sim.set_position("AAPL", 10, "190.25", dialect=self.dialect)
        sim.set_position(CALL_HIGH, -2, "0.75", dialect=self.dialect)
        placed = broker.submit(option("as-pos"))
        self.settled(broker, placed.broker_order_id, FILLED)
        positions = {p.symbol: p for p in broker.positions()}
        assert positions["AAPL"].quantity == 10 and positions["AAPL"].asset_class == "stock"
        assert positions["AAPL"].average_price == D("190.25")
        assert positions[CALL].quantity == 1 and positions[CALL].asset_class == "option"
        assert positions[CALL_HIGH].quantity == -2
        sim.set_position("AAPL", 0, dialect=self.dialect)  # closed by hand
        sim.assign(CALL_HIGH, dialect=self.dialect)  # the short calls are assigned: 200 shares sold
        positions = {p.symbol: p for p in broker.positions()}
        assert "AAPL" not in positions and CALL_HIGH not in positions
        assert positions["SPY"].quantity == -200

    def test_no_positions(self, broker):
        assert broker.positions() == []

    def test_quotes_stock_option_spread_and_unknown(self, broker):
        q = broker.quote("SPY")
        assert (q.bid, q.ask) == (D("599.90"), D("600.10")) and q.timestamp is not None
        assert broker.quote(CALL).ask == D("1.30")
        net = broker.quote([BUY_CALL, SELL_CALL_HIGH])
        assert (net.bid, net.ask) == (D("0.40"), D("0.60")) and len(net.legs) == 2
        both = broker.quotes(["SPY", CALL, "NOSUCH"])
        assert both["NOSUCH"].bid is None and both["NOSUCH"].ask is None
        assert both[CALL].bid == D("1.20")

    def test_clock(self, sim, broker):
        clock = broker.clock()
        assert clock.is_open is True and clock.timestamp.tzinfo is not None
        assert abs((clock.timestamp - clock.timestamp.now(clock.timestamp.tzinfo)).total_seconds()) < 5
        sim.set_clock(False)
        assert broker.clock().is_open is False

    def test_contract_lookup_spx_lists_as_spxw(self, sim, broker):
        expiry = next_friday()
        sim.set_quote("SPX", "5999", "6001")  # a chain lists the strikes around the money
        sim.set_roots("SPX", ["SPXW"])
        found = broker.contracts("SPX", expiry, "call", D("6000"))
        assert [c.symbol for c in found] == [f"SPXW{expiry:%y%m%d}C06000000"]
        assert found[0].root == "SPXW" and found[0].underlying == "SPX" and found[0].strike == 6000
        assert broker.contract(f"SPX{expiry:%y%m%d}C06000000") is None
        assert broker.contract(found[0].symbol) is not None
        sim.set_roots("SPX", ["SPX", "SPXW"])  # a monthly expiry lists both
        assert {c.root for c in broker.contracts("SPX", expiry, "call", D("6000"))} == {"SPX", "SPXW"}

    def test_contract_lookup_listed_and_delisted(self, sim, broker):
        contract = broker.contract(CALL)
        assert contract is not None and contract.strike == 600 and contract.right == "call"
        assert contract.expiration == date(2026, 12, 18) and contract.multiplier == 100
        sim.delist(CALL)
        assert broker.contract(CALL) is None
        assert broker.contracts("SPY", date(2026, 12, 18), "call", D("600")) == []
