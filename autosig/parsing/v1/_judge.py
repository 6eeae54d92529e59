"""Parser v1 judges one segment: a signal, or why it is not one (non_signal) or cannot be read (unparseable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from autosig.parsing.model import new_leg, new_signal, non_signal, unparseable
from autosig.parsing.v1._features import Action, Features


@dataclass
class Parent:
    """The contract of the replied-to alert, when it names exactly one."""

    id: str | None
    signal: dict[str, Any] | None
    ambiguous: bool


def _opposite(side: str) -> str:
    return "sell" if side == "buy" else "buy"


def cents_price(f: Features) -> bool:
    """An option-like price: with cents, or a range."""
    return f.price is not None and f.price != int(f.price) or f.price_range is not None


def _vertical_sides(right: str, limit_kind: str | None, bias: str | None) -> tuple[str, str] | None:
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


def judge(
    f: Features, header: Features | None, today: date | None, parent: Parent | None, previous: Action | None
) -> dict[str, Any]:
    """A signal dict, or a non_signal/unparseable result."""
    h = header or Features()
    own = f.action
    action_info = own or h.action or previous
    # Intent before any action word: "Eyeing SMH short", "watching SPY 600"
    if f.intent_at is not None and (own is None or f.intent_at < own.start):
        return non_signal("intent or watchlist, not an order")
    if own is None and h.intent_at is not None and (h.action is None or h.intent_at < h.action.start):
        return non_signal("intent or watchlist, not an order")
    if own is None and (f.recap or h.recap):
        return non_signal("recap or result, not an order")
    if action_info is None and f.question:
        return non_signal("a question, not an order")
    if own is None and h.action is None and previous is not None:
        # a later line borrows the action of the one before only when it reads like an order itself
        if f.commentary and not f.strikes:
            return non_signal("market commentary, not an order")  # "…\nQQQ looking weak at 510"
        if f.price is None and f.price_range is None and not (f.strikes or f.signed_legs or f.strike_pair):
            return non_signal("a ticker without an order")  # "…\nNVDA looking strong"

    ticker = f.ticker
    inherit = None
    if parent is not None and parent.signal is not None:
        if ticker is None or (ticker == parent.signal["ticker"] and not (f.strikes or f.signed_legs or f.strike_pair)):
            inherit = parent.signal
            ticker = inherit["ticker"]
    has_contract = bool(f.strikes or f.signed_legs or f.strike_pair)
    has_price = f.price is not None or f.price_range is not None
    levels = f.stop is not None or bool(f.targets)

    action = action_info.action if action_info else None
    implicit = False
    if action is None:
        if levels and not has_price:
            action = "update"
        elif f.gain:
            return non_signal("result report, not an order")
        elif ticker is not None and has_price and (inherit is None or f.ticker is not None):
            if f.commentary and not has_contract:
                return non_signal("market commentary, not an order")
            if not has_contract and not f.price_explicit and f.price is not None and f.price == int(f.price):
                return non_signal("a ticker and a number, no action")  # "SPY 600" is a level more often than a buy
            action, implicit = "open", True
        elif has_contract:
            if f.commentary:
                return non_signal("market commentary, not an order")
            return unparseable("a contract without an action or a price")
        elif parent is not None and has_price:
            return unparseable("a reply with a price but no action")
        else:
            return non_signal("no trade in the text")
    strong = bool(action_info and action_info.strong)
    if own is not None and not strong and not f.ticker_sure and not has_contract and not cents_price(f):
        return non_signal("a weak verb and a lowercase word, not an order")  # "Closing bell in 10"
    if own is not None and not own.strong and own.action == "close" and not has_contract:
        # "SPY closed at 598.20": the ticker before the verb is the subject of a market report
        if f.ticker_at == own.start - 1 and f.ticker_at >= 0:
            return non_signal("market report, not an order")

    if ticker is None:
        if parent is not None and parent.ambiguous:
            return unparseable("reply names no ticker and the replied-to alert has several")
        # weak words without a ticker are chatter ("sold my car for 5000", "back at 1") unless an option-like
        # price (with cents) makes them trade-like ("sold at 2.10")
        if not strong and not has_contract and not cents_price(f) and not levels:
            return non_signal("no ticker and no price")
        return unparseable("missing ticker")

    expiry = f.expiry if f.expiry_seen else h.expiry
    expiry_seen = f.expiry_seen or h.expiry_seen
    fraction = f.fraction if f.fraction is not None else h.fraction
    if action == "close" and fraction is not None and fraction < 1:
        action = "trim"

    # sides: the side of this order; "short" names the direction, so short puts are bought
    position_side = "buy"
    if inherit is not None and inherit["legs"]:
        first = inherit["legs"][0]["side"]
        position_side = first if inherit["action"] in ("open", "add", "update") else _opposite(first)
    order_side = position_side if action in ("open", "add", "update") else _opposite(position_side)
    explicit = action_info.side if action_info else None
    right = f.strikes[0][1] if f.strikes else f.right_only
    if explicit == "short":
        explicit = "buy" if right == "P" else "sell"
    if explicit is not None and own is not None:
        order_side = explicit

    confidence = 1.0
    legs: list[dict[str, Any]] = []
    if f.signed_legs:
        legs = [new_leg(leg["side"], leg["right"], leg["strike"], expiry, leg["ratio"]) for leg in f.signed_legs]
    elif f.strike_pair is not None:
        kind = f.limit_kind or h.limit_kind
        if kind is None and explicit in ("buy", "sell") and own is not None and action == "open":
            kind = "debit" if explicit == "buy" else "credit"  # "BTO … 500/495p": bought, so paid a debit
        sides = _vertical_sides(f.strike_pair[2], kind, f.bias or h.bias)
        if sides is None:
            return unparseable("a spread without debit/credit or bull/bear, so the side of each leg is unknown")
        if action in ("close", "trim"):
            sides = (_opposite(sides[0]), _opposite(sides[1]))
        lo, hi, right = f.strike_pair
        legs = [new_leg(sides[0], right, lo, expiry), new_leg(sides[1], right, hi, expiry)]
    elif len(f.strikes) > 1:
        return unparseable("several strikes without the side of each leg")
    elif f.strikes:
        legs = [new_leg(order_side, f.strikes[0][1], f.strikes[0][0], expiry)]
    elif inherit is not None and inherit["legs"]:
        flip = order_side != inherit["legs"][0]["side"]
        legs = [
            new_leg(_opposite(leg["side"]) if flip else leg["side"], leg["right"], leg["strike"], leg["expiry"],
                    leg["ratio"])
            for leg in inherit["legs"]
        ]  # fmt: skip
    elif f.right_only and action in ("open", "add"):
        return unparseable("missing strike")
    elif expiry_seen and action in ("open", "add") and not f.shares:
        return unparseable("an expiry without a strike")

    if len(legs) >= 2:
        instrument = "spread"
    elif legs or f.right_only:
        instrument = "option"
    elif inherit is not None:
        instrument = inherit["instrument"]
    elif f.future:
        instrument = "future"
    else:
        instrument = "stock"

    if action == "update" and not levels:
        return unparseable("an update without a stop or target")
    if action in ("open", "add") and not has_price:
        if not strong and instrument in ("stock", "future") and inherit is None:
            return unparseable("missing price")
        confidence -= 0.2
    if instrument in ("option", "spread") and legs and any(leg["expiry"] is None for leg in legs):
        confidence -= 0.25 if action in ("open", "add") else 0.1
    if implicit:
        confidence -= 0.15
    elif not strong:
        confidence -= 0.05
    if not f.ticker_sure and inherit is None:
        confidence -= 0.05
    if inherit is not None:
        confidence -= 0.1
    if f.numbers_left:
        confidence -= 0.1 * min(f.numbers_left, 3)
    if not f.price_explicit and has_price:
        confidence -= 0.05

    tags = list(h.tags)
    for tag in f.tags:
        if tag not in tags:
            tags.append(tag)
    if today is not None and "0dte" not in tags and any(leg["expiry"] == today.isoformat() for leg in legs):
        tags.append("0dte")

    return new_signal(
        action=action,
        instrument=instrument,
        ticker=ticker,
        legs=legs,
        price=f.price,
        price_range=f.price_range,
        quantity=f.quantity,
        size_pct=f.size_pct if f.size_pct is not None else h.size_pct,
        fraction=round(fraction, 4) if fraction is not None and action == "trim" else None,
        stop=f.stop if f.stop is not None else h.stop,
        targets=f.targets or list(h.targets),
        tags=tags,
        size_text=f.size_text or h.size_text,
        limit_kind=(f.limit_kind or h.limit_kind) if instrument in ("option", "spread") else None,
        entry_price=f.entry_price,
        confidence=round(max(0.1, min(1.0, confidence)), 2),
        refers_to=parent.id if parent is not None else None,
    )
