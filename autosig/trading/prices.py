"""Prices: the one a paper ledger follows, and the limit prices of real orders.

An entry is never a market order. A buy's limit is rounded down to the tick and a sell's up, so the rounding never
pays more or takes less than the rule allows. Limits are Decimal: a price is sent to a broker as text, and 1.1 x
1.10 must be 1.21, not 1.2100000000000002.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from autosig.trading._fields import decimal, number

OPTION_TICK_ABOVE_3 = Decimal("0.05")  # at or above $3
OPTION_TICK = Decimal("0.01")  # below $3
STOCK_TICK = Decimal("0.01")
_HUNDRED = Decimal(100)


def paper_price(signal: dict[str, Any]) -> float | None:
    """What the paper ledger buys or sells at: the price, else the middle of price_range; None when neither can be
    read."""
    price = number(signal.get("price"))
    if price is not None:
        return price
    span = signal.get("price_range")
    if isinstance(span, list | tuple) and len(span) == 2:
        low, high = number(span[0]), number(span[1])
        if low is not None and high is not None:
            return (low + high) / 2
    return None


def alert_range(signal: dict[str, Any]) -> tuple[Decimal, Decimal] | None:
    """The (bottom, top) of an alert's price: both the price when it states one, else its price_range in order;
    None when there is no positive price to read."""
    price = number(signal.get("price"))
    if price is not None:
        return (decimal(price), decimal(price)) if price > 0 else None
    span = signal.get("price_range")
    if isinstance(span, list | tuple) and len(span) == 2:
        ends = [number(end) for end in span]
        if None not in ends and min(ends) > 0:  # type: ignore[type-var]
            low, high = sorted(ends)  # type: ignore[type-var]
            return decimal(low), decimal(high)
    return None


def tick_size(price: Decimal, instrument: str, tick: Decimal | None = None) -> Decimal:
    """The price increment: the broker's `tick` when known, else $0.05 at or above $3 and $0.01 below for options and
    spreads, $0.01 for stocks."""
    if tick is not None:
        if tick <= 0:
            raise ValueError(f"tick {tick} is not positive")
        return tick
    if instrument in ("option", "spread"):
        return OPTION_TICK_ABOVE_3 if price >= 3 else OPTION_TICK
    if instrument == "stock":
        return STOCK_TICK
    raise ValueError(f"no tick known for {instrument!r}")


def round_to_tick(price: Decimal, *, buy: bool, instrument: str, tick: Decimal | None = None) -> Decimal:
    """A buy rounded down to the tick, a sell up."""
    step = tick_size(price, instrument, tick)
    steps = (price / step).to_integral_value(ROUND_FLOOR if buy else ROUND_CEILING)
    return steps * step


def entry_limit(
    price_range: tuple[Decimal, Decimal],
    *,
    credit: bool,
    slippage_pct: Decimal,
    instrument: str,
    tick: Decimal | None = None,
) -> Decimal | None:
    """An opening order's limit: a debit pays up to the top of the range x (1 + slippage), rounded down; a credit
    takes at least the bottom x (1 - slippage), rounded up. None when it rounds to nothing."""
    low, high = price_range
    slip = decimal(slippage_pct) / _HUNDRED
    if credit:
        return _positive(round_to_tick(low * (1 - slip), buy=False, instrument=instrument, tick=tick))
    return _positive(round_to_tick(high * (1 + slip), buy=True, instrument=instrument, tick=tick))


def exit_limit(
    price: Decimal | None,
    *,
    quote: Decimal | None = None,
    slippage_pct: Decimal,
    instrument: str,
    short: bool = False,
    tick: Decimal | None = None,
) -> Decimal | None:
    """A closing order's limit. Selling a long: the fresh bid (`quote`) when there is a positive one, else the
    alert's `price` x (1 - slippage), rounded up. Buying back a short (`short`) mirrors it: the fresh ask, else
    price x (1 + slippage), rounded down. None without a usable price."""
    slip = decimal(slippage_pct) / _HUNDRED
    if quote is not None and quote > 0:
        base = decimal(quote)
    elif price is not None and price > 0:
        base = decimal(price) * ((1 + slip) if short else (1 - slip))
    else:
        return None
    return _positive(round_to_tick(base, buy=short, instrument=instrument, tick=tick))


def _positive(price: Decimal) -> Decimal | None:
    return price if price > 0 else None


__all__ = ["alert_range", "entry_limit", "exit_limit", "paper_price", "round_to_tick", "tick_size"]
