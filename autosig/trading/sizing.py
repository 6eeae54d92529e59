"""How much to buy or sell: entries from a size rule, exits from what is held, never more than that.

Real orders are in whole units (shares, contracts): entry_quantity() and exit_quantity() return ints, rounded down
so an order never exceeds what its rule allows, and computed in Decimal so 0.29 x 100 is 29, not the binary float's
28.999999999999996. The paper ledger follows an alert's own quantities, fractions included (paper_exit_quantity()).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Literal

from autosig.trading._fields import decimal, positive
from autosig.trading.contracts import Refusal

# Parsed fractions are rounded ("sold 1/3" is 0.3333), so selling all but this share of a position is selling all
# of it: otherwise "trim 1/3" then "out 2" of 3 contracts would leave 0.0001 of a contract open forever.
DUST = 1e-3
SizeKind = Literal["alert", "fixed", "usd", "pct"]


def paper_entry_quantity(quantity: Any) -> tuple[float, bool]:
    """What a paper open or add buys: the signal's (unchecked) `quantity`, else 1 unit, and whether it was assumed
    (so the ledger says so, and a later trim by quantity is not measured against it)."""
    count = positive(quantity)
    return (1.0, True) if count is None else (count, False)


def paper_exit_quantity(
    action: str, held: float, fraction: Any, quantity: Any, *, size_assumed: bool = False
) -> float | Refusal:
    """What a close or trim sells of a paper position of `held`, from the signal's (unchecked) `fraction` and
    `quantity`: the fraction of what is held, else the quantity (at most what is held), else all of it for a close.
    A trim that says neither is refused, and so is a trim by quantity of a position whose size was assumed (the
    analyst's 2 of an unknown number says nothing about ours). Within DUST of all of it is all of it."""
    share = positive(fraction)
    count = positive(quantity)
    if share is not None and share <= 1:
        amount = held * share
    elif count is not None and not (action == "trim" and size_assumed):
        amount = min(count, held)
    elif action == "close":
        amount = held
    else:
        return Refusal("trim against a position of assumed size" if count is not None else "trim without a size")
    return held if amount >= held * (1 - DUST) else amount


def exit_quantity(
    action: str,
    available: int,
    *,
    fraction: Any = None,
    alert_quantity: Any = None,
    analyst_open: Any = None,
) -> int:
    """Units to sell of the `available` ones (held, less what working exits already sell): a close sells all; a
    trim sells `fraction` of them, else the alert's quantity in proportion (`alert_quantity` x ours / the
    analyst's open quantity), else half; rounded down, at least 1 (a trim of one contract closes it), never more
    than available. Unreadable fields count as missing."""
    if action not in ("close", "trim"):
        raise ValueError(f"{action!r} is not an exit (close or trim)")
    if available <= 0:
        return 0
    if action == "close":
        return available
    share = positive(fraction)
    sold, theirs = positive(alert_quantity), positive(analyst_open)
    if share is not None and share <= 1:
        amount = decimal(share) * available
    elif sold is not None and theirs is not None:
        amount = decimal(sold) * available / decimal(theirs)
    else:
        amount = Decimal(available) / 2
    return min(available, max(1, int(amount.to_integral_value(ROUND_FLOOR))))


def order_pieces(quantity: int, most: int) -> list[int]:
    """An exit of `quantity` in orders of at most `most` units each (a cap never blocks an exit): 25 by 10 is
    [10, 10, 5]."""
    if most < 1:
        raise ValueError(f"at most {most} units per order")
    whole, rest = divmod(max(quantity, 0), most)
    return [most] * whole + ([rest] if rest else [])


@dataclass(frozen=True, slots=True)
class SizeRule:
    """How entries are sized: "alert" (the alert's quantity, else 1), "fixed:N" units, "usd:X" dollars,
    "pct:X" percent of the account's equity."""

    kind: SizeKind
    amount: Decimal | None = None  # N, X or X percent; None for "alert"

    def __str__(self) -> str:
        return self.kind if self.amount is None else f"{self.kind}:{self.amount}"


def parse_size_rule(text: str) -> SizeRule:
    """Reads a size rule ("alert", "fixed:2", "usd:500", "pct:1.5"); ValueError naming what is wrong."""
    kind, colon, value = text.strip().partition(":")
    kind = kind.strip().lower()
    if kind == "alert":
        if colon:
            raise ValueError(f"size rule {text!r}: alert takes no number (it buys the alert's quantity)")
        return SizeRule("alert")
    if kind not in ("fixed", "usd", "pct"):
        raise ValueError(f"size rule {text!r}: expected alert, fixed:N, usd:X or pct:X")
    if not value.strip():
        raise ValueError(f"size rule {text!r}: {kind} needs a number after the colon")
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"size rule {text!r}: {value.strip()!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"size rule {text!r}: the number must be above 0")
    if kind == "fixed" and amount != amount.to_integral_value():
        raise ValueError(f"size rule {text!r}: fixed takes a whole number of units")
    if kind == "pct" and amount > 100:
        raise ValueError(f"size rule {text!r}: pct is a percent of the account, at most 100")
    return SizeRule(kind, amount)  # type: ignore[arg-type]


def entry_quantity(
    rule: SizeRule,
    *,
    price: Decimal,
    multiplier: int,
    max_trade_usd: Decimal,
    max_contracts: int,
    alert_quantity: Any = None,
    equity: Decimal | None = None,
) -> int:
    """Units to buy at `price` (the alert's, the top of a range) of a contract with `multiplier`: as the rule says,
    then lowered to fit `max_trade_usd` and `max_contracts`. 0 means too small to trade.

    - alert: the alert's quantity rounded down (never more than it said), else 1;
    - fixed:N: N;
    - usd:X: X / (price x multiplier) rounded down, at least 1 while one unit costs no more than max_trade_usd
      (so "usd:500" still buys one $7 contract, while max_trade_usd allows one);
    - pct:X: X percent of `equity`, rounded down (needs the account's equity)."""
    price = decimal(price)
    if not price.is_finite() or price <= 0:
        raise ValueError(f"price {price} is not a price")
    unit = price * multiplier
    if rule.kind == "alert":
        stated = positive(alert_quantity)
        quantity = 1 if stated is None else math.floor(stated)
    elif rule.kind == "fixed":
        quantity = int(rule.amount)  # type: ignore[arg-type]
    elif rule.kind == "usd":
        quantity = _floor(rule.amount / unit)  # type: ignore[operator]
        if quantity == 0 and unit <= max_trade_usd:
            quantity = 1
    else:
        if equity is None:
            raise ValueError("pct sizing needs the account's equity")
        quantity = _floor(decimal(equity) * rule.amount / 100 / unit)  # type: ignore[operator]
    return max(0, min(quantity, _floor(decimal(max_trade_usd) / unit), max_contracts))


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_FLOOR))


__all__ = ["DUST", "SizeRule", "entry_quantity", "exit_quantity", "order_pieces", "paper_entry_quantity",
           "paper_exit_quantity", "parse_size_rule"]  # fmt: skip
