"""What one segment of an alert says (parser v2): the facts the rules read out of its tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Action:
    action: str
    side: str | None  # "buy", "sell", "short" (decided by the right), None (default of the action)
    strong: bool
    start: int
    end: int  # index after the phrase
    heading: bool = False  # from a heading line ("Options Scale") rather than a word of the segment
    past: bool = False  # a past form ("sold", "took"): with a time in the past, a recap
    misspelt: bool = False  # read from a misspelling ("Bougth")


@dataclass
class Features:
    action: Action | None = None
    intent_at: int | None = None
    condition_at: int | None = None  # "if", "unless", "once": what follows is a condition
    conditional: bool = False  # …of the action word before it, in the same clause, when that word is a weak one
    recap: bool = False
    result: bool = False  # words of a result ("gains", "banked"): a report unless an action word says otherwise
    missed_at: int | None = None  # "missed", "miss": talk about a missed trade
    no_chase_at: int | None = None  # "don't chase", "too late"
    holding: bool = False  # "holding", "held"
    target_hit: bool = False  # "PT1 hit", "PT2 ✅"
    level_change: bool = False  # "raising SL", "new target": the levels change, nothing is bought
    option_word: bool = False  # "lotto", "contracts": an option position even without its contract
    strategy: bool = False  # an iron condor, a butterfly, a roll…: more than one vertical
    sides: int = 0  # side words seen: 1 a sell ("sell", "STO"), 2 a buy ("buy", "BTO"), 3 both
    worded_legs: bool = False  # spread legs each with its side word ("sell 590P, buy 585P")
    leg_closing: bool = False  # …and those words close ("STC … / BTC …")
    runners: bool = False  # "letting the rest ride", "holding runners": part of the position stays
    price_move: bool = False  # "1.25 → 2.40", "… now 1.60": a price and where it went since
    price_to: bool = False  # "1.20 to 2.40": an entry range beside an action word, else a move
    trip_words: int = 0  # words that could tell an entry or an exit already done ("closed", "STC")
    round_trip: bool = False  # an entry and its exit in one breath ("BTO … ✅ closed @ 2.10"): a recap
    expiry_guess: bool = False  # "next Friday": which Friday is a guess
    fraction_guess: bool = False  # "… @ 2.10 1/2" with no expiry before: half, or a January 2 expiry
    commentary: bool = False
    question: bool = False
    third_party_at: int | None = None  # "my cousin", "people", "they": whose trade it is
    asks: bool = False  # a question that starts with its question word ("who bought …?")
    gain: bool = False  # "+100%", "from X": reporting a result, not placing an order
    ticker: str | None = None
    ticker_sure: bool = True  # False when taken from a lowercase word by position only
    ticker_evidence: bool = True  # False for a lowercase word that nothing after it marks as traded
    ticker_at: int = -1
    future: bool = False
    shares: bool = False
    signed_legs: list[dict[str, Any]] = field(default_factory=list)
    strikes: list[tuple[float, str]] = field(default_factory=list)
    strike_pair: tuple[float, float, str] | None = None  # (low, high, right) of "600/610c"
    bias: str | None = None  # "bull" / "bear"
    right_only: str | None = None
    expiry: str | None = None
    expiry_seen: bool = False  # an expiry was written, even if it could not be resolved
    zero_dte: bool = False
    price: float | None = None
    price_range: list[float] | None = None
    price_explicit: bool = False
    quantity: int | None = None
    size_pct: float | None = None
    size_text: str | None = None
    fraction: float | None = None
    stop: dict[str, Any] | None = None
    targets: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    entry_price: float | None = None
    limit_kind: str | None = None
    numbers_left: int = 0  # numbers no rule could place


def num(value: float) -> float | int:
    return int(value) if value == int(value) and abs(value) < 1e15 else value
