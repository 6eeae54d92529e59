"""The one broker interface the executor calls, and the values it speaks in.

Prices and quantities are Decimal (a limit of 1.10 is exactly 1.10). Every Order carries the broker's body verbatim
in `response`, for the `orders` stream. Statuses are normalized to STATUSES; the broker's own word is kept in
`broker_status`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

ACCEPTED = "accepted"
PARTIALLY_FILLED = "partially_filled"
FILLED = "filled"
CANCELED = "canceled"
EXPIRED = "expired"
REJECTED = "rejected"
STATUSES = (ACCEPTED, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, REJECTED)
FINAL_STATUSES = frozenset({FILLED, CANCELED, EXPIRED, REJECTED})

INSTRUMENTS = ("stock", "option", "spread")
SIDES = ("buy", "sell")
POSITION_INTENTS = ("buy_to_open", "buy_to_close", "sell_to_open", "sell_to_close")
PRICE_EFFECTS = ("debit", "credit")


def working_status(filled_quantity: Decimal) -> str:
    """The status of an order that is still working: partially filled once anything filled."""
    return PARTIALLY_FILLED if filled_quantity > 0 else ACCEPTED


@dataclass(frozen=True)
class Leg:
    """One leg of an order: a stock ticker or an OCC option symbol, bought or sold, `ratio` per unit of the order.

    `position_intent` says whether it opens or closes (required for options; for a stock leg it picks Tradier's
    sell_short / buy_to_cover)."""

    symbol: str
    side: str
    position_intent: str | None = None
    ratio: int = 1

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"leg side must be one of {SIDES}")
        if self.position_intent is not None and self.position_intent not in POSITION_INTENTS:
            raise ValueError(f"position_intent must be one of {POSITION_INTENTS}")
        if self.position_intent is not None and not self.position_intent.startswith(self.side):
            raise ValueError("position_intent contradicts the leg's side")
        if not isinstance(self.ratio, int) or self.ratio < 1:
            raise ValueError("leg ratio must be a positive whole number")


@dataclass(frozen=True)
class OrderRequest:
    """A limit order to send. A stock or option order has one leg; a spread has two or more option legs, one
    `limit_price` per spread and a `price_effect` (debit: we pay, credit: we receive). `limit_price` is positive.
    `underlying` is the option's underlying when it is not the OCC root (SPXW options: SPX); Tradier needs it."""

    client_order_id: str
    instrument: str
    legs: tuple[Leg, ...]
    quantity: int
    limit_price: Decimal
    time_in_force: str = "day"
    price_effect: str | None = None
    underlying: str | None = None

    def __post_init__(self) -> None:
        if self.instrument not in INSTRUMENTS:
            raise ValueError(f"instrument must be one of {INSTRUMENTS}")
        if not self.client_order_id:
            raise ValueError("an order needs a client_order_id")
        if not isinstance(self.quantity, int) or isinstance(self.quantity, bool) or self.quantity < 1:
            raise ValueError("quantity must be a positive whole number")
        if not isinstance(self.limit_price, Decimal) or not self.limit_price.is_finite() or self.limit_price <= 0:
            raise ValueError("limit_price must be a positive Decimal")
        if self.instrument == "spread":
            if len(self.legs) < 2:
                raise ValueError("a spread has at least two legs")
            if self.price_effect not in PRICE_EFFECTS:
                raise ValueError(f"a spread needs a price_effect, one of {PRICE_EFFECTS}")
        elif len(self.legs) != 1:
            raise ValueError("a stock or option order has exactly one leg")
        if self.instrument != "stock" and any(leg.position_intent is None for leg in self.legs):
            raise ValueError("option legs need a position_intent")

    @property
    def leg(self) -> Leg:
        return self.legs[0]


