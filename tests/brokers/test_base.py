"""The interface's values: what an order request refuses to describe, net spread quotes, broker numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from autosig.brokers import Leg, OrderRequest, Quote, net_quote
from autosig.brokers._http import dec, plain
from autosig.brokers._occ import occ_symbol, parse_occ

D = Decimal
CALL = "SPY261218C00600000"


@pytest.mark.parametrize("make", [
    lambda: Leg("SPY", "short"),
    lambda: Leg(CALL, "buy", "sell_to_open"),
    lambda: Leg(CALL, "buy", "buy_to_open", ratio=0),
    lambda: OrderRequest("as-1", "stock", (Leg("SPY", "buy"),), 0, D("1")),
    lambda: OrderRequest("as-1", "stock", (Leg("SPY", "buy"),), 1, D("0")),
    lambda: OrderRequest("as-1", "stock", (Leg("SPY", "buy"),), 1, D("NaN")),
    lambda: OrderRequest("as-1", "stock", (Leg("SPY", "buy"),), True, D("1")),
    lambda: OrderRequest("", "stock", (Leg("SPY", "buy"),), 1, D("1")),
    lambda: OrderRequest("as-1", "option", (Leg(CALL, "buy"),), 1, D("1")),
    lambda: OrderRequest("as-1", "spread", (Leg(CALL, "buy", "buy_to_open"),), 1, D("1"), price_effect="debit"),
    lambda: OrderRequest("as-1", "spread", (Leg(CALL, "buy", "buy_to_open"), Leg(CALL, "sell", "sell_to_open")), 1,
                         D("1")),
    lambda: OrderRequest("as-1", "future", (Leg("ES", "buy"),), 1, D("1")),
])
def test_an_order_that_cannot_be_meant_is_refused_before_it_is_sent(make):
    with pytest.raises(ValueError):
        make()


def test_net_quote_of_debit_and_credit_spreads():
    t1, t2 = datetime(2026, 1, 2, 15, 0, tzinfo=UTC), datetime(2026, 1, 2, 15, 1, tzinfo=UTC)
    quotes = {"A": Quote("A", D("1.20"), D("1.30"), t2), "B": Quote("B", D("0.70"), D("0.80"), t1)}
    debit = net_quote([Leg("A", "buy", "buy_to_open"), Leg("B", "sell", "sell_to_open")], quotes)
    assert (debit.bid, debit.ask, debit.timestamp) == (D("0.40"), D("0.60"), t1)
    credit = net_quote([Leg("A", "sell", "sell_to_open"), Leg("B", "buy", "buy_to_open")], quotes)
    assert (credit.bid, credit.ask) == (D("-0.60"), D("-0.40"))  # negative: the spread pays us
    ratio = net_quote([Leg("A", "buy", "buy_to_open", 2), Leg("B", "sell", "sell_to_open")], quotes)
    assert ratio.ask == D("1.90")
    missing = net_quote([Leg("A", "buy", "buy_to_open"), Leg("C", "sell", "sell_to_open")], quotes)
    assert missing.bid is None and missing.ask is None and missing.timestamp is None


def test_broker_numbers_and_limits_as_brokers_want_them():
    assert dec("1.10") == D("1.10") and dec(1.1) == D("1.1") and dec(3) == D(3)
    assert dec("null") is None and dec("") is None and dec(None) is None and dec(True) is None
    assert dec("Infinity") is None
    assert plain(D("1.5")) == "1.50" and plain(D("10")) == "10" and plain(D("1E+1")) == "10"
    assert plain(D("0.0525")) == "0.0525" and plain(D("-0.60")) == "-0.60"


def test_occ_symbols_read_and_written_exactly():
    occ = parse_occ("SPXW261218P05995500")
    assert occ is not None and occ.root == "SPXW" and occ.underlying == "SPX" and occ.strike == D("5995.5")
    assert occ_symbol("SPY", occ.expiration, "call", D("2.01")) == "SPY261218C00002010"
    assert parse_occ("SPY") is None and parse_occ("SPY261318C00600000") is None
