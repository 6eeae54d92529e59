"""Matching a close, trim or add to a position: named, else the replied-to alert's, else the one that fits; never
guessed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from autosig.parsing.model import new_leg, new_signal
from autosig.trading import Contract, Leg, match_position, read_contract
from autosig.trading.matching import fits

EXP, LATER = "2027-01-17", "2027-02-19"
SPY_600C = Contract("SPY", "option", (Leg("C", 600.0, EXP),))
SPY_600C_LATER = Contract("SPY", "option", (Leg("C", 600.0, LATER),))
SPY_610C = Contract("SPY", "option", (Leg("C", 610.0, EXP),))
SPY_SHARES = Contract("SPY", "stock")
QQQ_SPREAD = Contract.of("QQQ", "option", [Leg("P", 500.0, EXP), Leg("P", 495.0, EXP)])


def named(action="close", ticker="SPY", *legs, instrument=None):
    return read_contract(new_signal(action=action, ticker=ticker, instrument=instrument, legs=list(legs), price=1.0))


def test_a_contract_named_in_full_is_found():
    match = match_position("close", named("close", "SPY", new_leg("sell", "C", 600.0, EXP)), [SPY_600C, SPY_610C])
    assert (match.outcome, match.contract, match.by) == ("found", SPY_600C, "named")


def test_a_partial_description_finds_the_one_position_it_fits():
    no_expiry = named("trim", "SPY", new_leg("sell", "C", 600.0, None))
    match = match_position("trim", no_expiry, [SPY_600C, SPY_610C, SPY_SHARES])
    assert (match.outcome, match.contract, match.by) == ("found", SPY_600C, "fit")
    # naming no legs: the kind it names decides between shares and calls
    assert match_position("close", named("close", "SPY", instrument="stock"), [SPY_600C, SPY_SHARES]).contract == SPY_SHARES
    calls = match_position("close", named("close", "SPY", instrument="option"), [SPY_600C, SPY_SHARES])
    assert calls.contract == SPY_600C
    # a spread's legs fit in any order, the sides aside
    spread = named("close", "QQQ", new_leg("buy", "P", 500.0, None), new_leg("sell", "P", 495.0, None))
    assert match_position("close", spread, [QQQ_SPREAD]).contract == QQQ_SPREAD


def test_several_fitting_are_ambiguous_with_the_candidates_listed():
    match = match_position("trim", named("trim", "SPY", new_leg("sell", "C", 600.0, None)),
                           [SPY_610C, SPY_600C_LATER, SPY_600C])  # fmt: skip
    assert (match.outcome, match.contract, match.by) == ("ambiguous", None, "fit")
    assert match.candidates == (SPY_600C_LATER, SPY_600C)  # in the order the positions were given
    assert match.reason == "trim fits several open positions"


def test_none_fitting_is_none_with_why():
    assert match_position("close", named("close", "TSLA", instrument="option"), [SPY_600C]).reason == (
        "close without an open position")
    nothing = read_contract(new_signal(action="close", price=2.0))
    assert match_position("close", nothing, [SPY_600C]).reason == "close names no contract"
    no_ticker = read_contract(new_signal(action="open", legs=[new_leg("buy", "C", 600.0, EXP)], price=1.0))
    assert match_position("open", no_ticker, [SPY_600C]).reason == "open names no ticker"


def test_a_reply_naming_no_contract_takes_the_replied_to_alerts():
    bare = read_contract(new_signal(action="close", price=2.0))
    match = match_position("close", bare, [SPY_600C, SPY_610C], replied=(SPY_610C,))
    assert (match.outcome, match.contract, match.by) == ("found", SPY_610C, "reply")
    # found even when no longer open: the caller says it is not open rather than closing something else
    assert match_position("close", bare, [SPY_600C], replied=(SPY_610C,)).contract == SPY_610C
    # several contracts in the replied-to alert: the ticker named picks one, else it is ambiguous
    two = (SPY_600C, QQQ_SPREAD)
    assert match_position("close", named("close", "QQQ"), [SPY_600C, QQQ_SPREAD], replied=two).contract == QQQ_SPREAD
    ambiguous = match_position("close", bare, [SPY_600C, QQQ_SPREAD], replied=two)
    assert (ambiguous.outcome, ambiguous.by, ambiguous.candidates) == ("ambiguous", "reply", two)
    # a signal that names legs is matched by them, not by what it replies to
    legs = named("close", "SPY", new_leg("sell", "C", 600.0, EXP))
    assert match_position("close", legs, [SPY_600C, SPY_610C], replied=(SPY_610C,)).contract == SPY_600C


def test_an_open_never_fits_a_partial_description():
    no_expiry = named("open", "SPY", new_leg("buy", "C", 600.0, None))
    assert match_position("open", no_expiry, [SPY_600C]).outcome == "none"
    assert match_position("add", no_expiry, [SPY_600C]).contract == SPY_600C
    assert match_position("open", named("open", "SPY", new_leg("buy", "C", 600.0, EXP)), [SPY_600C]).by == "named"


# --- properties -----------------------------------------------------------------------------------------------

LEGS = st.builds(Leg, st.sampled_from(["C", "P"]), st.sampled_from([495.0, 500.0, 600.0]), st.sampled_from([EXP, LATER]))
PATTERN_LEGS = st.builds(Leg, st.sampled_from(["C", "P", None]), st.sampled_from([500.0, 600.0, None]),
                         st.sampled_from([EXP, LATER, None]))  # fmt: skip
KINDS = st.sampled_from(["option", "stock"])
POSITIONS = st.lists(st.builds(lambda t, k, legs: Contract.of(t, k, legs if k == "option" else ()),
                               st.sampled_from(["SPY", "QQQ"]), KINDS, st.lists(LEGS, max_size=2)),
                     unique=True, max_size=6)  # fmt: skip
NAMED = st.builds(Contract.of, st.sampled_from(["SPY", "QQQ", None]), KINDS, st.lists(PATTERN_LEGS, max_size=2))


@settings(deadline=None, max_examples=400)
@given(st.sampled_from(["open", "add", "trim", "close"]), NAMED, POSITIONS, st.lists(LEGS.map(
    lambda leg: Contract("SPY", "option", (leg,))), max_size=2))
def test_a_match_is_never_a_guess(action, description, positions, replied):
    match = match_position(action, description, positions, replied)
    if match.outcome == "found":
        assert match.contract in positions or match.contract in replied
        if match.by == "fit":
            assert fits(description, positions) == [match.contract] and action != "open"
        if match.by == "named":
            assert match.contract == description
    elif match.outcome == "ambiguous":
        assert len(match.candidates) > 1 and match.contract is None and match.reason
    else:
        assert match.contract is None and match.reason.startswith(action)
        if action != "open":
            assert not fits(description, positions)
    # the order positions are listed in changes nothing but the order of candidates
    again = match_position(action, description, list(reversed(positions)), replied)
    assert (again.outcome, again.contract, set(again.candidates)) == (match.outcome, match.contract,
                                                                       set(match.candidates))
