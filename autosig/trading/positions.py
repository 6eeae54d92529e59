"""Positions: which way an opening order faces, average cost, and what an exit realizes.

Average cost: what is still open keeps its average entry, a new lot is weighted in, and an exit realizes
direction x (exit - average entry) x quantity x multiplier. The paper ledger applies the formulas (average_cost,
realized_pnl) to its float quantities; Position holds integer fills in Decimal for real orders.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, TypeVar

from autosig.trading._fields import decimal
from autosig.trading.contracts import Contract, Leg, signal_legs

N = TypeVar("N", float, Decimal)


def opening_direction(signal: dict[str, Any]) -> tuple[int, str | None]:
    """+1 (long) or -1 (short) for the position an opening order starts, and what was assumed to decide it (or
    None). A single leg faces its side; a spread its stated debit or credit, else the vertical's bought strike (a
    debit when the dearer leg is bought: the lower call or the higher put); otherwise a debit is assumed and said.
    Shares and futures are long: the signal model carries no side for them."""
    legs = signal_legs(signal)
    if not legs:
        return 1, None
    if len(legs) == 1:
        return (-1 if legs[0].get("side") == "sell" else 1), None
    kind = signal.get("limit_kind")
    if kind in ("debit", "credit"):
        return (1 if kind == "debit" else -1), None
    (right_a, strike_a, _, _), (right_b, strike_b, _, _) = (Leg.read(leg) for leg in legs[:2])
    sides = [leg.get("side") for leg in legs]
    vertical = len(legs) == 2 and right_a == right_b in ("C", "P") and None not in (strike_a, strike_b)
    if vertical and strike_a != strike_b and sides.count("buy") == sides.count("sell") == 1:
        bought_lower = (strike_a < strike_b) == (sides[0] == "buy")  # type: ignore[operator]
        return (1 if bought_lower == (right_a == "C") else -1), None
    return 1, "debit"


def average_cost(avg_entry: N, held: N | int, price: N, quantity: N | int) -> N:
    """The average entry after buying `quantity` at `price` onto `held` at `avg_entry`."""
    return (avg_entry * held + price * quantity) / (held + quantity)


def realized_pnl(direction: int, avg_entry: N, price: N, quantity: N | int, multiplier: N | int) -> N:
    """What an exit of `quantity` at `price` realizes against the average entry."""
    return direction * (price - avg_entry) * quantity * multiplier


@dataclass(frozen=True, slots=True)
class Position:
    """A position of whole units, for fills of real orders. The cost basis of what is open is kept rather than its
    average, so a round trip realizes exactly its proceeds less its cost (an average like 1.0666... would leave a
    remainder of a cent's fraction). Each method returns the position after the fill."""

    contract: Contract
    direction: int = 1  # +1 long, -1 short
    quantity: int = 0
    cost: Decimal = Decimal(0)  # what the open quantity was entered at, in price units (x quantity, not x multiplier)
    realized: Decimal = Decimal(0)

    @property
    def avg_entry(self) -> Decimal | None:
        return self.cost / self.quantity if self.quantity else None

    def bought(self, quantity: int, price: Decimal | float) -> Position:
        """After an entry (or add) filled `quantity` at `price`."""
        _check(quantity)
        return replace(self, quantity=self.quantity + quantity, cost=self.cost + decimal(price) * quantity)

    def sold(self, quantity: int, price: Decimal | float) -> tuple[Position, Decimal]:
        """After an exit filled `quantity` at `price`, and what it realized. Raises ValueError for more than is
        held: an exit never sells what the position does not hold."""
        _check(quantity)
        if quantity > self.quantity:
            raise ValueError(f"an exit of {quantity} from a position of {self.quantity}")
        # the open units keep their average: the exit takes its share of the cost, all of what is left when it
        # closes the position
        cost = self.cost if quantity == self.quantity else self.cost * quantity / self.quantity
        gain = self.direction * (decimal(price) * quantity - cost) * self.contract.multiplier
        after = replace(self, quantity=self.quantity - quantity, cost=self.cost - cost, realized=self.realized + gain)
        return after, gain


def _check(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValueError(f"a fill of {quantity!r}: fills are positive whole units")


__all__ = ["Position", "average_cost", "opening_direction", "realized_pnl"]
