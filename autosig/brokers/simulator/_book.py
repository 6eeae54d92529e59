"""The simulated market and accounts, shared by the Alpaca and Tradier dialects: quotes, the clock, listed contracts,
orders with a fill model, positions.

Fill model: an order is marketable when what it would pay at the quote (the asks of bought legs less the bids of
sold legs, per unit) is no more than its signed limit (+limit for a debit or a buy, −limit for a credit or a sell).
It fills at the quote on the first request after it was placed (never inside the POST that placed it, as a real
broker answers before it routes), else it rests and fills when the quote moves through it. `fill_cap` holds an
order at a partial fill until released.
"""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from autosig.brokers._occ import WEEKLY_ROOTS, occ_symbol, parse_occ

OPEN = "open"  # internal statuses; each dialect renders its own words
WORKING = ("pending", OPEN, "partially_filled")
CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class SimLeg:
    symbol: str
    side: str  # buy | sell
    intent: str | None  # buy_to_open … or None
    ratio: int = 1


@dataclass
class SimOrder:
    dialect: str
    id: str
    client_order_id: str
    instrument: str  # stock | option | spread
    legs: list[SimLeg]
    quantity: Decimal
    limit: Decimal  # positive
    effect: str  # debit | credit (single legs: buy = debit, sell = credit)
    time_in_force: str
    seq: int
    created_at: datetime
    status: str = OPEN
    filled: Decimal = Decimal(0)
    fill_value: Decimal = Decimal(0)  # Σ units × unit price, for the average
    last_fill_price: Decimal = Decimal(0)
    last_fill_quantity: Decimal = Decimal(0)
    leg_fills: dict[int, Decimal] = field(default_factory=dict)  # leg index -> average price of its fills
    updated_at: datetime | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    fill_cap: Decimal | None = None
    reject_reason: str = ""
    underlying: str = ""
    served: bool = False  # its POST has been answered: it may fill from now on

    @property
    def average(self) -> Decimal | None:
        return money(self.fill_value / self.filled) if self.filled else None

    @property
    def signed_limit(self) -> Decimal:
        return self.limit if self.effect == "debit" else -self.limit


@dataclass
class SimPosition:
    quantity: Decimal
    average: Decimal


@dataclass
class SimAccount:
    dialect: str
    number: str
    cash: Decimal = Decimal("100000")
    positions: dict[str, SimPosition] = field(default_factory=dict)


@dataclass
class Walk:
    mid: Decimal
    around: Decimal
    spread: Decimal  # fraction of the mid
    step: Decimal  # largest move per read, fraction of the mid


