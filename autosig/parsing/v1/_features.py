"""What one segment of an alert says (parser v1): the facts the rules read out of its tokens."""

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


@dataclass
class Features:
    action: Action | None = None
    intent_at: int | None = None
    recap: bool = False
    commentary: bool = False
    question: bool = False
    gain: bool = False  # "+100%", "from X": reporting a result, not placing an order
    ticker: str | None = None
    ticker_sure: bool = True  # False when taken from a lowercase word by position only
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
