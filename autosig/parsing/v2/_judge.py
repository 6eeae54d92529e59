"""Parser v2 judges one segment: a signal (with the doubts that lower its confidence), or why it is not one
(non_signal) or cannot be read (unparseable).

Confidence is calibrated to the executor's gate (AUTOSIG_MIN_CONFIDENCE, 0.8 by default): anything the parser had to
guess — a ticker nothing marks as traded, a quoted order, a contract and price that may describe a position already
held, a fraction that may be an expiry — costs GUESS, which alone takes a signal below 0.8. What is merely missing
costs what the executor would have to do without (an expiry for an entry takes it below too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from autosig.parsing.model import new_signal, non_signal, unparseable
from autosig.parsing.v2._features import Action, Features
from autosig.parsing.v2._legs import ENTRIES, Order, build_legs, instrument_of, opposite, short_of_shares
from autosig.parsing.v2._talk import Talk

GUESS = 0.3


@dataclass
class Parent:
    """The contract of the replied-to alert, when it names exactly one."""

    id: str | None
    signal: dict[str, Any] | None
    ambiguous: bool


@dataclass
class Reading:
    """A signal and the doubts that lowered its confidence (each a short reason)."""

    signal: dict[str, Any]
    doubts: list[str] = field(default_factory=list)


def cents_price(f: Features) -> bool:
    """An option-like price: with cents, or a range."""
    return f.price is not None and f.price != int(f.price) or f.price_range is not None


def _talk_only(f: Features, h: Features, own: Action | None, previous: Action | None, talk: Talk) -> str | None:
    """Why the segment is talk about a trade rather than an order, or None."""
    heading = h.action is not None and h.action.heading
    action = own or h.action or previous
    # Intent before any action word: "Eyeing SMH short", "watching SPY 600"
    if f.intent_at is not None and (own is None or f.intent_at < own.start):
        return "intent or watchlist, not an order"
    if own is None and h.intent_at is not None and (h.action is None or h.intent_at < h.action.start):
        return "intent or watchlist, not an order"
    if f.conditional:
        return "a conditional order, not an order"  # "SPY 600c @ 1.25 is a good entry if it dips there"
    if f.third_party_at is not None and own is not None and f.third_party_at < own.start:
        return "someone else's trade, not an order"  # "my cousin bought TSLA 300c", "people asking about BTO …"
    if f.missed_at is not None and (own is None or f.missed_at < own.start):
        return "a missed trade, not an order"  # "missed the NVDA 140c entry at 2.10"
    if own is None and h.missed_at is not None:
        return "a missed trade, not an order"
    if f.no_chase_at is not None and (own is None or f.no_chase_at < own.start):
        return "advice not to chase, not an order"  # "too late for TSLA 250c now, don't chase"
    if talk.recap_words or talk.past and action is not None and action.past:
        return "a recap of an earlier trade, not an order"  # "closed my TSLA 250c yesterday @ 3.1"
    levels = f.stop is not None or bool(f.targets)
    if own is None and (f.recap or h.recap or not heading and not levels and (f.result or h.result)):
        return "recap or result, not an order"  # ("raising stop … to lock profit" is an update)
    if f.round_trip and not f.worded_legs:
        return "an entry and its exit together: a recap, not an order"
    if own is None and f.target_hit and not levels:
        return "a target reached: a report, not an order"  # "PT1 ✅ on META 650c"
    if action is None and f.question or f.asks:
        return "a question, not an order"  # "anyone in SPY 600c?", "who bought NVDA 140c @ 2.10?"
    if talk.cancelled and (action is None or action.action in ENTRIES):
        return "a withdrawn or unfilled order, not an order"
    if own is None and h.action is None and previous is not None:
        # a later line borrows the action of the one before only when it reads like an order itself
        if f.commentary and not f.strikes:
            return "market commentary, not an order"  # "…\nQQQ looking weak at 510"
        if f.price is None and f.price_range is None and not (f.strikes or f.signed_legs or f.strike_pair):
            return "a ticker without an order"  # "…\nNVDA looking strong"
    return None


def judge(
    f: Features,
    header: Features | None,
    today: date | None,
    parent: Parent | None,
    previous: Action | None,
    talk: Talk,
) -> Reading | dict[str, Any]:
    """A Reading, or a non_signal/unparseable result."""
    h = header or Features()
    own = f.action
    action_info = own or h.action or previous
    reason = _talk_only(f, h, own, previous, talk)
    if reason is not None:
        return non_signal(reason)

    ticker = f.ticker
    inherit = None
    if parent is not None and parent.signal is not None:
        if ticker is None or (ticker == parent.signal["ticker"] and not (f.strikes or f.signed_legs or f.strike_pair)):
            inherit = parent.signal
            ticker = inherit["ticker"]
    has_contract = bool(f.strikes or f.signed_legs or f.strike_pair)
    has_price = f.price is not None or f.price_range is not None
    levels = f.stop is not None or bool(f.targets)
    if f.strategy and (has_contract or has_price):
        return unparseable("a strategy of more legs than a vertical (condor, butterfly, roll…), not read")

    action = action_info.action if action_info else None
    implicit = False
    if f.level_change and levels and (own is None or not own.strong and own.action in ENTRIES):
        action = "update"  # "raising SL on SPY 600c to 4.00": the levels move, nothing is bought
    elif action is None:
        if levels and not has_price:
            action = "update"
        elif f.gain:
            return non_signal("result report, not an order")
        elif ticker is not None and has_price and (inherit is None or f.ticker is not None):
            if f.commentary and not has_contract:
                return non_signal("market commentary, not an order")
            if not has_contract and not f.price_explicit and f.price is not None and f.price == int(f.price):
                return non_signal("a ticker and a number, no action")  # "SPY 600" is a level more often than a buy
            if f.price_move or f.price_to:
                return non_signal("a price and where it went since: a result, not an order")  # "1.25 → 2.40"
            action, implicit = "open", True  # the convention of alert channels: a contract and a price
        elif has_contract:
            if f.commentary:
                return non_signal("market commentary, not an order")
            return unparseable("a contract without an action or a price")
        elif parent is not None and has_price:
            return unparseable("a reply with a price but no action")
        else:
            return non_signal("no trade in the text")
    if f.worded_legs:
        action = "close" if f.leg_closing else "open"  # "sell SPY 590P, buy 585P": the words are the legs' sides
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
        if action == "update" and parent is None and not has_contract:
            return non_signal("a stop or target change for no named position")  # "SL to b/e on all positions"
        return unparseable("missing ticker")

    fraction = f.fraction if f.fraction is not None else h.fraction
    if action == "close" and (fraction is not None and fraction < 1 or f.runners):
        action = "trim"  # "sold 1/2", "letting the rest ride"
    elif action == "close" and inherit is not None and f.quantity and (inherit["quantity"] or 0) > f.quantity:
        action = "trim"  # "sold 50" of the 100 the replied-to alert bought

    # sides: the side of this order; "short" names the direction, so short puts are bought
    position_side = "buy"
    if inherit is not None and inherit["legs"]:
        first = inherit["legs"][0]["side"]
        position_side = first if inherit["action"] in ("open", "add", "update") else opposite(first)
    order_side = position_side if action in ("open", "add", "update") else opposite(position_side)
    explicit = action_info.side if action_info else None
    right = f.strikes[0][1] if f.strikes else f.right_only
    if explicit == "short":
        explicit = "buy" if right == "P" else "sell"
    if explicit is not None and own is not None:
        order_side = explicit

    order = Order(
        action, order_side, explicit, own is not None, f.expiry if f.expiry_seen else h.expiry,
        f.expiry_seen or h.expiry_seen, f.limit_kind or h.limit_kind, f.bias or h.bias, inherit,
    )  # fmt: skip
    legs = build_legs(f, order)
    if isinstance(legs, str):
        return unparseable(legs)
    instrument = instrument_of(f, legs, inherit)
    if action == "update" and not levels:
        return unparseable("an update without a stop or target")
    if action in ENTRIES and not has_price and not strong and instrument in ("stock", "future") and inherit is None:
        return unparseable("missing price")

    doubts = _doubts(f, action, instrument, legs, has_price, implicit, inherit, talk)
    short = short_of_shares(instrument, action, explicit, inherit)
    if short is not None:
        doubts.append((GUESS, short))
    confidence = 1.0 - sum(cost for cost, _ in doubts)

    tags = list(h.tags)
    for tag in f.tags:
        if tag not in tags:
            tags.append(tag)
    if today is not None and "0dte" not in tags and any(leg["expiry"] == today.isoformat() for leg in legs):
        tags.append("0dte")

    signal = new_signal(
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
    return Reading(signal, [text for _, text in doubts])


def _doubts(
    f: Features,
    action: str,
    instrument: str,
    legs: list[dict[str, Any]],
    has_price: bool,
    implicit: bool,
    inherit: dict[str, Any] | None,
    talk: Talk,
) -> list[tuple[float, str]]:
    """(cost, reason) of everything the reading had to guess or do without. A contract taken from the replied-to
    alert is no guess: that is how analysts post exits."""
    doubts: list[tuple[float, str]] = []
    if action in ENTRIES and not has_price:
        doubts.append((0.25, "no price"))
    if instrument in ("option", "spread") and legs and any(leg["expiry"] is None for leg in legs):
        doubts.append((0.25 if action in ENTRIES else 0.1, "no expiry written"))
    if inherit is None and not f.ticker_evidence:
        doubts.append((GUESS, "a ticker that nothing marks as traded"))
    if talk.quoted:
        doubts.append((GUESS, "the order is quoted, not placed"))
    if implicit and f.holding:
        doubts.append((GUESS, "no action word and 'holding': maybe a position already held"))
    if f.price_move and not implicit:
        doubts.append((GUESS, "a second price, after 'now' or 'to'"))
    if f.expiry_guess:
        doubts.append((GUESS, "'next Friday' may be this week's or the next"))
    if f.fraction_guess:
        doubts.append((GUESS, "a fraction after the price that could be an expiry"))
    if f.action is not None and f.action.misspelt:
        doubts.append((0.1, "the action word is misspelt"))
    if f.numbers_left:
        doubts.append((0.1 * min(f.numbers_left, 3), f"{f.numbers_left} number(s) not understood"))
    return doubts
