"""Limit prices: slippage on the alert's price, buys rounded down and sells up to the tick, in Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autosig.parsing.model import new_signal
from autosig.trading import alert_range, entry_limit, exit_limit, paper_price, round_to_tick, tick_size

D = Decimal


def test_paper_price_is_the_price_else_the_middle_of_the_range():
    assert paper_price(new_signal(price=1.25)) == 1.25
    assert paper_price(new_signal(price_range=[1.4, 1.6])) == pytest.approx(1.5)
    assert paper_price(new_signal(price="1.2")) is None and paper_price(new_signal(price_range=[1.0])) is None
    assert paper_price(new_signal(price=float("nan"), price_range=[1.0, None])) is None


def test_alert_range():
    assert alert_range(new_signal(price=1.25)) == (D("1.25"), D("1.25"))
    assert alert_range(new_signal(price_range=[1.9, 1.85])) == (D("1.85"), D("1.9"))  # in order
    assert alert_range(new_signal(price=0)) is None and alert_range(new_signal(price_range=[0, 1])) is None
    assert alert_range(new_signal()) is None


def test_ticks():
    assert tick_size(D("2.99"), "option") == D("0.01") and tick_size(D(3), "option") == D("0.05")
    assert tick_size(D("12.34"), "spread") == D("0.05") and tick_size(D(190), "stock") == D("0.01")
    assert tick_size(D(5), "option", tick=D("0.10")) == D("0.10")  # the broker's, when known
    with pytest.raises(ValueError):
        tick_size(D(5), "future")


def test_buys_round_down_and_sells_up():
    assert round_to_tick(D("1.237"), buy=True, instrument="option") == D("1.23")
    assert round_to_tick(D("1.231"), buy=False, instrument="option") == D("1.24")
    assert round_to_tick(D("3.33"), buy=True, instrument="option") == D("3.30")
    assert round_to_tick(D("3.31"), buy=False, instrument="option") == D("3.35")
    assert round_to_tick(D("1.20"), buy=True, instrument="option") == D("1.20")  # on the tick: unchanged


def test_entry_limits():
    # a debit: the top of the range x 1.10, rounded down: 1.90 x 1.1 = 2.09
    assert entry_limit((D("1.85"), D("1.90")), credit=False, slippage_pct=D(10), instrument="option") == D("2.09")
    # 1.1 x 1.1 is 1.21 exactly, not 1.2100000000000002
    assert entry_limit((D("1.1"), D("1.1")), credit=False, slippage_pct=D(10), instrument="option") == D("1.21")
    # at or above $3 the tick is 0.05: 3.00 x 1.1 = 3.30; 2.80 x 1.1 = 3.08 -> 3.05
    assert entry_limit((D(3), D(3)), credit=False, slippage_pct=D(10), instrument="option") == D("3.30")
    assert entry_limit((D("2.80"), D("2.80")), credit=False, slippage_pct=D(10), instrument="option") == D("3.05")
    # a credit: the bottom x 0.90, rounded up: 1.85 x 0.9 = 1.665 -> 1.67
    assert entry_limit((D("1.85"), D("1.90")), credit=True, slippage_pct=D(10), instrument="spread") == D("1.67")
    # shares, 3%: 190.00 x 1.03 = 195.70
    assert entry_limit((D(190), D(190)), credit=False, slippage_pct=D(3), instrument="stock") == D("195.70")
    # rounding to nothing is no limit
    assert entry_limit((D("0.004"), D("0.004")), credit=False, slippage_pct=D(0), instrument="option") is None


def test_exit_limits():
    # the fresh bid, rounded up to the tick (never below it)
    assert exit_limit(D("2.00"), quote=D("2.13"), slippage_pct=D(10), instrument="option") == D("2.13")
    assert exit_limit(D("2.00"), quote=D("3.12"), slippage_pct=D(10), instrument="option") == D("3.15")
    # no bid (or a zero one): the alert's price x 0.9 = 1.80
    assert exit_limit(D("2.00"), quote=None, slippage_pct=D(10), instrument="option") == D("1.80")
    assert exit_limit(D("2.00"), quote=D(0), slippage_pct=D(10), instrument="option") == D("1.80")
    # buying back a short: the ask, else price x 1.1, rounded down
    assert exit_limit(D("2.00"), slippage_pct=D(10), instrument="option", short=True) == D("2.20")
    assert exit_limit(None, quote=None, slippage_pct=D(10), instrument="option") is None


@settings(deadline=None, max_examples=500)
@given(st.decimals(D("0.01"), D(10_000), places=4), st.booleans(), st.sampled_from(["option", "stock"]))
def test_rounding_lands_on_the_tick_on_the_safe_side(price, buy, instrument):
    limit = round_to_tick(price, buy=buy, instrument=instrument)
    step = tick_size(price, instrument)
    assert limit % step == 0
    assert (limit <= price) if buy else (limit >= price)
    assert abs(limit - price) < step


@settings(deadline=None, max_examples=300)
@given(st.decimals(D("0.05"), D(1_000), places=2), st.decimals(D(0), D(50), places=1), st.booleans())
def test_limits_move_by_the_slippage_never_past_it(price, slippage, credit):
    limit = entry_limit((price, price), credit=credit, slippage_pct=slippage, instrument="option")
    bound = price * (1 - slippage / 100) if credit else price * (1 + slippage / 100)
    if limit is None:
        assert not credit and bound < D("0.01")
        return
    # a credit takes at least the bound, a debit pays at most it; within one tick of it
    step = tick_size(bound, "option")
    assert (bound <= limit < bound + step) if credit else (bound - step < limit <= bound)
