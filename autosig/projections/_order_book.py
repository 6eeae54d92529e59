"""The parts of the orders projection that hold money: each order's state as the broker reported it, and AutoSig's
own positions, folded from fills only (never from what an alert said), per executor scope (mode, broker, account).

A fill is what an order.updated adds to the order's filled quantity; its price is what the cumulative average says
the added units cost ((avg2 × q2 − avg1 × q1) / (q2 − q1)), since brokers report averages, not fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from autosig.trading import Contract, Leg, Position

# Order statuses after which nothing more can fill.
FINAL = frozenset({"filled", "canceled", "expired", "rejected", "failed", "dry_run"})
WORKING = frozenset({"planned", "unknown", "accepted", "partially_filled"})

Scope = tuple[str, str, str | None]  # (mode, broker, account's last 4)


def contract_from(data: Any) -> Contract | None:
    """The Contract an event names as [ticker, kind, [[right, strike, expiry, ratio], …]] (see contract_data)."""
    try:
        ticker, kind, legs = data
        return Contract(ticker, kind, tuple(Leg(r, None if s is None else float(s), e, float(q)) for r, s, e, q in legs))
    except (TypeError, ValueError):
        return None


def contract_data(contract: Contract) -> list[Any]:
    """A Contract as JSON (orjson does not write NamedTuples)."""
    return [contract.ticker, contract.kind, [list(leg) for leg in contract.legs]]


@dataclass
class OrderState:
    """One order at the broker (one client order id), as the orders stream tells it."""

    client_order_id: str
    key: str  # the decision's key, order:<channel>:<source_id>:<i>
    scope: Scope
    effect: str  # "entry" | "exit"
    contract: Contract | None
    direction: int  # +1 long, -1 short: of the position an entry opens or an exit reduces
    quantity: int
    limit_price: float | None
    planned_seq: int
    planned_at: str
    # planned (not yet sent) | unknown | accepted | partially_filled | filled | canceled | expired | rejected | failed;
    # dry_run: recorded, never sent, and counted as filled at its limit so that dry run follows what it would hold
    status: str = "planned"
    broker_order_id: str | None = None
    submitted_at: str | None = None
    updated_at: str | None = None
    filled_quantity: float = 0.0
    average_fill_price: float | None = None
    cancel_requested: str | None = None  # why, once asked
    unknown_attempts: int = 0
    failure: str | None = None
    detail: str | None = None
    fills: list[dict[str, Any]] = field(default_factory=list)
    legs: list[dict[str, Any]] = field(default_factory=list)  # the plan's legs: symbol, side, position_intent, ratio
    instrument: str = "option"
    price_effect: str | None = None  # a spread's debit or credit
    underlying: str | None = None  # when it is not the OCC root (SPXW options: SPX)
    created_at: str | None = None  # the alert's, for freshness when the broker has no such order

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def remaining(self) -> float:
        return 0.0 if self.final else max(0.0, self.quantity - self.filled_quantity)


@dataclass
class Holding:
    """AutoSig's position in one contract, with what the page and the executor need beside the arithmetic."""

    position: Position
    opened_at: str
    label: str
    opening_legs: list[dict[str, Any]] = field(default_factory=list)  # the first entry's legs (an exit reverses them)
    broker_quantity: float | None = None  # what the broker reported at the last reconciliation that differed
    exit_missed: str | None = None  # why an exit the analyst posted was not followed, while this is still held
    last_fill_at: str | None = None

    def view(self) -> dict[str, Any]:
        p = self.position
        return {
            "contract": self.label,
            "contract_key": contract_data(p.contract),
            "ticker": p.contract.ticker,
            "instrument": p.contract.instrument,
            "direction": "long" if p.direction > 0 else "short",
            "quantity": p.quantity,
            "average_cost": float(p.avg_entry) if p.avg_entry is not None else None,
            "realized": float(p.realized),
            "multiplier": p.contract.multiplier,
            "opened_at": self.opened_at,
            "last_fill_at": self.last_fill_at,
            "broker_quantity": self.broker_quantity,
            "exit_missed": self.exit_missed,
        }


class Book:
    """The positions of one scope and their realized P&L, by New York day."""

    def __init__(self) -> None:
        self.holdings: dict[Contract, Holding] = {}
        self.realized_by_day: dict[str, Decimal] = {}
        self.realized_total = Decimal(0)

    def fill(self, order: OrderState, quantity: float, price: float, at: str, day: str, label: str) -> None:
        units = int(quantity)
        if units <= 0 or order.contract is None:
            return
        contract = order.contract
        holding = self.holdings.get(contract)
        if order.effect == "entry":
            if holding is None or holding.position.quantity == 0:
                holding = Holding(Position(contract, order.direction), at, label, list(order.legs))
                self.holdings[contract] = holding
            holding.position = holding.position.bought(units, price)
        else:
            if holding is None or holding.position.quantity == 0:
                return  # an exit of nothing AutoSig holds: never counted as a short
            units = min(units, holding.position.quantity)
            holding.position, gain = holding.position.sold(units, price)
            self._realize(day, gain)
        holding.last_fill_at = at
        if holding.position.quantity == 0:
            del self.holdings[contract]

    def expire(self, contract: Contract, price: float, day: str) -> None:
        holding = self.holdings.get(contract)
        if holding is None or holding.position.quantity == 0:
            return
        holding.position, gain = holding.position.sold(holding.position.quantity, price)
        self._realize(day, gain)
        del self.holdings[contract]

    def _realize(self, day: str, gain: Decimal) -> None:
        self.realized_by_day[day] = self.realized_by_day.get(day, Decimal(0)) + gain
        self.realized_total += gain
