"""Sizing: entries by rule within the caps, exits from what is available, never negative and never more than held."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autosig.trading import (
    DUST,
    Refusal,
    SizeRule,
    entry_quantity,
    exit_quantity,
    order_pieces,
    paper_entry_quantity,
    paper_exit_quantity,
    parse_size_rule,
)

D = Decimal
CAPS = {"max_trade_usd": D(1000), "max_contracts": 10}


# --- size rules -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [("alert", SizeRule("alert")), ("fixed:3", SizeRule("fixed", D(3))), (" USD:500 ", SizeRule("usd", D(500))),
     ("usd:249.50", SizeRule("usd", D("249.50"))), ("pct:1.5", SizeRule("pct", D("1.5"))),
     ("pct:100", SizeRule("pct", D(100)))],
)  # fmt: skip
def test_size_rules_parse(text, rule):
    assert parse_size_rule(text) == rule
    assert parse_size_rule(str(rule)) == rule


@pytest.mark.parametrize(
    ("text", "why"),
    [("", "expected alert, fixed:N"), ("dollars:5", "expected alert, fixed:N"), ("alert:2", "alert takes no number"),
     ("usd", "needs a number"), ("usd:", "needs a number"), ("usd:abc", "'abc' is not a number"),
     ("usd:0", "above 0"), ("usd:-5", "above 0"), ("usd:nan", "above 0"), ("usd:inf", "above 0"),
     ("fixed:1.5", "whole number"), ("pct:101", "at most 100")],
)  # fmt: skip
def test_size_rules_that_are_wrong_say_what_is_wrong(text, why):
    with pytest.raises(ValueError, match=why) as raised:
        parse_size_rule(text)
    assert repr(text) in str(raised.value)


# --- entries ----------------------------------------------------------------------------------------------------


def test_usd_sizing_buys_what_the_amount_pays_for_rounded_down():
    usd500 = parse_size_rule("usd:500")
    assert entry_quantity(usd500, price=D("1.25"), multiplier=100, **CAPS) == 4  # 500 / 125
    assert entry_quantity(usd500, price=D("1.30"), multiplier=100, **CAPS) == 3  # 500 / 130 = 3.8
    # one unit dearer than the amount still buys one while it fits max_trade_usd
    assert entry_quantity(usd500, price=D("7.00"), multiplier=100, **CAPS) == 1
    assert entry_quantity(usd500, price=D("10.01"), multiplier=100, **CAPS) == 0  # $1001 > max_trade_usd
    # shares: 500 / 190 = 2.6
    assert entry_quantity(usd500, price=D(190), multiplier=1, **CAPS) == 2
    # exactly: $330 buys three $110 contracts (in floats 1.1 x 100 is 110.00000000000001, and 330 / it is 2.999...)
    assert entry_quantity(parse_size_rule("usd:330"), price=1.1, multiplier=100, **CAPS) == 3


def test_entries_are_lowered_to_the_caps():
    cheap = {"price": D("0.10"), "multiplier": 100}
    assert entry_quantity(parse_size_rule("usd:500"), **cheap, **CAPS) == 10  # 50 by the amount, 10 by max_contracts
    assert entry_quantity(parse_size_rule("fixed:5"), price=D(3), multiplier=100, **CAPS) == 3  # $1000 / $300
    assert entry_quantity(parse_size_rule("fixed:5"), price=D(2), multiplier=100, **CAPS) == 5
    assert entry_quantity(SizeRule("alert"), price=D(1), multiplier=100, alert_quantity=20, **CAPS) == 10


def test_alert_sizing_follows_the_alert_never_above_it():
    alert = SizeRule("alert")
    assert entry_quantity(alert, price=D(1), multiplier=100, alert_quantity=3, **CAPS) == 3
    assert entry_quantity(alert, price=D(1), multiplier=100, alert_quantity=None, **CAPS) == 1
    assert entry_quantity(alert, price=D(1), multiplier=100, alert_quantity="2", **CAPS) == 1  # unreadable: missing
    assert entry_quantity(alert, price=D(1), multiplier=100, alert_quantity=2.5, **CAPS) == 2
    assert entry_quantity(alert, price=D(1), multiplier=100, alert_quantity=0.5, **CAPS) == 0


def test_pct_sizing_takes_a_share_of_the_equity():
    pct = parse_size_rule("pct:2")
    assert entry_quantity(pct, price=D("1.50"), multiplier=100, equity=D(25_000), **CAPS) == 3  # 500 / 150
    assert entry_quantity(pct, price=D("1.50"), multiplier=100, equity=D(1_000), **CAPS) == 0  # 20 / 150
    with pytest.raises(ValueError, match="equity"):
        entry_quantity(pct, price=D("1.50"), multiplier=100, **CAPS)


def test_an_entry_needs_a_price():
    for price in (D(0), D(-1), D("NaN")):
        with pytest.raises(ValueError, match="not a price"):
            entry_quantity(parse_size_rule("usd:500"), price=price, multiplier=100, **CAPS)


RULES = st.one_of(
    st.just(SizeRule("alert")),
    st.builds(lambda n: SizeRule("fixed", D(n)), st.integers(1, 10_000)),
    st.builds(lambda x: SizeRule("usd", x), st.decimals(D("0.01"), D(100_000), places=2)),
    st.builds(lambda x: SizeRule("pct", x), st.decimals(D("0.01"), D(100), places=2)),
)
PRICES = st.decimals(D("0.01"), D(5_000), places=2)


@settings(deadline=None, max_examples=500)
@given(RULES, PRICES, st.sampled_from([1, 100]), st.decimals(D(0), D(50_000), places=2), st.integers(0, 50),
       st.one_of(st.none(), st.floats(-5, 1e6), st.integers(-5, 10**9)), st.decimals(D(0), D(10**7), places=2))
def test_entries_never_exceed_the_caps_and_are_never_negative(rule, price, multiplier, max_usd, max_contracts,
                                                              alert_quantity, equity):  # fmt: skip
    quantity = entry_quantity(rule, price=price, multiplier=multiplier, max_trade_usd=max_usd,
                              max_contracts=max_contracts, alert_quantity=alert_quantity, equity=equity)  # fmt: skip
    assert isinstance(quantity, int) and 0 <= quantity <= max_contracts
    assert quantity * price * multiplier <= max_usd
    if rule.kind == "usd" and quantity > 1:
        assert quantity * price * multiplier <= rule.amount
    if rule.kind == "usd" and price * multiplier <= min(max_usd, rule.amount) and max_contracts:
        assert quantity >= 1


# --- exits ------------------------------------------------------------------------------------------------------


def test_exit_sizes():
    assert exit_quantity("close", 7) == 7
    assert exit_quantity("trim", 7, fraction=0.5) == 3
    assert exit_quantity("trim", 100, fraction=0.29) == 29  # in floats 0.29 x 100 is 28.999999999999996
    assert exit_quantity("trim", 3, fraction=0.3333) == 1
    assert exit_quantity("trim", 1, fraction=0.5) == 1  # a trim of a single contract closes it
    # in proportion to the analyst's: sold 2 of their 4, we hold 6
    assert exit_quantity("trim", 6, alert_quantity=2, analyst_open=4) == 3
    assert exit_quantity("trim", 6, alert_quantity=8, analyst_open=4) == 6  # never more than available
    assert exit_quantity("trim", 6) == 3 and exit_quantity("trim", 5, fraction="half") == 2  # else half
    assert exit_quantity("trim", 6, fraction=1.5) == 3  # not a fraction: the next rule
    assert exit_quantity("close", 0) == exit_quantity("trim", 0, fraction=0.5) == exit_quantity("trim", -2) == 0
    with pytest.raises(ValueError, match="not an exit"):
        exit_quantity("add", 3)


@settings(deadline=None, max_examples=500)
@given(st.sampled_from(["close", "trim"]), st.integers(-3, 10_000),
       st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3)),
       st.one_of(st.none(), st.floats(-10, 1e6), st.integers(-3, 10**6)),
       st.one_of(st.none(), st.floats(-10, 1e6), st.integers(-3, 10**6)))  # fmt: skip
def test_exits_never_exceed_what_is_available(action, available, fraction, alert_quantity, analyst_open):
    quantity = exit_quantity(action, available, fraction=fraction, alert_quantity=alert_quantity,
                             analyst_open=analyst_open)  # fmt: skip
    assert isinstance(quantity, int) and 0 <= quantity <= max(available, 0)
    assert (quantity >= 1) == (available >= 1)
    if action == "close":
        assert quantity == max(available, 0)


def test_order_pieces():
    assert order_pieces(25, 10) == [10, 10, 5] and order_pieces(10, 10) == [10] and order_pieces(0, 10) == []
    with pytest.raises(ValueError):
        order_pieces(5, 0)


# --- the paper ledger's quantities --------------------------------------------------------------------------------


def test_paper_exits():
    assert paper_exit_quantity("trim", 4.0, 0.5, None) == 2.0
    assert paper_exit_quantity("close", 4.0, None, 1) == 1.0
    assert paper_exit_quantity("close", 4.0, None, 9) == 4.0
    assert paper_exit_quantity("close", 4.0, None, None) == 4.0
    assert paper_exit_quantity("trim", 3.0, 0.3333, None) == pytest.approx(0.9999)
    # within dust of all of it is all of it: exactly what is held, so the position closes
    assert paper_exit_quantity("close", 2.0001, None, 2) == 2.0001
    assert paper_exit_quantity("trim", 1.0, 1 - DUST / 2, None) == 1.0
    assert paper_exit_quantity("trim", 4.0, None, None) == Refusal("trim without a size")
    assert paper_exit_quantity("trim", 1.0, None, 2, size_assumed=True) == Refusal(
        "trim against a position of assumed size")
    assert paper_exit_quantity("close", 1.0, None, 2, size_assumed=True) == 1.0


def test_paper_entries():
    assert paper_entry_quantity(2) == (2.0, False) and paper_entry_quantity(0.5) == (0.5, False)
    assert paper_entry_quantity(None) == paper_entry_quantity(-1) == paper_entry_quantity("2") == (1.0, True)


@settings(deadline=None, max_examples=500)
@given(st.sampled_from(["close", "trim"]), st.floats(1e-6, 1e9),
       st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
       st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 10**9)),
       st.booleans())  # fmt: skip
def test_paper_exits_are_never_negative_and_never_exceed_what_is_held(action, held, fraction, quantity, assumed):
    amount = paper_exit_quantity(action, held, fraction, quantity, size_assumed=assumed)
    if isinstance(amount, Refusal):
        assert action == "trim"
    else:
        assert 0 <= amount <= held  # (0 for a fraction so small that held x it underflows)
        assert amount == held or amount < held * (1 - DUST)  # nothing is left as dust
