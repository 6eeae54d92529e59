"""The executor's decision for one signal: the gates, in order, and the order it would send when every gate passes.

The first gate that fails is the decision's reason (an `order.skipped`); a signal that passes them all becomes an
`order.planned` with its sizing and the checks that were made. Nothing here sends anything: reading the broker
(clock, quotes, listed contracts, positions, equity) is the only I/O, through `Market`.

    decision = decide(signal, context)      # -> Skip | Plan
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from autosig.brokers.base import Leg as OrderLeg
from autosig.brokers.base import Quote
from autosig.config_execution import ExecutionSettings
from autosig.projections.orders import OrdersProjection, Scope
from autosig.trading import (
    Contract,
    Refusal,
    alert_range,
    contract_of,
    entry_limit,
    entry_quantity,
    exit_limit,
    exit_quantity,
    match_position,
    occ_symbol,
    opening_direction,
    option_root,
    order_pieces,
    parse_size_rule,
    read_contract,
    signal_legs,
)

log = logging.getLogger("autosig.execute")

ENTRIES = ("open", "add")
EXITS = ("trim", "close")
# An exit skipped for one of these while AutoSig holds the position: the analyst left a position AutoSig still holds.
EXIT_MISSED_REASONS = ("market_closed", "stale_alert", "paused", "exits_off")
FUTURE_SKEW_SECONDS = 60.0
CLOCK_SKEW_SECONDS = 5.0
MISMATCH_FACTOR = Decimal("0.7")


class Market(Protocol):
    """What the gates read of the world: the broker when there is one (dry run without a broker: a calendar)."""

    def market_open(self, now: datetime) -> tuple[bool, str]: ...
    def clock_skew(self, now: datetime) -> float | None: ...
    def quote(self, symbols: list[OrderLeg]) -> Quote | None: ...
    def listed(self, ticker: str, expiry: str, right: str, strike: float, same_day: bool) -> tuple[str | None, str]: ...
    def equity(self) -> Decimal | None: ...


@dataclass
class Alert:
    """What the gates need of the alert a signal came from."""

    raw_seq: int
    parsed_seq: int
    channel: str
    source_id: str
    created_at: datetime | None
    author_ids: frozenset[str]
    refers_to: str | None = None


@dataclass
class Context:
    settings: ExecutionSettings
    book: OrdersProjection
    scope: Scope
    market: Market
    now: datetime
    paused: dict[str, Any]
    ingestion_check: Callable[[], bool]  # read only by the entry gate that needs it (a backlog of stale alerts never)
    authors: frozenset[str]
    replied: list[Contract] = field(default_factory=list)  # contracts of AutoSig's decisions on the replied-to alert

    @property
    def ingestion_stale(self) -> bool:
        return self.ingestion_check()


@dataclass
class Skip:
    reason: str
    detail: str
    action: str | None = None
    contract: str | None = None
    ticker: str | None = None
    exit_missed: bool = False


@dataclass
class Plan:
    action: str
    effect: str  # entry | exit
    contract: Contract
    direction: int
    instrument: str
    legs: list[OrderLeg]
    quantity: int
    limit_price: Decimal
    price_effect: str | None
    underlying: str | None
    sizing: dict[str, Any]
    checks: dict[str, Any]
    pieces: list[int]

    @property
    def cost(self) -> Decimal:
        return self.limit_price * self.quantity * self.contract.multiplier


def decide(signal: dict[str, Any], alert: Alert, ctx: Context) -> Skip | Plan:
    """The first failing gate, or the plan."""
    s = ctx.settings
    action = str(signal.get("action") or "")
    entry, exit_ = action in ENTRIES, action in EXITS
    ticker = (signal.get("ticker") or "").upper() or None
    named = read_contract(signal)
    held = held_position(ctx, named, action) if exit_ else None

    def skip(reason: str, detail: str) -> Skip:
        missed = exit_ and held is not None and reason in EXIT_MISSED_REASONS
        label = held.label if held is not None else (named.label if named.ticker else None)
        return Skip(reason, detail, action or None, label, ticker, missed)

    checks: dict[str, Any] = {"control_seq": ctx.paused.get("seq", 0)}
    if ctx.paused.get("paused"):
        return skip("paused", f"execution was paused by {ctx.paused.get('by')}: {ctx.paused.get('reason') or ''}".strip())
    if entry and not s.trade_entries:
        return skip("entries_off", "AUTOSIG_TRADE_ENTRIES is false: entries are not traded")
    if exit_ and not s.trade_exits:
        return skip("exits_off", "AUTOSIG_TRADE_EXITS is false: exits are not traded")
    age = _age(alert, ctx.now)
    if age is None:
        return skip("stale_alert", "the alert has no readable created_at, so its age is unknown")
    if age > s.max_alert_age_seconds:
        return skip("stale_alert", f"the alert is {age:.0f} s old (AUTOSIG_MAX_ALERT_AGE_SECONDS={s.max_alert_age_seconds:g})")
    if age < -FUTURE_SKEW_SECONDS:
        return skip("stale_alert", f"the alert is dated {-age:.0f} s in the future")
    checks["alert_age_s"] = round(age, 3)
    if entry:
        skew = ctx.market.clock_skew(ctx.now)
        if skew is not None and abs(skew) > CLOCK_SKEW_SECONDS:
            return skip("clock_skew", f"this machine's clock is {skew:+.1f} s off the broker's")
        checks["clock_skew_s"] = skew
        if ctx.ingestion_stale:
            return skip("ingestion_stale", "ingestion is stale: an exit of what is bought now could be missed")
    if ctx.authors and not (alert.author_ids & ctx.authors):
        return skip("author_not_followed", "AUTOSIG_AUTHORS does not name this alert's author")
    confidence = signal.get("confidence")
    if not isinstance(confidence, int | float) or confidence < s.min_confidence:
        return skip("low_confidence", f"confidence {confidence} is below AUTOSIG_MIN_CONFIDENCE={s.min_confidence:g}")
    if not (entry or exit_):
        return skip("unsupported", f"{action or 'this'} signals are recorded, never placed at the broker")
    if signal.get("instrument") == "future" or named.kind == "future":
        return skip("unsupported", "futures are not traded")
    contract = contract_of(signal) if entry else None
    if isinstance(contract, Refusal):
        return skip("unsupported", f"the contract is incomplete: {contract.reason}")
    if ticker and ((s.tickers_allow and ticker not in s.tickers_allow) or ticker in s.tickers_deny):
        return skip("ticker_not_allowed", f"{ticker} is not allowed by AUTOSIG_TICKERS_ALLOW / AUTOSIG_TICKERS_DENY")
    if entry:
        assert isinstance(contract, Contract)
        return _entry(signal, contract, alert, ctx, skip, checks, action)
    return _exit(signal, ctx, skip, checks, action, held)


def _age(alert: Alert, now: datetime) -> float | None:
    if alert.created_at is None:
        return None
    return (now - alert.created_at).total_seconds()


def held_position(ctx: Context, named: Contract, action: str) -> Any:
    """The holding an exit refers to (matched over AutoSig's own positions), or None."""
    holdings = ctx.book.holdings(ctx.scope)
    match = match_position(action, named, holdings, ctx.replied)
    return holdings.get(match.contract) if match.outcome == "found" else None


def _entry(
    signal: dict, contract: Contract, alert: Alert, ctx: Context, skip: Any, checks: dict, action: str
) -> Skip | Plan:
    s = ctx.settings
    prices = alert_range(signal)
    if prices is None:
        return skip("no_price", "an entry without a price: AutoSig never sends a market order")
    instrument = contract.instrument
    low, high = prices
    if instrument in ("option", "spread") and high < s.min_option_price:
        return skip("too_cheap", f"{high} is below AUTOSIG_MIN_OPTION_PRICE={s.min_option_price}")
    is_open, why = ctx.market.market_open(ctx.now)
    checks["market"] = why
    if not is_open:
        return skip("market_closed", why)
    legs, underlying, lookup = _order_legs(signal, contract, ctx, alert, opening=True)
    checks["contracts"] = lookup
    if legs is None:
        return skip("unknown_contract", lookup)
    book = ctx.book
    if action == "open" and book.entering(contract, ctx.scope):
        return skip("already_open", f"AutoSig already holds or is entering {contract.label}")
    if action == "add" and contract not in book.holdings(ctx.scope):
        return skip("no_position", f"an add of {contract.label}, which AutoSig does not hold")
    direction, _ = opening_direction(signal)
    credit = direction < 0 and instrument == "spread"
    if credit and signal.get("limit_kind") != "credit":
        credit = False
    slippage = s.slippage_pct_stock if instrument == "stock" else s.slippage_pct_option
    quote = ctx.market.quote(legs)
    fresh = _fresh(quote, ctx)
    checks["quote"] = _quote_view(quote, fresh)
    if fresh is not None and fresh.ask is not None and not credit:
        ceiling = high * (1 + slippage / 100)
        if fresh.ask > ceiling:
            return skip("price_moved", f"the ask {fresh.ask} is above {high} + {slippage}% slippage")
        if fresh.ask < MISMATCH_FACTOR * high:
            return skip("price_mismatch", f"the ask {fresh.ask} is below 70% of the alert's {high}: a misread contract?")
    limit = entry_limit((low, high), credit=credit, slippage_pct=slippage, instrument=instrument)
    if limit is None:
        return skip("no_price", "the limit rounds to nothing")
    rule = parse_size_rule(s.size)
    equity = ctx.market.equity() if rule.kind == "pct" else None
    if rule.kind == "pct" and equity is None:
        return skip("too_small", "pct sizing needs the account's equity, which the broker did not give")
    quantity = entry_quantity(rule, price=high, multiplier=contract.multiplier, max_trade_usd=s.max_trade_usd,
                              max_contracts=s.max_contracts, alert_quantity=signal.get("quantity"), equity=equity)  # fmt: skip
    caps = book.caps(ctx.now.timestamp(), s.limits(), ctx.scope)
    cost = limit * quantity * contract.multiplier
    if action == "open" and caps["max_open_positions"]["used"] >= s.max_open_positions:
        return skip("cap:max_open_positions", f"{caps['max_open_positions']['used']} positions open or entering")
    if caps["max_trades_per_day"]["used"] >= s.max_trades_per_day:
        return skip("cap:max_trades_per_day", f"{caps['max_trades_per_day']['used']} entries today")
    if Decimal(str(caps["max_daily_usd"]["used"])) + cost > s.max_daily_usd:
        return skip("cap:max_daily_usd", f"${caps['max_daily_usd']['used']:,.2f} entered today; this one costs ${cost:,.2f}")
    if Decimal(str(caps["max_daily_loss_usd"]["used"])) >= s.max_daily_loss_usd:
        return skip("cap:max_daily_loss_usd", f"${caps['max_daily_loss_usd']['used']:,.2f} lost today")
    if quantity < 1:
        return skip("too_small", f"one unit at {limit} costs more than AUTOSIG_MAX_TRADE_USD={s.max_trade_usd}")
    sizing = {"rule": s.size, "price": float(high), "multiplier": contract.multiplier, "alert_quantity":
              signal.get("quantity"), "max_trade_usd": float(s.max_trade_usd), "max_contracts": s.max_contracts}  # fmt: skip
    return Plan(action, "entry", contract, direction, instrument, legs, quantity, limit,
                ("credit" if credit else "debit") if instrument == "spread" else None, underlying, sizing, checks,
                [quantity])  # fmt: skip


def _exit(signal: dict, ctx: Context, skip: Any, checks: dict, action: str, held: Any) -> Skip | Plan:
    s = ctx.settings
    is_open, why = ctx.market.market_open(ctx.now)
    checks["market"] = why
    if not is_open:
        return skip("market_closed", why)
    holdings = ctx.book.holdings(ctx.scope)
    match = match_position(action, read_contract(signal), holdings, ctx.replied)
    if match.outcome == "ambiguous":
        return skip("ambiguous", f"{match.reason}: {', '.join(c.label for c in match.candidates)}")
    if held is None:
        return skip("no_position", f"{match.reason or action + ' of a contract AutoSig does not hold'}")
    contract: Contract = held.position.contract
    available = ctx.book.available(contract, ctx.scope)
    checks["available"] = available
    if available < 1:
        return skip("no_position", f"nothing of {contract.label} is available to sell (working exits hold it)")
    short = held.position.direction < 0
    instrument = contract.instrument
    legs = closing_legs(held)
    slippage = s.slippage_pct_stock if instrument == "stock" else s.slippage_pct_option
    quote = ctx.market.quote(legs)
    fresh = _fresh(quote, ctx)
    checks["quote"] = _quote_view(quote, fresh)
    price = signal.get("price")
    if price is None and signal.get("price_range"):
        price = min(signal["price_range"])
    side_quote = (fresh.ask if short else fresh.bid) if fresh is not None else None
    limit = exit_limit(Decimal(str(price)) if isinstance(price, int | float) and price > 0 else None,
                       quote=side_quote, slippage_pct=slippage, instrument=instrument, short=short)  # fmt: skip
    if limit is None:
        return skip("no_price", "an exit with neither a price nor a positive fresh bid")
    analyst = ctx.book.analyst_open(contract, ctx.scope)
    quantity = exit_quantity(action, available, fraction=signal.get("fraction"),
                             alert_quantity=signal.get("quantity"), analyst_open=analyst)  # fmt: skip
    if quantity < 1:
        return skip("too_small", "nothing to sell")
    sizing = {"available": available, "fraction": signal.get("fraction"), "alert_quantity": signal.get("quantity"),
              "analyst_open": analyst, "matched_by": match.by}  # fmt: skip
    return Plan(action, "exit", contract, held.position.direction, instrument, legs, quantity, limit,
                ("debit" if short else "credit") if instrument == "spread" else None, None, sizing, checks,
                order_pieces(quantity, s.max_contracts))  # fmt: skip


def closing_legs(held: Any) -> list[OrderLeg]:
    """The legs that close a holding: each opening leg the other way."""
    out = []
    for leg in held.opening_legs:
        side = "sell" if leg["side"] == "buy" else "buy"
        intent = None if leg.get("position_intent") is None else f"{side}_to_close"
        out.append(OrderLeg(leg["symbol"], side, intent, int(leg.get("ratio") or 1)))
    return out


def _fresh(quote: Quote | None, ctx: Context) -> Quote | None:
    if quote is None or quote.timestamp is None:
        return None
    age = (ctx.now - quote.timestamp).total_seconds()
    return quote if abs(age) <= ctx.settings.max_quote_age_seconds else None


def _quote_view(quote: Quote | None, fresh: Quote | None) -> dict[str, Any]:
    if quote is None:
        return {"used": False, "why": "no quote"}
    return {"used": fresh is not None, "bid": _num(quote.bid), "ask": _num(quote.ask),
            "at": quote.timestamp.isoformat() if quote.timestamp else None,
            **({} if fresh is not None else {"why": "stale or without a time"})}  # fmt: skip


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _order_legs(signal: dict, contract: Contract, ctx: Context, alert: Alert, *, opening: bool) -> tuple[Any, Any, Any]:
    """The order's legs (OCC symbols resolved through the broker's listing), the underlying when the root differs,
    and what the lookup found; (None, None, why) when a leg is not listed."""
    if contract.kind == "stock":
        return [OrderLeg(contract.ticker, "buy", None, 1)], None, "stock"
    # contract.legs are in canonical order: find each one's side from the signal's legs
    by_leg = {}
    for raw in signal_legs(signal):
        key = (str(raw.get("right") or "").upper(), float(raw.get("strike") or 0), raw.get("expiry"))
        by_leg[key] = raw.get("side") or "buy"
    legs, found, underlying = [], [], None
    same_day = alert.created_at is not None and _ny_date(alert.created_at) in {leg.expiry for leg in contract.legs}
    for leg in contract.legs:
        side = by_leg.get((leg.right, leg.strike, leg.expiry), "buy")
        symbol, why = ctx.market.listed(contract.ticker or "", leg.expiry or "", leg.right or "", leg.strike or 0, same_day)
        if symbol is None:
            return None, None, why
        # The root is all but the last 15 characters (YYMMDD, C/P, 8 strike digits); a prefix test would take
        # SPXW for SPX and send Tradier's order under a root that is not an underlying.
        if symbol[:-15] != option_root(contract.ticker or ""):
            underlying = contract.ticker
        found.append(why)
        legs.append(OrderLeg(symbol, side, f"{side}_to_open" if opening else f"{side}_to_close", int(leg.ratio)))
    return legs, underlying, "; ".join(found)


def _ny_date(when: datetime) -> str:
    from zoneinfo import ZoneInfo

    return when.astimezone(ZoneInfo("America/New_York")).date().isoformat()


def default_symbol(ticker: str, expiry: str, right: str, strike: float) -> str:
    """The OCC symbol from the contract alone (no broker to ask)."""
    return occ_symbol(option_root(ticker), expiry, right, Decimal(str(strike)))


def utc_now(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
