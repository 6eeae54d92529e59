"""Positions: the direction an opening order faces, average cost, and realized P&L of whole-unit fills."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autosig.parsing.model import new_leg, new_signal
from autosig.trading import Contract, Leg, Position, average_cost, opening_direction, realized_pnl

D = Decimal
EXP = "2027-01-17"
CALL = Contract("SPY", "option", (Leg("C", 600.0, EXP),))


def spread(*legs, **kw):
    return new_signal(action="open", instrument="spread", ticker="QQQ", legs=list(legs), price=1.0, **kw)


def test_opening_directions():
    assert opening_direction(new_signal(action="open", ticker="AAPL")) == (1, None)
    assert opening_direction(new_signal(legs=[new_leg("buy", "C", 600.0, EXP)])) == (1, None)
    assert opening_direction(new_signal(legs=[new_leg("sell", "P", 500.0, EXP)])) == (-1, None)
    assert opening_direction(spread(new_leg("sell", "C", 600.0, EXP), new_leg("sell", "P", 550.0, EXP),
                                    limit_kind="credit")) == (-1, None)  # fmt: skip
    # a vertical without limit_kind: the dearer leg bought is a debit (the lower call, the higher put)
    assert opening_direction(spread(new_leg("buy", "C", 500.0, EXP), new_leg("sell", "C", 505.0, EXP))) == (1, None)
    assert opening_direction(spread(new_leg("sell", "P", 500.0, EXP), new_leg("buy", "P", 495.0, EXP))) == (-1, None)
    assert opening_direction(spread(new_leg("buy", "P", 500.0, EXP), new_leg("sell", "P", 495.0, EXP))) == (1, None)
    # nothing says: a debit is assumed, and said
    assert opening_direction(spread(new_leg("sell", "C", 230.0, EXP), new_leg("sell", "P", 210.0, EXP))) == (
        1, "debit")


def test_the_average_cost_formulas():
    assert average_cost(1.25, 2, 0.75, 2) == 1.0
    assert average_cost(D("1.25"), 2, D("0.75"), 2) == D(1)
    assert realized_pnl(1, 1.0, 1.5, 2, 100) == 100.0
    assert realized_pnl(-1, 2.0, 1.2, 1, 100) == pytest.approx(80.0)  # a short bought back lower


def test_a_position_of_whole_units():
    position = Position(CALL).bought(2, D("1.25")).bought(1, D("1.10"))
    assert position.quantity == 3 and position.cost == D("3.60") and position.avg_entry == D("1.2")
    position, gain = position.sold(1, D("1.50"))  # (1.50 - 1.20) x 1 x 100
    assert gain == D(30) and position.quantity == 2 and position.avg_entry == D("1.2")
    position, gain = position.sold(2, D("1.00"))  # (1.00 - 1.20) x 2 x 100
    assert gain == D(-40) and position.realized == D(-10) and position.quantity == 0
    assert position.avg_entry is None and position.cost == 0


def test_a_round_trip_realizes_its_proceeds_less_its_cost_exactly():
    # an average of 1.0666... : thirds must not leave a remainder once the position is closed
    position = Position(CALL).bought(1, D(1)).bought(2, D("1.10"))
    position, first = position.sold(1, D("1.20"))
    position, second = position.sold(2, D("1.20"))
    assert position.realized == first + second == (D("3.60") - D("3.20")) * 100


def test_a_short_position_gains_when_bought_back_lower():
    short = Position(Contract("NVDA", "option", (Leg("P", 120.0, EXP),)), direction=-1).bought(1, D(2))
    _, gain = short.sold(1, D("1.20"))
    assert gain == D(80)


def test_fills_that_are_not_whole_positive_units_or_exceed_the_position_are_refused():
    position = Position(Contract("AAPL", "stock")).bought(10, D(190))
    for quantity in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive whole units"):
            position.bought(quantity, D(1))
        with pytest.raises(ValueError, match="positive whole units"):
            position.sold(quantity, D(1))
    with pytest.raises(ValueError, match="an exit of 11 from a position of 10"):
        position.sold(11, D(200))


FILLS = st.lists(st.tuples(st.booleans(), st.integers(1, 50), st.decimals(D("0.01"), D(500), places=2)),
                 max_size=30)  # fmt: skip


@settings(deadline=None, max_examples=300)
@given(FILLS, st.sampled_from([1, -1]), st.sampled_from([CALL, Contract("AAPL", "stock")]))
def test_positions_never_go_negative_and_account_for_every_dollar(fills, direction, contract):
    position = Position(contract, direction)
    bought = sold = D(0)
    realized = D(0)
    for is_buy, quantity, price in fills:
        if is_buy:
            position = position.bought(quantity, price)
            bought += quantity * price
        elif quantity > position.quantity:
            with pytest.raises(ValueError):
                position.sold(quantity, price)
        else:
            position, gain = position.sold(quantity, price)
            sold += quantity * price
            realized += gain
        assert position.quantity >= 0 and position.cost >= 0
        assert position.realized == realized
    if position.quantity == 0:
        # flat: realized is exactly what came in less what went out
        assert position.realized == direction * (sold - bought) * contract.multiplier
