"""The paper ledger's positions and their fills, as its pages show them.

A position is followed at the alert's own prices and quantities (floats: an alert may trim a third), by the
average-cost rules of autosig.trading. What it renders is kept until it changes: a position open for months is
shown again after every new alert, and a fill never changes once made.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from autosig.clock import rfc3339
from autosig.projections.ledger_history import AlertVersion
from autosig.trading import MULTIPLIERS as UNIT_MULTIPLIERS
from autosig.trading import Contract, Leg, average_cost, realized_pnl
from autosig.trading import label as contract_label

# as the ledger shows them (per unit of quantity; futures P&L is in points x contracts)
MULTIPLIERS = {kind: float(multiplier) for kind, multiplier in UNIT_MULTIPLIERS.items()}
# fills kept and shown per position, the newest (one averaged down for months gathers hundreds; fill_count says how
# many, and the averages count them all)
SUMMARY_FILLS = 20


def outcome(realized: float) -> str:
    # by the cent: an average entry of 1.0000000000000002 sold at 1.00 is a flat trade, not a loss
    cents = rounded(realized, 2)
    return "win" if cents > 0 else "loss" if cents < 0 else "flat"


def rounded(value: float, places: int) -> float:
    result = round(value, places)
    return 0.0 if result == 0 else result  # never "-0.0" on a page


@dataclass(slots=True)
class Fill:
    action: str
    quantity: float
    price: float
    alert: AlertVersion
    realized: float | None = None  # exits only
    # A fill never changes, and a long-open position is rendered again after every new alert: kept while shown
    rendered: dict[str, Any] | None = None

    def view(self) -> dict[str, Any]:
        if self.rendered is None:
            self.rendered = {
                "action": self.action,
                "quantity": rounded(self.quantity, 6),
                "price": self.price,
                "realized": None if self.realized is None else rounded(self.realized, 2),
                "alert": self.alert.view(),
            }
        return self.rendered


@dataclass(slots=True)
class Position:
    key: Contract
    instrument: str
    legs: list[dict[str, Any]]  # as opened: the sides are the opening sides
    direction: int
    opened: AlertVersion
    quantity: float = 0.0
    avg_entry: float = 0.0
    opened_quantity: float = 0.0
    closed_quantity: float = 0.0
    realized: float = 0.0
    # the newest fills (SUMMARY_FILLS shown, up to twice that kept): a position open for months gathers hundreds
    fills: list[Fill] = field(default_factory=list)
    fill_count: int = 0
    exit_quantity: float = 0.0  # over every exit, for the average exit price
    exit_value: float = 0.0
    assumed: list[str] = field(default_factory=list)
    # (fills when rendered, the view): every change adds a fill, so the count says whether the view is current.
    # A position open for long is rendered again after every new alert.
    rendered: tuple[int, dict[str, Any]] | None = None
    label: str = ""  # "SPY 600C 2027-01-17": fixed by key and legs, and named in every equity curve point

    def __post_init__(self) -> None:
        legs, key = self.legs, self.key
        sides = [leg.get("side") for leg in legs]
        self.label = contract_label(key.ticker, key.kind, [Leg.read(leg) for leg in legs], sides)

    @property
    def multiplier(self) -> float:
        return MULTIPLIERS[self.key.kind]

    def copy(self) -> Position:
        return replace(self, fills=list(self.fills), assumed=list(self.assumed))

    def buy(self, action: str, quantity: float, price: float, alert: AlertVersion) -> None:
        self.avg_entry = average_cost(self.avg_entry, self.quantity, price, quantity)
        self.quantity += quantity
        self.opened_quantity += quantity
        self._add(Fill(action, quantity, price, alert))

    def sell(self, action: str, quantity: float, price: float, alert: AlertVersion) -> Fill:
        """An exit of `quantity` (see paper_exit_quantity: all of it when within dust of all of it)."""
        realized = realized_pnl(self.direction, self.avg_entry, price, quantity, self.multiplier)
        self.quantity = 0.0 if quantity == self.quantity else self.quantity - quantity
        self.closed_quantity += quantity
        self.realized += realized
        self.exit_quantity += quantity
        self.exit_value += price * quantity
        fill = Fill(action, quantity, price, alert, realized)
        self._add(fill)
        return fill

    def _add(self, fill: Fill) -> None:
        self.fills.append(fill)
        self.fill_count += 1
        if len(self.fills) > 2 * SUMMARY_FILLS:
            del self.fills[:-SUMMARY_FILLS]

    def view(self) -> dict[str, Any]:
        """What readers see. Shared between reads (it is kept until the position changes): never change it."""
        if self.rendered is None or self.rendered[0] != self.fill_count:
            self.rendered = (self.fill_count, self._render())
        return self.rendered[1]

    def forget_views(self) -> None:
        """Drops what view() kept (for a trade no longer shown: the history must not keep every rendering)."""
        self.rendered = None
        for fill in self.fills:
            fill.rendered = None

    def _render(self) -> dict[str, Any]:
        closed = self.quantity == 0
        exits = self.exit_quantity
        return {
            "contract": self.label,
            "ticker": self.key.ticker,
            "instrument": self.instrument,
            "legs": [dict(leg) for leg in self.legs],  # copies: these dicts belong to recorded events
            "direction": "long" if self.direction > 0 else "short",
            "multiplier": self.multiplier,
            "quantity": rounded(self.quantity, 6),
            "opened_quantity": rounded(self.opened_quantity, 6),
            "closed_quantity": rounded(self.closed_quantity, 6),
            "avg_entry": rounded(self.avg_entry, 4),
            "avg_exit": rounded(self.exit_value / exits, 4) if exits else None,
            "realized": rounded(self.realized, 2),
            "result": outcome(self.realized) if closed else None,
            "opened_at": rfc3339(self.opened.posted),
            "closed_at": rfc3339(self.fills[-1].alert.posted) if closed else None,
            "assumed": list(self.assumed),
            "fills": [f.view() for f in self.fills[-SUMMARY_FILLS:]],
            "fill_count": self.fill_count,
        }


__all__ = ["Fill", "MULTIPLIERS", "Position", "SUMMARY_FILLS", "outcome", "rounded"]
