"""Parser v2 builds the legs of a segment's signal and names its instrument: the side of each leg is the side of this
order ("sell" when closing or trimming a long), taken from the words, the spread's debit/credit or bull/bear, or the
contract of the replied-to alert."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autosig.parsing.model import new_leg
from autosig.parsing.v2._features import Features

ENTRIES = ("open", "add")
EXITS = ("close", "trim")


def opposite(side: str) -> str:
    return "sell" if side == "buy" else "buy"


def vertical_sides(right: str, limit_kind: str | None, bias: str | None) -> tuple[str, str] | None:
    """Opening sides of (lower strike, higher strike) of a vertical: a call debit (bull) spread buys the lower
    strike, a put debit (bear) spread the higher; credit spreads are the reverse. None when nothing says which,
    or debit/credit and bull/bear disagree."""
    by_kind = {"debit": True, "credit": False}.get(limit_kind or "")
    by_bias = None if bias is None else (bias == "bull") == (right == "C")
    if by_kind is None and by_bias is None or (by_kind is not None and by_bias is not None and by_kind != by_bias):
        return None
    debit = by_kind if by_kind is not None else by_bias
    buy_lower = debit == (right == "C")
    return ("buy", "sell") if buy_lower else ("sell", "buy")


@dataclass
class Order:
    """What the legs are built from: the action, the side words and the contract inherited from a reply."""

    action: str
    order_side: str  # the side of a single leg
    explicit: str | None  # the side a word states ("buy", "sell"), or None
    own_action: bool  # the segment has its own action word (not a header's or the line before's)
    expiry: str | None
    expiry_seen: bool
    limit_kind: str | None
    bias: str | None
    inherit: dict[str, Any] | None


def build_legs(f: Features, o: Order) -> list[dict[str, Any]] | str:
    """The legs, or the reason (unparseable) why they cannot be known."""
    if f.signed_legs:
        return [new_leg(leg["side"], leg["right"], leg["strike"], o.expiry, leg["ratio"]) for leg in f.signed_legs]
    if f.strike_pair is not None:
        kind = o.limit_kind
        if kind is None and o.explicit in ("buy", "sell") and o.own_action and o.action == "open":
            kind = "debit" if o.explicit == "buy" else "credit"  # "BTO … 500/495p": bought, so paid a debit
        sides = vertical_sides(f.strike_pair[2], kind, o.bias)
        if sides is None:
            return "a spread without debit/credit or bull/bear, so the side of each leg is unknown"
        if o.action in EXITS:
            sides = (opposite(sides[0]), opposite(sides[1]))
        lo, hi, right = f.strike_pair
        return [new_leg(sides[0], right, lo, o.expiry), new_leg(sides[1], right, hi, o.expiry)]
    if len(f.strikes) > 1:
        return "several strikes without the side of each leg"
    if f.strikes:
        return [new_leg(o.order_side, f.strikes[0][1], f.strikes[0][0], o.expiry)]
    if o.inherit is not None and o.inherit["legs"]:
        flip = o.order_side != o.inherit["legs"][0]["side"]
        return [
            new_leg(opposite(leg["side"]) if flip else leg["side"], leg["right"], leg["strike"], leg["expiry"],
                    leg["ratio"])
            for leg in o.inherit["legs"]
        ]  # fmt: skip
    if (f.right_only or f.option_word and not f.shares) and o.action in ENTRIES:
        return "missing strike"
    if o.expiry_seen and o.action in ENTRIES and not f.shares:
        return "an expiry without a strike"
    return []


def instrument_of(f: Features, legs: list[dict[str, Any]], inherit: dict[str, Any] | None) -> str:
    if len(legs) >= 2:
        return "spread"
    if legs or f.right_only:
        return "option"
    if inherit is not None:
        return str(inherit["instrument"])
    if f.future:
        return "future"
    if f.option_word and not f.shares:
        return "option"  # "out of the SPY lotto": an option position, its contract left to the position it closes
    return "stock"


def short_of_shares(instrument: str, action: str, explicit: str | None, inherit: dict[str, Any] | None) -> str | None:
    """Selling shares or futures short, or buying them back: the signal model has no side for them, so the signal
    reads like a buy (or a sale of a long) and must never trade. The doubt, or None."""
    if instrument not in ("stock", "future") or inherit is not None:
        return None
    if action in ENTRIES and explicit == "sell":
        return "a short sale, and a signal has no side for shares or futures"
    if action in EXITS and explicit == "buy":
        return "a short covered, and a signal has no side for shares or futures"
    return None