@dataclass(frozen=True)
class Order:
    """An order as the broker reports it. `legs` are what the broker says it holds (for comparing with a plan);
    `limit_price` is positive, with `price_effect` for a spread; `response` is the broker's order body verbatim."""

    broker_order_id: str
    client_order_id: str | None
    status: str
    broker_status: str
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    quantity: Decimal | None
    limit_price: Decimal | None
    legs: tuple[Leg, ...]
    response: Mapping[str, Any] = field(repr=False)
    price_effect: str | None = None
    instrument: str | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class Account:
    number: str
    paper: bool
    equity: Decimal | None
    buying_power: Decimal | None
    options_level: int | None
    status: str
    response: Mapping[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class MarketClock:
    """The broker's clock: its time, whether the regular session is open, and the next open and close when the
    broker says them (Tradier's clock gives only the next change of state)."""

    timestamp: datetime
    is_open: bool
    next_open: datetime | None
    next_close: datetime | None


@dataclass(frozen=True)
class Quote:
    """Bid and ask (None when the broker has none), with the broker's timestamp of the quote. A spread's quote is
    the net of its legs as the order would trade them (`legs` holds each leg's quote)."""

    symbol: str
    bid: Decimal | None
    ask: Decimal | None
    timestamp: datetime | None
    legs: tuple[Quote, ...] = ()


@dataclass(frozen=True)
class Contract:
    """A listed option: its OCC symbol, the root it trades under (SPXW for SPX weeklies), its underlying, and the
    tick size when the broker gives one."""

    symbol: str
    root: str
    underlying: str
    expiration: date
    right: str  # "call" | "put"
    strike: Decimal
    tradable: bool = True
    multiplier: int = 100
    tick_size: Decimal | None = None


@dataclass(frozen=True)
class Position:
    """A position the broker holds: a signed quantity (negative = short), what it cost on average, and whether it
    is an option (OCC symbol) or a stock."""

    symbol: str
    quantity: Decimal
    average_price: Decimal | None
    asset_class: str  # "stock" | "option"
    response: Mapping[str, Any] = field(repr=False, default_factory=dict)


class Broker(ABC):
    """One broker account. Order POSTs are sent exactly once per call: nothing below this interface retries them.
    Reads are not retried either; the caller decides (a 429 says how long to wait)."""

    name: str
    live: bool  # True only when talking to the broker's live host

    @abstractmethod
    def submit(self, order: OrderRequest) -> Order:
        """Sends the order once. Raises RateLimited, OutcomeUnknown, Refused, DuplicateClientOrderId, AuthRefused."""

    @abstractmethod
    def find(self, client_order_id: str) -> Order | None:
        """The order carrying this client order id, or None when the broker has none (an error when it cannot say)."""

    @abstractmethod
    def get_order(self, broker_order_id: str) -> Order:
        """Raises NotFound when the broker has no such order."""

    @abstractmethod
    def cancel(self, broker_order_id: str) -> bool:
        """Asks the broker to cancel. True when it took the request, False when the order is already final (its
        status is then read with get_order). Raises NotFound for an unknown order."""

    @abstractmethod
    def account(self) -> Account: ...

    @abstractmethod
    def clock(self) -> MarketClock: ...

    @abstractmethod
    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        """Latest quotes by symbol (stocks and OCC options may be mixed); a symbol the broker does not know is
        answered with a Quote without bid or ask."""

    def quote(self, symbol_or_legs: str | Sequence[Leg]) -> Quote:
        """The latest quote of one symbol, or the net quote of a spread's legs."""
        if isinstance(symbol_or_legs, str):
            return self.quotes([symbol_or_legs])[symbol_or_legs]
        legs = tuple(symbol_or_legs)
        found = self.quotes(sorted({leg.symbol for leg in legs}))
        return net_quote(legs, found)

    @abstractmethod
    def contract(self, symbol: str) -> Contract | None:
        """The listed contract with this OCC symbol, or None when the broker does not list it."""

    @abstractmethod
    def contracts(self, underlying: str, expiration: date, right: str, strike: Decimal) -> list[Contract]:
        """Every listed contract on this underlying, expiry, right and strike, whatever its root (SPX and SPXW on a
        monthly expiry; only SPXW on a weekly)."""

    @abstractmethod
    def positions(self) -> list[Position]: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Releases connections."""


def net_quote(legs: Sequence[Leg], quotes: Mapping[str, Quote]) -> Quote:
    """A spread's bid and ask from its legs: buying the spread pays the asks of bought legs and gets the bids of sold
    ones; a side is None when any leg lacks it. The timestamp is the oldest leg's."""
    ask: Decimal | None = Decimal(0)
    bid: Decimal | None = Decimal(0)
    stamps = []
    parts = []
    for leg in legs:
        q = quotes.get(leg.symbol) or Quote(leg.symbol, None, None, None)
        parts.append(q)
        pay, get = (q.ask, q.bid) if leg.side == "buy" else (q.bid, q.ask)
        sign = 1 if leg.side == "buy" else -1
        ask = None if ask is None or pay is None else ask + sign * leg.ratio * pay
        bid = None if bid is None or get is None else bid + sign * leg.ratio * get
        stamps.append(q.timestamp)
    stamp = None if not stamps or any(s is None for s in stamps) else min(s for s in stamps if s is not None)
    name = " ".join(f"{'+' if leg.side == 'buy' else '-'}{leg.ratio}*{leg.symbol}" for leg in legs)
    return Quote(name, bid, ask, stamp, tuple(parts))
