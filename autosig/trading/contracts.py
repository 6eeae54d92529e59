"""What a contract is: a ticker and its legs (right, strike, expiry, ratio) without sides.

The side of a leg is the side of the order, not of the contract: the alert that closes a long call names the same
call with the opposite side. So two signals name the same contract when their tickers, kinds and legs (in any order)
are equal, whatever their sides.

Two readings of a signal:
- read_contract() is lenient: it keeps whatever the signal names, with None for what it leaves out ("STC SPY 600c"
  without an expiry), so a partial description can be matched to an open position (see matching) and a paper ledger
  can follow an alert as written.
- contract_of() is strict, for orders: a complete contract, or a Refusal saying what is missing. A missing right,
  strike or expiry is never assumed.
Both return the same value for a complete contract, so a position opened from one matches exits read by the other.

The kind is "stock", "option" or "future"; a spread is an option contract with several legs (so "out of the SPY
calls" finds a SPY spread), and `instrument` names the four classes of the signal model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from autosig.trading._fields import decimal, number, positive, text

# Per unit of quantity: 100 shares per option contract (and per spread), 1 per share. Futures multipliers vary by
# product, so futures P&L is in points x contracts.
MULTIPLIERS = {"option": 100, "stock": 1, "future": 1}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class Refusal:
    """What a rule will not decide, and why, in words a user can act on ("leg 1 has no expiry")."""

    reason: str


class Leg(NamedTuple):
    """One leg without its side. None where a signal leaves the field out (a partial description)."""

    right: str | None  # "C" | "P" in a complete contract
    strike: float | None
    expiry: str | None  # ISO date, as the signal wrote it
    ratio: float = 1.0

    @classmethod
    def read(cls, leg: dict[str, Any]) -> Leg:
        """A signal's leg as written; what cannot be read is None, a missing or unreadable ratio is 1."""
        right = text(leg.get("right"))
        return cls(right.upper() if right else None, number(leg.get("strike")), text(leg.get("expiry")),
                   positive(leg.get("ratio")) or 1.0)  # fmt: skip

    @property
    def complete(self) -> bool:
        return None not in self


def _canonical(leg: Leg) -> tuple[Any, ...]:
    # one order for the same legs, whatever order a signal lists them in (None sorts first in each field)
    right, strike, expiry, ratio = leg
    return right is not None, right or "", strike is not None, strike or 0.0, expiry is not None, expiry or "", ratio


class Contract(NamedTuple):
    """A ticker and its legs without sides; equal contracts are the same position. A tuple, so it is a cheap
    dictionary key."""

    ticker: str | None
    kind: str  # "stock" | "option" | "future"
    legs: tuple[Leg, ...] = ()

    @classmethod
    def of(cls, ticker: str | None, kind: str, legs: Sequence[Leg] = ()) -> Contract:
        """A contract with its legs in the one order every reading of them uses."""
        return cls(ticker, kind, tuple(sorted(legs, key=_canonical)) if len(legs) > 1 else tuple(legs))

    @property
    def complete(self) -> bool:
        """Whether it is a contract an order can name: a ticker, and for an option at least one leg, each with
        every field."""
        if self.ticker is None or (self.kind == "option" and not self.legs):
            return False
        return all(None not in leg for leg in self.legs)

    @property
    def instrument(self) -> str:
        """The class of the signal model: stock, option, spread (an option contract with several legs) or future."""
        if self.kind == "option" and len(self.legs) > 1:
            return "spread"
        return self.kind

    @property
    def multiplier(self) -> int:
        return MULTIPLIERS[self.kind]

    @property
    def expiry(self) -> date | None:
        """When the last leg expires; None for shares, futures, and legs without a readable expiry."""
        if self.kind != "option" or not self.legs:
            return None
        try:
            return max(date.fromisoformat(leg.expiry) for leg in self.legs)  # type: ignore[arg-type]
        except (TypeError, ValueError):  # a leg without an expiry, or not an ISO date
            return None

    @property
    def label(self) -> str:
        """How a page names it: SPY 600C 2027-01-17, AAPL, /ES; several legs are joined by " / "."""
        return label(self.ticker or "?", self.kind, self.legs)


