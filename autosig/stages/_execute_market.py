"""What the executor's gates read of the market: the session, the clock's skew, quotes, listed contracts and the
account's equity — from the broker when there is one, else (dry run without a broker) from the NYSE calendar.

Broker reads are cached for a moment (the session and the clock for a few seconds, the account for a minute), so a
burst of alerts costs a handful of requests, and a broker that fails a read makes a gate record why rather than
guess: an unreadable session is closed; an unreadable quote is no quote.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from zoneinfo import ZoneInfo

import holidays

from autosig.brokers.base import Broker, Quote
from autosig.brokers.base import Leg as OrderLeg
from autosig.brokers.errors import BrokerError
from autosig.clock import Clock
from autosig.trading import occ_symbol, option_root

log = logging.getLogger("autosig.execute")
NEW_YORK = ZoneInfo("America/New_York")
_SESSION = (clock_time(9, 30), clock_time(16, 0))
_CLOCK_CACHE_S = 5.0
_ACCOUNT_CACHE_S = 60.0


def nyse_open(now: datetime) -> tuple[bool, str]:
    """The regular session by the NYSE calendar (weekdays 9:30-16:00 New York, exchange holidays closed; the early
    closes of a few half days are not known here)."""
    local = now.astimezone(NEW_YORK)
    day = local.date()
    if day.weekday() >= 5:
        return False, f"the market is closed on {day:%A}s (NYSE calendar)"
    holiday = holidays.financial_holidays("NYSE", years=day.year).get(day)
    if holiday:
        return False, f"the market is closed for {holiday} (NYSE calendar)"
    if not _SESSION[0] <= local.time() < _SESSION[1]:
        return False, f"outside the regular session 9:30-16:00 New York ({local:%H:%M}, NYSE calendar)"
    return True, "regular session (NYSE calendar)"


class CalendarMarket:
    """No broker (dry run): the calendar for the session, no quotes, contracts as their OCC symbols."""

    def market_open(self, now: datetime) -> tuple[bool, str]:
        return nyse_open(now)

    def clock_skew(self, now: datetime) -> float | None:
        return None

    def quote(self, legs: list[OrderLeg]) -> Quote | None:
        return None

    def listed(self, ticker: str, expiry: str, right: str, strike: float, same_day: bool) -> tuple[str | None, str]:
        try:
            return occ_symbol(option_root(ticker), expiry, right, Decimal(str(strike))), "not checked (no broker)"
        except ValueError as exc:
            return None, f"no OCC symbol for {ticker} {strike:g}{right} {expiry}: {exc}"

    def equity(self) -> Decimal | None:
        return None


class BrokerMarket:
    def __init__(self, broker: Broker, clock: Clock) -> None:
        self.broker = broker
        self.clock = clock  # the caches age on the stage's clock, so tests can move time
        self._session: tuple[float, object] | None = None  # (monotonic time read, the broker's clock answer)
        self._equity: tuple[float, Decimal | None] | None = None

    def _broker_clock(self) -> object:
        if self._session is None or self.clock.monotonic() - self._session[0] > _CLOCK_CACHE_S:
            self._session = (self.clock.monotonic(), self.broker.clock())
        return self._session[1]

    def market_open(self, now: datetime) -> tuple[bool, str]:
        try:
            clock = self._broker_clock()
        except BrokerError as exc:
            return False, f"the broker's clock could not be read ({exc}): treated as closed"
        if clock.is_open:  # type: ignore[attr-defined]
            return True, f"open by {self.broker.name}'s clock"
        nxt = clock.next_open  # type: ignore[attr-defined]
        return False, f"closed by {self.broker.name}'s clock" + (f"; opens {nxt.isoformat()}" if nxt else "")

    def clock_skew(self, now: datetime) -> float | None:
        try:
            clock = self._broker_clock()
            age = self.clock.monotonic() - self._session[0]  # type: ignore[index]
        except BrokerError:
            return None
        stamp = clock.timestamp  # type: ignore[attr-defined]
        return (now - (stamp + timedelta(seconds=age))).total_seconds() if stamp else None

    def quote(self, legs: list[OrderLeg]) -> Quote | None:
        try:
            return self.broker.quote(legs[0].symbol if len(legs) == 1 else legs)
        except BrokerError as exc:
            log.warning("quote for %s could not be read: %s", ", ".join(leg.symbol for leg in legs), exc)
            return None

    def listed(self, ticker: str, expiry: str, right: str, strike: float, same_day: bool) -> tuple[str | None, str]:
        """The OCC symbol the broker lists for this leg: the ticker's own root when listed, else the root the broker
        lists it under (SPX weeklies and 0DTE trade as SPXW); never a guess."""
        name = f"{ticker} {strike:g}{right} {expiry}"
        try:
            own = occ_symbol(option_root(ticker), expiry, right, Decimal(str(strike)))
        except ValueError as exc:
            return None, f"no OCC symbol for {name}: {exc}"
        try:
            found = self.broker.contract(own)
            if found is not None and found.tradable and not same_day:
                return found.symbol, f"{found.symbol} listed"
            others = self.broker.contracts(ticker, date.fromisoformat(expiry), "call" if right == "C" else "put",
                                           Decimal(str(strike)))  # fmt: skip
        except BrokerError as exc:
            return None, f"the broker's contract lookup failed for {name}: {exc}"
        listed = [c for c in others if c.tradable]
        if found is not None and found.tradable and not any(c.root != found.root for c in listed):
            return found.symbol, f"{found.symbol} listed"
        if same_day:
            # a 0DTE alert on an index means its PM-settled weekly root (SPXW) when the broker lists one
            weekly = [c for c in listed if c.root != option_root(ticker)]
            if len(weekly) == 1:
                return weekly[0].symbol, f"{weekly[0].symbol} listed (root {weekly[0].root})"
        if found is not None and found.tradable:
            return found.symbol, f"{found.symbol} listed"
        if len(listed) == 1:
            return listed[0].symbol, f"{listed[0].symbol} listed (root {listed[0].root})"
        if listed:
            return None, f"{name} is listed under several roots ({', '.join(c.root for c in listed)}): not guessed"
        return None, f"the broker does not list {name}"

    def equity(self) -> Decimal | None:
        if self._equity is None or self.clock.monotonic() - self._equity[0] > _ACCOUNT_CACHE_S:
            try:
                self._equity = (self.clock.monotonic(), self.broker.account().equity)
            except BrokerError:
                return None
        return self._equity[1]


def expired_by(expiry: date | None, now: datetime) -> bool:
    """Whether an option expiring on `expiry` is past the close of that day (16:00 New York)."""
    if expiry is None:
        return False
    local = now.astimezone(NEW_YORK)
    return local.date() > expiry or (local.date() == expiry and local.time() >= _SESSION[1])