class Book:
    def __init__(self, *, seed: int | None = None, now: Any = None) -> None:
        self.lock = threading.RLock()
        self._now = now or (lambda: datetime.now(UTC))
        self.rng = random.Random(seed)
        self.quotes: dict[str, tuple[Decimal | None, Decimal | None, datetime]] = {}
        self.walks: dict[str, Walk] = {}
        self.walk_unknown: tuple[Decimal, Decimal, Decimal] | None = None  # (default price, spread, step)
        # The demo's mode: a symbol without a quote starts walking at the price of the first order that names it,
        # so alerts of any price find a market near them (spread, step).
        self.walk_from_orders: tuple[Decimal, Decimal] | None = None
        self.orders: list[SimOrder] = []
        self.counts: Counter[tuple[str, str]] = Counter()  # (dialect, client order id) -> orders created
        self.accounts = {"alpaca": SimAccount("alpaca", "PA3SIMULATED"), "tradier": SimAccount("tradier", "VA000001")}
        self.delisted: set[str] = set()
        self.roots: dict[str, list[str]] = {}  # underlying -> the roots its options list under
        self.is_open = True
        self.clock_offset = timedelta(0)
        self.next_open: datetime | None = None
        self.next_close: datetime | None = None
        self.reject_next: list[str] = []
        self.partial_next: list[Decimal] = []
        self._seq = itertools.count(1)
        self._tradier_ids = itertools.count(1000)
        self._last_stamp: datetime | None = None

    # --- time ---------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._now() + self.clock_offset

    def stamp(self) -> datetime:
        """A strictly increasing time, so that paging by time never loses an order."""
        with self.lock:
            now = self.now()
            if self._last_stamp is not None and now <= self._last_stamp:
                now = self._last_stamp + timedelta(microseconds=1)
            self._last_stamp = now
            return now

    def clock(self) -> tuple[datetime, bool, datetime, datetime]:
        now = self.now()
        if self.is_open:
            nxt_close = self.next_close or now + timedelta(hours=2)
            nxt_open = self.next_open or now + timedelta(hours=18)
        else:
            nxt_open = self.next_open or now + timedelta(hours=1)
            nxt_close = self.next_close or nxt_open + timedelta(hours=6, minutes=30)
        return now, self.is_open, nxt_open, nxt_close

    def set_clock(self, is_open: bool, **times: datetime | None) -> None:
        with self.lock:
            was_open, self.is_open = self.is_open, is_open
            for name in ("next_open", "next_close"):
                if name in times:
                    setattr(self, name, times[name])
            if was_open and not is_open:  # the close: day orders that did not fill expire
                for order in self.orders:
                    if order.status in WORKING and order.time_in_force == "day":
                        self._finish(order, "expired")

    # --- quotes -------------------------------------------------------------------------------------------

    def set_quote(self, symbol: str, bid: Decimal | None, ask: Decimal | None) -> None:
        with self.lock:
            self.walks.pop(symbol, None)
            self.quotes[symbol] = (bid, ask, self.now())
            self.match()

    def walk(self, symbol: str, price: Decimal, spread: Decimal, step: Decimal) -> None:
        with self.lock:
            self.quotes.pop(symbol, None)
            self.walks[symbol] = Walk(price, price, spread, step)

    def quote(self, symbol: str) -> tuple[Decimal | None, Decimal | None, datetime] | None:
        """The symbol's quote now (a walking quote takes a step per read); None when the market has none."""
        with self.lock:
            if symbol in self.quotes:
                return self.quotes[symbol]
            w = self.walks.get(symbol)
            if w is None and self.walk_unknown is not None and self.listed(symbol, allow_stock=True):
                price, spread, step = self.walk_unknown
                w = self.walks[symbol] = Walk(price, price, spread, step)
            if w is None:
                return None
            move = Decimal(str(self.rng.uniform(-1, 1))) * w.step * w.mid
            w.mid = min(max(w.mid + move, w.around * Decimal("0.5")), w.around * Decimal("1.5"))
            half = max(CENT, money(w.mid * w.spread / 2))
            bid = max(Decimal(0), money(w.mid) - half)
            return bid, money(w.mid) + half, self.now()

    # --- contracts ----------------------------------------------------------------------------------------

    def roots_of(self, underlying: str) -> list[str]:
        return self.roots.get(underlying, [underlying])

    def listed(self, symbol: str, *, allow_stock: bool = False) -> bool:
        occ = parse_occ(symbol)
        if occ is None:
            return allow_stock and bool(symbol) and symbol not in self.delisted
        if symbol in self.delisted:
            return False
        # by default every well-formed symbol is listed; set_roots narrows an underlying to the roots it names
        return occ.underlying not in self.roots or occ.root in self.roots[occ.underlying]

    def chain(
        self,
        underlying: str,
        expiration: date,
        rights: tuple[str, ...] = ("call", "put"),
        low: Decimal | None = None,
        high: Decimal | None = None,
    ) -> list[str]:
        """The listed symbols of one expiry: the exact strike when low == high, else a ladder around the money
        plus every contract the simulator has seen (quotes, orders, positions)."""
        if low is not None and low == high:
            strikes = {low}
        else:
            q = self.quote(underlying)
            mid = (q[0] + q[1]) / 2 if q and q[0] is not None and q[1] is not None else Decimal(100)
            step = Decimal(1) if mid < 200 else Decimal(5)
            base = (mid / step).to_integral_value() * step
            strikes = {base + step * i for i in range(-5, 6) if base + step * i > 0}
            for symbol in self._seen_symbols():
                occ = parse_occ(symbol)
                if occ and occ.underlying == underlying and occ.expiration == expiration:
                    strikes.add(occ.strike)
            strikes = {s for s in strikes if (low is None or s >= low) and (high is None or s <= high)}
        found = []
        for root in self.roots_of(underlying):
            for strike in sorted(strikes):
                for right in rights:
                    symbol = occ_symbol(root, expiration, right, strike)
                    if self.listed(symbol):
                        found.append(symbol)
        return found

    def _seen_symbols(self) -> set[str]:
        seen = set(self.quotes) | set(self.walks)
        for account in self.accounts.values():
            seen |= set(account.positions)
        for order in self.orders:
            seen |= {leg.symbol for leg in order.legs}
        return seen

    # --- orders -------------------------------------------------------------------------------------------

    def place(
        self,
        dialect: str,
        client_order_id: str,
        instrument: str,
        legs: list[SimLeg],
        quantity: Decimal,
        limit: Decimal,
        effect: str,
        time_in_force: str = "day",
        underlying: str = "",
    ) -> SimOrder:
        with self.lock:
            seq = next(self._seq)
            oid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) if dialect == "alpaca" else str(
                next(self._tradier_ids)
            )
            stamp = self.stamp()
            order = SimOrder(dialect, oid, client_order_id, instrument, legs, quantity, limit, effect,
                             time_in_force, seq, stamp, updated_at=stamp, underlying=underlying)
            if self.reject_next:
                order.reject_reason = self.reject_next.pop(0)
                order.status = "rejected"
            if self.partial_next:
                order.fill_cap = self.partial_next.pop(0)
            if self.walk_from_orders is not None and len(legs) == 1 and limit > 0:
                symbol = legs[0].symbol
                if symbol not in self.quotes and symbol not in self.walks:
                    spread, step = self.walk_from_orders
                    # centred a little inside the limit, so a buy at the alert's price (plus slippage) can fill
                    buying = legs[0].side == "buy"
                    mid = limit * (Decimal("0.97") if buying else Decimal("1.03"))
                    self.walks[symbol] = Walk(mid, mid, spread, step)
            self.orders.append(order)
            self.counts[(dialect, client_order_id)] += 1
            return order

    def served(self, order: SimOrder) -> None:
        with self.lock:
            order.served = True

    def cancel(self, order: SimOrder) -> bool:
        with self.lock:
            self.match()
            if order.status not in WORKING:
                return False
            self._finish(order, "canceled")
            return True

    def release(self, order: SimOrder, cap: Decimal | None = None) -> None:
        with self.lock:
            order.fill_cap = cap
            self.match()

    def expire_day(self) -> None:
        with self.lock:
            for order in self.orders:
                if order.status in WORKING and order.time_in_force == "day":
                    self._finish(order, "expired")

    def _finish(self, order: SimOrder, status: str) -> None:
        order.status = status
        order.updated_at = self.stamp()
        if status == "canceled":
            order.canceled_at = order.updated_at
        elif status == "expired":
            order.expired_at = order.updated_at

    def match(self) -> None:
        """Fills every marketable working order that is allowed to fill now."""
        with self.lock:
            if not self.is_open:
                return
            for order in self.orders:
                if order.status in WORKING and order.served:
                    self._try_fill(order)

    def _try_fill(self, order: SimOrder) -> None:
        unit = Decimal(0)
        leg_prices = []
        for leg in order.legs:
            q = self.quote(leg.symbol)
            if q is None:
                return
            bid, ask, _ = q
            price = ask if leg.side == "buy" else bid
            if price is None or (leg.side == "buy" and price <= 0):
                return
            leg_prices.append(price)
            unit += (1 if leg.side == "buy" else -1) * leg.ratio * price
        if unit > order.signed_limit:
            return
        remaining = order.quantity - order.filled
        if order.fill_cap is not None:
            remaining = min(remaining, order.fill_cap - order.filled)
        if remaining <= 0:
            return
        price = abs(unit)
        before = order.filled
        order.filled += remaining
        order.fill_value += remaining * price
        order.last_fill_price, order.last_fill_quantity = price, remaining
        for i, (leg, leg_price) in enumerate(zip(order.legs, leg_prices, strict=True)):
            prev = order.leg_fills.get(i, Decimal(0))
            order.leg_fills[i] = money((prev * before + leg_price * remaining) / order.filled)
            self._book_fill(order.dialect, leg, remaining * leg.ratio, leg_price)
        order.status = "filled" if order.filled >= order.quantity else "partially_filled"
        order.updated_at = self.stamp()
        if order.status == "filled":
            order.filled_at = order.updated_at

    def _book_fill(self, dialect: str, leg: SimLeg, units: Decimal, price: Decimal) -> None:
        account = self.accounts[dialect]
        multiplier = 100 if parse_occ(leg.symbol) else 1
        signed = units if leg.side == "buy" else -units
        account.cash -= signed * price * multiplier
        self.add_position(dialect, leg.symbol, signed, price)

    # --- positions ----------------------------------------------------------------------------------------

    def add_position(self, dialect: str, symbol: str, delta: Decimal, price: Decimal) -> None:
        with self.lock:
            positions = self.accounts[dialect].positions
            pos = positions.get(symbol)
            if pos is None:
                if delta:
                    positions[symbol] = SimPosition(delta, price)
                return
            total = pos.quantity + delta
            if total == 0:
                del positions[symbol]
            elif (pos.quantity > 0) == (delta > 0):  # adding to it: the average moves
                pos.average = money((pos.average * abs(pos.quantity) + price * abs(delta)) / abs(total))
                pos.quantity = total
            elif (pos.quantity > 0) != (total > 0):  # reversed through zero: the rest is new
                positions[symbol] = SimPosition(total, price)
            else:
                pos.quantity = total

    def set_position(self, dialect: str, symbol: str, quantity: Decimal, average: Decimal) -> None:
        with self.lock:
            positions = self.accounts[dialect].positions
            if quantity == 0:
                positions.pop(symbol, None)
            else:
                positions[symbol] = SimPosition(quantity, average)

    def assign(self, dialect: str, symbol: str) -> None:
        """An option position exercised or assigned: it goes, and 100 shares per contract of the underlying come
        (long calls and short puts buy them at the strike; short calls and long puts sell them)."""
        with self.lock:
            occ = parse_occ(symbol)
            pos = self.accounts[dialect].positions.pop(symbol, None)
            if occ is None or pos is None:
                return
            buys = (occ.right == "call") == (pos.quantity > 0)
            shares = abs(pos.quantity) * 100 * (1 if buys else -1)
            self.accounts[dialect].cash -= shares * occ.strike
            self.add_position(dialect, occ.underlying, shares, occ.strike)

    def market_value(self, dialect: str) -> Decimal:
        total = Decimal(0)
        for symbol, pos in self.accounts[dialect].positions.items():
            q = self.quote(symbol)
            mark = pos.average
            if q and q[0] is not None and q[1] is not None:
                mark = (q[0] + q[1]) / 2
            total += pos.quantity * mark * (100 if parse_occ(symbol) else 1)
        return money(total)

    def underlying_of(self, symbol: str) -> str:
        occ = parse_occ(symbol)
        return symbol if occ is None else WEEKLY_ROOTS.get(occ.root, occ.root)
