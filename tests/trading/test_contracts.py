"""Contracts from signals: the lenient reading for matching, the strict one for orders, and what they say."""

from __future__ import annotations

from datetime import date

import pytest

from autosig.parsing.model import new_leg, new_signal
from autosig.trading import Contract, Leg, Refusal, contract_of, label, read_contract

EXP = "2027-01-17"


def option(*legs, ticker="SPY", instrument="option", **kw):
    return new_signal(action="open", instrument=instrument, ticker=ticker, legs=list(legs), price=1.0, **kw)


def test_a_contract_is_its_ticker_and_legs_without_sides():
    bought = read_contract(option(new_leg("buy", "C", 600.0, EXP)))
    sold = read_contract(option(new_leg("sell", "c", 600, EXP), ticker="spy"))  # closing: the other side
    assert bought == sold == Contract("SPY", "option", (Leg("C", 600.0, EXP, 1.0),))
    assert bought.complete and bought.instrument == "option" and bought.multiplier == 100
    assert bought.expiry == date(2027, 1, 17) and bought.label == "SPY 600C 2027-01-17"


def test_legs_in_any_order_are_the_same_contract():
    low, high = new_leg("buy", "P", 495.0, EXP), new_leg("sell", "P", 500.0, EXP)
    one, other = read_contract(option(low, high, instrument="spread")), read_contract(option(high, low))
    assert one == other and hash(one) == hash(other)
    assert one.instrument == "spread" and one.multiplier == 100
    # sides come from the order: a page signs each leg as it was opened
    assert label("QQQ", "option", [Leg.read(low), Leg.read(high)], ["buy", "sell"]) == (
        "QQQ +495P 2027-01-17 / -500P 2027-01-17")


def test_stock_and_futures():
    shares = read_contract(new_signal(action="open", instrument="stock", ticker="aapl", price=190.0))
    assert shares == Contract("AAPL", "stock") and shares.multiplier == 1 and shares.expiry is None
    assert shares.label == "AAPL" and contract_of(new_signal(action="open", ticker="AAPL")) == shares
    future = read_contract(new_signal(action="open", instrument="future", ticker="ES", price=6000.0))
    assert future.label == "/ES" and future.multiplier == 1 and future.instrument == "future"


def test_a_partial_description_keeps_what_it_leaves_out_as_none():
    partial = read_contract(option(new_leg("sell", "C", 600.0, None)))
    assert partial.legs == (Leg("C", 600.0, None, 1.0),) and not partial.complete
    assert partial.expiry is None and partial.label == "SPY 600C ?"
    junk = read_contract(option({"right": 5, "strike": float("nan"), "ratio": True, "expiry": " "}, "not a leg"))
    assert junk.legs == (Leg(None, None, None, 1.0),)
    assert read_contract(new_signal(action="close", price=2.0)) == Contract(None, "stock")


@pytest.mark.parametrize(
    ("signal", "why"),
    [
        (new_signal(action="open", instrument="option", price=1.0, legs=[new_leg("buy", "C", 600.0, EXP)]),
         "names no ticker"),
        (option(), "without legs"),
        (option(new_leg("buy", None, 600.0, EXP)), "the option has no right"),
        (option(new_leg("buy", "X", 600.0, EXP)), "the option has no right"),
        (option(new_leg("buy", "C", None, EXP)), "the option has no strike"),
        (option(new_leg("buy", "C", -5.0, EXP)), "the option has no strike"),
        (option(new_leg("buy", "C", 600.0001, EXP)), "not in whole thousandths"),
        (option(new_leg("buy", "C", 600.0, None)), "the option has no expiry"),
        (option(new_leg("buy", "C", 600.0, "20270117")), "is not a date"),
        (option(new_leg("buy", "C", 600.0, "2027-02-30")), "is not a date"),
        (option(new_leg("buy", "C", 600.0, EXP), new_leg("sell", "C", 610.0, None)), "leg 2 has no expiry"),
        (option(new_leg("buy", "C", 600.0, EXP, ratio=1.5)), "ratio 1.5"),
    ],
)  # fmt: skip
def test_an_order_contract_assumes_nothing_missing(signal, why):
    refused = contract_of(signal)
    assert isinstance(refused, Refusal) and why in refused.reason


def test_an_order_contract_equals_the_lenient_reading_so_exits_find_it():
    signal = option(new_leg("buy", "P", 500.0, EXP), new_leg("sell", "P", 495.0, EXP), ticker="QQQ")
    contract = contract_of(signal)
    assert contract == read_contract(signal) and contract.complete
    assert contract.expiry == date(2027, 1, 17)


def test_the_last_leg_decides_a_calendar_spreads_expiry():
    calendar = read_contract(option(new_leg("sell", "C", 600.0, "2027-01-17"), new_leg("buy", "C", 600.0, "2027-03-19")))
    assert calendar.expiry == date(2027, 3, 19)
    assert read_contract(option(new_leg("buy", "C", 600.0, "soon"))).expiry is None
