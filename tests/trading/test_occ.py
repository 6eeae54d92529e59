"""OCC symbols: exact strikes, real symbols as brokers write them, and refusals of what has no symbol."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autosig.parsing.model import new_leg, new_signal
from autosig.trading import occ_symbol, option_root, parse_occ, read_contract

# (symbol, root, expiry, right, strike) as Alpaca and Tradier list them
REAL = [
    ("SPY261218C00600000", "SPY", date(2026, 12, 18), "C", Decimal("600")),
    ("AAPL240119C00190000", "AAPL", date(2024, 1, 19), "C", Decimal("190")),
    # SPX weeklies and PM-settled expiries trade under their own root
    ("SPXW250117P05900000", "SPXW", date(2025, 1, 17), "P", Decimal("5900")),
    ("SPX251219C06000000", "SPX", date(2025, 12, 19), "C", Decimal("6000")),
    ("RUTW260320P02000000", "RUTW", date(2026, 3, 20), "P", Decimal("2000")),
    # class B shares: the root drops the dot of BRK.B
    ("BRKB260918C00480000", "BRKB", date(2026, 9, 18), "C", Decimal("480")),
    ("NDX260918C12345500", "NDX", date(2026, 9, 18), "C", Decimal("12345.5")),
    ("F251219C00012500", "F", date(2025, 12, 19), "C", Decimal("12.5")),
    ("TSLA270115P00002010", "TSLA", date(2027, 1, 15), "P", Decimal("2.01")),
    ("GME250620C00000500", "GME", date(2025, 6, 20), "C", Decimal("0.5")),
    # an adjusted contract after a corporate action
    ("AAPL1260918C00150000", "AAPL1", date(2026, 9, 18), "C", Decimal("150")),
]


@pytest.mark.parametrize(("symbol", "root", "expiry", "right", "strike"), REAL)
def test_real_symbols_parse_and_are_written_back_exactly(symbol, root, expiry, right, strike):
    parsed = parse_occ(symbol)
    assert tuple(parsed) == (root, expiry, right, strike)
    assert occ_symbol(root, expiry, right, strike) == symbol
    assert occ_symbol(root, expiry.isoformat(), right, float(strike)) == symbol  # a signal's float and ISO date


def test_the_padded_osi_form_reads_as_the_unpadded_one():
    assert parse_occ("SPY   261218C00600000") == parse_occ("SPY261218C00600000")
    assert parse_occ("BRKB  260918C00480000").root == "BRKB"


def test_every_cent_strike_round_trips_exactly():
    # in binary floats many of these times 1000 fall just below a whole number (2.01 * 1000 = 2009.9999999999998)
    expiry = date(2026, 12, 18)
    for cents in range(1, 100_000):
        strike = cents / 100
        symbol = occ_symbol("SPY", expiry, "P", strike)
        assert symbol[-8:] == f"{cents * 10:08d}", strike
        assert parse_occ(symbol).strike == Decimal(cents) / 100


@settings(deadline=None, max_examples=300)
@given(
    root=st.from_regex(r"[A-Z][A-Z0-9]{0,5}", fullmatch=True),
    expiry=st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    right=st.sampled_from("CP"),
    thousandths=st.integers(1, 99_999_999),
)
def test_symbols_round_trip(root, expiry, right, thousandths):
    strike = Decimal(thousandths) / 1000
    symbol = occ_symbol(root, expiry, right, strike)
    assert parse_occ(symbol) == (root, expiry, right, strike)
    assert occ_symbol(*parse_occ(symbol)) == symbol


@pytest.mark.parametrize(
    ("strike", "why"),
    [
        (2.0005, "thousandths"),
        (Decimal("600.0001"), "thousandths"),
        (0, "outside"),
        (-5, "outside"),
        (100_000, "outside"),
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        ("abc", "not a number"),
        (True, "not a number"),
    ],
)
def test_strikes_without_a_symbol_are_refused(strike, why):
    with pytest.raises(ValueError, match=why):
        occ_symbol("SPY", date(2026, 12, 18), "C", strike)


def test_other_parts_without_a_symbol_are_refused():
    with pytest.raises(ValueError, match="root"):
        occ_symbol("BRK.B", date(2026, 12, 18), "C", 480)  # a root has no punctuation (see option_root)
    with pytest.raises(ValueError, match="root"):
        occ_symbol("TOOLONG", date(2026, 12, 18), "C", 480)
    with pytest.raises(ValueError, match="right"):
        occ_symbol("SPY", date(2026, 12, 18), "call", 600)
    with pytest.raises(ValueError, match="2000-2099"):
        occ_symbol("SPY", date(2100, 1, 15), "C", 600)
    with pytest.raises(ValueError, match="not a date"):
        occ_symbol("SPY", "2026-13-01", "C", 600)


@pytest.mark.parametrize(
    "symbol",
    ["SPY", "SPY261218X00600000", "SPY261318C00600000", "SPY261218C0060000", "spy261218C00600000",
     "SPY261218C00000000", "SPY261218C006000000", " SPY261218C00600000"],
)  # fmt: skip
def test_what_is_not_a_symbol_is_refused(symbol):
    with pytest.raises(ValueError):
        parse_occ(symbol)


def test_option_roots_of_class_shares_drop_the_punctuation():
    assert option_root("BRK.B") == option_root("brk/b") == option_root("BRK B") == "BRKB"
    assert option_root("spy") == "SPY"
    assert occ_symbol(option_root("BRK.B"), date(2026, 9, 18), "C", 480) == "BRKB260918C00480000"
    with pytest.raises(ValueError, match="no OCC root"):
        option_root("$$$")


def test_a_symbol_is_the_leg_a_signal_names():
    signal = new_signal(action="open", instrument="option", ticker="TSLA", legs=[new_leg("buy", "P", 2.01, "2027-01-15")])
    [leg] = read_contract(signal).legs
    assert parse_occ("TSLA270115P00002010").leg() == leg
    assert occ_symbol("TSLA", leg.expiry, leg.right, leg.strike) == "TSLA270115P00002010"