def label(ticker: str, kind: str, legs: Sequence[Leg], sides: Sequence[str | None] = ()) -> str:
    """How a contract is named on a page. With `sides` (one per leg, the opening order's) each leg of a spread is
    signed: "SPX -5900P 2027-01-17 / +5890P 2027-01-17" is a put credit spread; a single leg is never signed."""
    if kind == "future":
        return f"/{ticker}"
    if not legs:
        return ticker if kind == "stock" else f"{ticker} (option)"
    signed = len(legs) > 1 and bool(sides)

    def one(leg: Leg, side: str | None) -> str:
        right, strike, expiry, ratio = leg
        sign = ("-" if side == "sell" else "+") if signed else ""
        count = f"{ratio:g}x" if ratio != 1 else ""
        return f"{sign}{count}{'?' if strike is None else f'{strike:g}'}{right or '?'} {expiry or '?'}"

    return f"{ticker} " + " / ".join(one(leg, sides[i] if signed else None) for i, leg in enumerate(legs))


def signal_legs(signal: dict[str, Any]) -> list[dict[str, Any]]:
    """The legs of a signal that are legs at all (a dict each), in the signal's order, sides included."""
    legs = signal.get("legs")
    return [leg for leg in legs if isinstance(leg, dict)] if isinstance(legs, list) else []


def signal_kind(signal: dict[str, Any], legs: Sequence[dict[str, Any]]) -> str:
    """The kind a signal names: a future when it says so, an option when it names legs or says option or spread,
    else stock (the signal model has no other)."""
    instrument = signal.get("instrument")
    if instrument == "future":
        return "future"
    if legs or instrument in ("option", "spread"):
        return "option"
    return "stock"


def read_contract(signal: dict[str, Any]) -> Contract:
    """The contract a signal names, as far as it names it: None for a missing ticker or leg field."""
    ticker = text(signal.get("ticker"))
    legs = signal_legs(signal)
    return Contract.of(ticker.upper() if ticker else None, signal_kind(signal, legs), [Leg.read(leg) for leg in legs])


def contract_of(signal: dict[str, Any]) -> Contract | Refusal:
    """The complete contract an order would trade, or why the signal does not name one: every option leg needs a
    right (C or P), a positive strike in whole thousandths (what an OCC symbol can carry), an expiry as a date
    (YYYY-MM-DD) and a whole ratio. Nothing missing is assumed."""
    contract = read_contract(signal)
    if contract.ticker is None:
        return Refusal("names no ticker")
    if contract.kind == "option" and not contract.legs:
        return Refusal("an option without legs (no strike, right or expiry)")
    for i, leg in enumerate(signal_legs(signal), 1):
        right, strike, expiry, ratio = Leg.read(leg)
        where = f"leg {i}" if len(contract.legs) > 1 else "the option"
        if right not in ("C", "P"):
            return Refusal(f"{where} has no right (call or put)")
        if strike is None or strike <= 0:
            return Refusal(f"{where} has no strike")
        thousandths = decimal(strike) * 1000
        if thousandths != thousandths.to_integral_value():
            return Refusal(f"{where}: strike {strike:g} is not in whole thousandths")
        if expiry is None:
            return Refusal(f"{where} has no expiry")
        if not _ISO_DATE.fullmatch(expiry) or not _is_date(expiry):
            return Refusal(f"{where}: expiry {expiry!r} is not a date")
        if ratio != int(ratio):
            return Refusal(f"{where}: ratio {ratio:g} is not a whole number")
    return contract


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


__all__ = ["MULTIPLIERS", "Contract", "Leg", "Refusal", "contract_of", "label", "read_contract", "signal_kind",
           "signal_legs"]  # fmt: skip
