"""The paper ledger: every alert followed at the alert's own prices (what DRY_RUN means), so a subscriber can judge
an alert service by its record rather than its claims.

Pure: apply() raw events (alert.received / alert.edited) and alert.parsed events in any interleaving; read methods
answer from a book built lazily, on the first read after a change, by replaying messages in the order they were
posted. Replaying rather than updating in place is what lets an edit (or a parse that arrives after its raw event)
correct what follows it without undo logic. Messages posted over `settle_seconds` before the newest are followed once
into a settled book; the newer ones, where such corrections still arrive, are replayed on a copy-on-write fork of it
after each change. Only a change to a settled message (a parse long after its alert, a switch of the active parser
version) replays everything, and `needs_replay` says so beforehand, so a host can do that off its lock.

Rules (each one a place where a follower could otherwise be misled):
- Only parses by the active parser version count; a message without one yet contributes nothing.
- Edits: an edit made within `edit_grace_seconds` of posting (Whop's updated_at, else when it was recorded)
  replaces the original — a follower reading a minute later acts on the corrected text. A later edit is listed
  under problems and the original is kept: followers had already acted, and honouring it would let an analyst
  rewrite a losing record after the fact. `edit_grace_seconds=None` honours every edit.
- A contract is the ticker plus its legs (right, strike, expiry, ratio) without sides: the side of a leg is the
  side of the order, so the closing alert names the opposite side of the opening one. The direction (long/short)
  comes from the opening alert: a single leg's side; a spread's debit/credit (stated, or read from which strike
  of a vertical was bought; otherwise assumed debit and flagged). Stock and futures positions are long: the
  signal model carries no side for them.
- open / add increase a position at average cost; missing quantity counts as 1 unit and is flagged; an add with
  no open position opens one (it is still an order to buy) and is flagged.
- trim reduces by `fraction` of what is open, else by `quantity`; close closes `quantity` when it is less than
  what is open, else the rest. A trim that says neither, or gives a quantity against an assumed size, is listed.
- The contract of a close, trim or add: an exactly named open position; else, when the signal names no legs and
  replies to an alert, that alert's contract; else the open positions its partial description fits. None fitting
  is listed as unmatched, several as ambiguous — never guessed.
- Realized P&L = direction x (exit - average entry) x quantity x multiplier; multiplier 100 for options and
  spreads (per contract), 1 for shares, 1 per point for futures (contract multipliers vary by product, so futures
  P&L is in points x contracts).
- Orders without a usable price (price, else the middle of price_range) are listed, and change nothing.
- An option position still open when its last leg has expired (by the first alert posted on a later New York day)
  is taken out and listed as expired, its remainder counted neither as a win nor as a loss: how it ended is unknown.
  What its trims realized stays realized.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import ChainMap, deque
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from heapq import heappop, heappush
from itertools import permutations
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from autosig.clock import rfc3339
from autosig.events.record import Event
from autosig.projections.ledger_history import NO_ORDER, AlertVersion, History, Order, Parsed, micros
from autosig.schema import payload_of
from autosig.times import to_utc

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_EDIT_GRACE_SECONDS = 900.0
# Messages posted within this long of the newest one are followed on a fork rebuilt after every change, since edits,
# late parses and other channels' older alerts still arrive for them; older ones are followed once, for good.
DEFAULT_SETTLE_SECONDS = 3600.0
_NO_SIGNALS = b"[]"
LATE_EDIT = "edited after the grace period: the original is followed"
EXPIRED = "expired with {quantity:g} open and no exit: its value at expiry is unknown, so it is not counted"
# Where a replay lists a message's problems: positions that expired before it, then its late edits, then the rest.
_LISTING = {"expired": 0, "late_edit": 1}
MULTIPLIERS = {"option": 100.0, "stock": 1.0, "future": 1.0}
RAW_TYPES = ("alert.received", "alert.edited")
# Parsed fractions are rounded ("sold 1/3" is 0.3333), so selling all but this share of a position is selling
# all of it: otherwise "trim 1/3" then "out 2" of 3 contracts would leave 0.0001 of a contract open forever.
DUST = 1e-3
_NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)
# summary() lists the newest of these (its totals count everything)
SUMMARY_TRADES = 500
SUMMARY_PROBLEMS = 500
SUMMARY_EQUITY_POINTS = 5_000
# fills kept and shown per position, the newest (one averaged down for months gathers hundreds; fill_count says how
# many, and the averages count them all)
SUMMARY_FILLS = 20

Key = tuple[str, str, tuple[tuple[Any, ...], ...]]  # (ticker, "option" | "stock" | "future", leg shapes)


# --- small readers of untrusted signal fields --------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A finite number, else None (bools, strings, NaN and infinities are not prices or sizes)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _positive(value: Any) -> float | None:
    number = _num(value)
    return number if number is not None and number > 0 else None


def _price(signal: dict[str, Any]) -> float | None:
    price = _num(signal.get("price"))
    if price is not None:
        return price
    span = signal.get("price_range")
    if isinstance(span, list | tuple) and len(span) == 2:
        low, high = _num(span[0]), _num(span[1])
        if low is not None and high is not None:
            return (low + high) / 2
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _leg_shape(leg: dict[str, Any]) -> tuple[Any, ...]:
    right = _text(leg.get("right"))
    ratio = _positive(leg.get("ratio"))
    return (right.upper() if right else None, _num(leg.get("strike")), _text(leg.get("expiry")), ratio or 1.0)


def _legs(signal: dict[str, Any]) -> list[dict[str, Any]]:
    legs = signal.get("legs")
    return [leg for leg in legs if isinstance(leg, dict)] if isinstance(legs, list) else []


def _class(signal: dict[str, Any], legs: list[dict[str, Any]]) -> str:
    instrument = signal.get("instrument")
    if instrument == "future":
        return "future"
    if legs or instrument in ("option", "spread"):
        return "option"
    return "stock"


def _fits(pattern: tuple[Any, ...], shape: tuple[Any, ...]) -> bool:
    return all(want is None or want == have for want, have in zip(pattern, shape, strict=True))


def _direction(signal: dict[str, Any], legs: list[dict[str, Any]]) -> tuple[int, str | None]:
    """+1 long / -1 short from an opening order, and what was assumed to decide it (or None)."""
    if not legs:
        return 1, None
    if len(legs) == 1:
        return (-1 if legs[0].get("side") == "sell" else 1), None
    kind = signal.get("limit_kind")
    if kind in ("debit", "credit"):
        return (1 if kind == "debit" else -1), None
    (right_a, strike_a, _, _), (right_b, strike_b, _, _) = (_leg_shape(leg) for leg in legs[:2])
    sides = [leg.get("side") for leg in legs]
    vertical = len(legs) == 2 and right_a == right_b in ("C", "P") and None not in (strike_a, strike_b)
    if vertical and strike_a != strike_b and sides.count("buy") == sides.count("sell") == 1:
        # a vertical costs a debit when the bought leg is the dearer one: the lower call or the higher put
        bought_lower = (strike_a < strike_b) == (sides[0] == "buy")
        return (1 if bought_lower == (right_a == "C") else -1), None
    return 1, "debit"


def _label(ticker: str, cls: str, legs: list[dict[str, Any]]) -> str:
    if cls == "future":
        return f"/{ticker}"
    if not legs:
        return ticker if cls == "stock" else f"{ticker} (option)"

    def one(leg: dict[str, Any], signed: bool) -> str:
        right, strike, expiry, ratio = _leg_shape(leg)
        sign = ("-" if leg.get("side") == "sell" else "+") if signed else ""
        count = f"{ratio:g}x" if ratio != 1 else ""
        return f"{sign}{count}{'?' if strike is None else f'{strike:g}'}{right or '?'} {expiry or '?'}"

    return f"{ticker} " + " / ".join(one(leg, len(legs) > 1) for leg in legs)


def _expires(key: Key) -> int | None:
    """When an option position on `key` has expired, in microseconds: the start of the New York day after its last
    leg's expiry (a close reported that evening still counts). None for shares, futures and unreadable expiries."""
    if key[1] != "option" or not key[2]:
        return None
    try:
        last = max(date.fromisoformat(expiry) for _, _, expiry, _ in key[2])
    except (TypeError, ValueError):  # a leg without an expiry, or not an ISO date
        return None
    return micros(datetime.combine(last + timedelta(days=1), time(), NEW_YORK))


def _outcome(realized: float) -> str:
    # by the cent: an average entry of 1.0000000000000002 sold at 1.00 is a flat trade, not a loss
    cents = _round(realized, 2)
    return "win" if cents > 0 else "loss" if cents < 0 else "flat"


def _round(value: float, places: int) -> float:
    rounded = round(value, places)
    return 0.0 if rounded == 0 else rounded  # never "-0.0" on a page


# --- the replay -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Fill:
    action: str
    quantity: float
    price: float
    alert: AlertVersion
    realized: float | None = None  # exits only
    # A fill never changes, and a long-open position is rendered again after every new alert: kept while shown
    rendered: dict[str, Any] | None = None

    def view(self) -> dict[str, Any]:
        if self.rendered is None:
            self.rendered = {
                "action": self.action,
                "quantity": _round(self.quantity, 6),
                "price": self.price,
                "realized": None if self.realized is None else _round(self.realized, 2),
                "alert": self.alert.view(),
            }
        return self.rendered


@dataclass(slots=True)
class _Position:
    key: Key
    instrument: str
    legs: list[dict[str, Any]]  # as opened: the sides are the opening sides
    direction: int
    opened: AlertVersion
    quantity: float = 0.0
    avg_entry: float = 0.0
    opened_quantity: float = 0.0
    closed_quantity: float = 0.0
    realized: float = 0.0
    # the newest fills (SUMMARY_FILLS shown, up to twice that kept): a position open for months gathers hundreds
    fills: list[_Fill] = field(default_factory=list)
    fill_count: int = 0
    exit_quantity: float = 0.0  # over every exit, for the average exit price
    exit_value: float = 0.0
    assumed: list[str] = field(default_factory=list)
    # (fills when rendered, the view): every change adds a fill, so the count says whether the view is current.
    # A position open for long is rendered again after every new alert.
    rendered: tuple[int, dict[str, Any]] | None = None
    label: str = ""  # "SPY 600C 2027-01-17": fixed by key and legs, and named in every equity curve point

    def __post_init__(self) -> None:
        self.label = _label(self.key[0], self.key[1], self.legs)

    @property
    def multiplier(self) -> float:
        return MULTIPLIERS[self.key[1]]

    def copy(self) -> _Position:
        return replace(self, fills=list(self.fills), assumed=list(self.assumed))

    def buy(self, action: str, quantity: float, price: float, alert: AlertVersion) -> None:
        # average cost: what is still open keeps its average, the new lot is weighted in
        self.avg_entry = (self.avg_entry * self.quantity + price * quantity) / (self.quantity + quantity)
        self.quantity += quantity
        self.opened_quantity += quantity
        self._add(_Fill(action, quantity, price, alert))

    def sell(self, action: str, quantity: float, price: float, alert: AlertVersion) -> _Fill:
        if quantity >= self.quantity * (1 - DUST):
            quantity = self.quantity
        realized = self.direction * (price - self.avg_entry) * quantity * self.multiplier
        self.quantity = 0.0 if quantity == self.quantity else self.quantity - quantity
        self.closed_quantity += quantity
        self.realized += realized
        self.exit_quantity += quantity
        self.exit_value += price * quantity
        fill = _Fill(action, quantity, price, alert, realized)
        self._add(fill)
        return fill

    def _add(self, fill: _Fill) -> None:
        self.fills.append(fill)
        self.fill_count += 1
        if len(self.fills) > 2 * SUMMARY_FILLS:
            del self.fills[:-SUMMARY_FILLS]

    def view(self) -> dict[str, Any]:
        """What readers see. Shared between reads (it is kept until the position changes): never change it."""
        if self.rendered is None or self.rendered[0] != self.fill_count:
            self.rendered = (self.fill_count, self._render())
        return self.rendered[1]

    def forget_views(self) -> None:
        """Drops what view() kept (for a trade no longer shown: the history must not keep every rendering)."""
        self.rendered = None
        for fill in self.fills:
            fill.rendered = None

    def _render(self) -> dict[str, Any]:
        closed = self.quantity == 0
        exits = self.exit_quantity
        return {
            "contract": self.label,
            "ticker": self.key[0],
            "instrument": self.instrument,
            "legs": [dict(leg) for leg in self.legs],  # copies: these dicts belong to recorded events
            "direction": "long" if self.direction > 0 else "short",
            "multiplier": self.multiplier,
            "quantity": _round(self.quantity, 6),
            "opened_quantity": _round(self.opened_quantity, 6),
            "closed_quantity": _round(self.closed_quantity, 6),
            "avg_entry": _round(self.avg_entry, 4),
            "avg_exit": _round(self.exit_value / exits, 4) if exits else None,
            "realized": _round(self.realized, 2),
            "result": _outcome(self.realized) if closed else None,
            "opened_at": rfc3339(self.opened.posted),
            "closed_at": rfc3339(self.fills[-1].alert.posted) if closed else None,
            "assumed": list(self.assumed),
            "fills": [f.view() for f in self.fills[-SUMMARY_FILLS:]],
            "fill_count": self.fill_count,
        }


def _json(value: Any) -> bytes:
    # orjson's bytes keep the whole buffer they were written into (4 KiB at least); a copy is the JSON's own size
    return bytes(memoryview(orjson.dumps(value)))


def _version(event: Event, source: str, recorded: datetime) -> AlertVersion:
    try:
        payload = payload_of(event.data)
    except (KeyError, TypeError, ValueError):
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    posted = to_utc(payload.get("created_at")) or recorded
    updated = payload.get("updated_at")
    # most versions were never edited: share the posting time's object rather than parse a second one
    edited = posted if updated is not None and updated == payload.get("created_at") else to_utc(updated) or recorded
    content = payload.get("content")
    reply = payload.get("replying_to_message_id")
    return AlertVersion(event.seq, source, posted, content if isinstance(content, str) else None,
                  None if reply is None else str(reply), edited)  # fmt: skip


@dataclass(slots=True)
class _Problem:
    """Something the ledger did not follow: what, why, the alert and its signal (as JSON)."""

    kind: str
    reason: str
    alert: AlertVersion
    signal: bytes | None
    extra: dict[str, Any]
    place: Order  # the message being followed when it was listed (where a replay lists it)

    def view(self) -> dict[str, Any]:
        signal = None if self.signal is None else orjson.loads(self.signal)
        extra = {name: value.view() if isinstance(value, AlertVersion) else value for name, value in self.extra.items()}
        return {"kind": self.kind, "reason": self.reason, "alert": self.alert.view(), "signal": signal, **extra}


class _Replies:
    """The settled book's source_id -> contracts table, kept in the history: a long history has a row per alert that
    opened or changed a position, and a reply may answer any of them."""

    def __init__(self, history: History) -> None:
        self._history = history
        history.clear_replies()  # a new settled book starts from nothing

    def get(self, source: str, default: tuple[Key, ...] | None = ()) -> tuple[Key, ...] | None:
        keys = self._history.reply_keys(source)
        if keys is None:
            return default
        return tuple((ticker, cls, tuple(map(tuple, shapes))) for ticker, cls, shapes in orjson.loads(keys))

    # what a fork's ChainMap asks of the maps under its own
    def __contains__(self, source: object) -> bool:
        return isinstance(source, str) and self._history.reply_keys(source) is not None

    def __getitem__(self, source: str) -> tuple[Key, ...]:
        keys = self.get(source, None)
        if keys is None:
            raise KeyError(source)
        return keys

    def __setitem__(self, source: str, keys: tuple[Key, ...]) -> None:
        self._history.set_reply_keys(source, orjson.dumps(keys))


@dataclass(slots=True)
class _Message:
    alert: AlertVersion
    signals: list[dict[str, Any]]
    late_edits: list[AlertVersion]


class _Book:
    """The result of one replay: open positions, the newest closed round trips, exits and problems, and totals over
    all of them (what a page shows is bounded; what it counts is not)."""

    def __init__(self, contracts: _Replies | dict[str, tuple[Key, ...]]) -> None:
        self.open: dict[Key, _Position] = {}
        self.borrowed: set[Key] = set()  # open positions shared with the book this one was forked from
        self.closed: deque[_Position] = deque(maxlen=SUMMARY_TRADES)
        self.closed_count = 0
        self.exits: deque[tuple[_Position, _Fill, float]] = deque(maxlen=SUMMARY_EQUITY_POINTS)  # and equity after
        # running totals, so a read costs the size of what it shows, not of the whole history
        self.realized = 0.0
        self.by_ticker: dict[str, float] = {}
        self.by_day: dict[str, float] = {}  # America/New_York date of the exit's alert
        self.outcomes = {"win": 0, "loss": 0, "flat": 0}
        self.problems: list[_Problem] = []  # the newest, in replay order (SUMMARY_PROBLEMS up to twice that)
        self.problem_count = 0
        # source_id -> contracts its signals resolved to (for replies), each key one shared object (see `keys`)
        self.contracts = contracts
        self.keys: dict[Key, Key] = {}  # one object per contract: a long history names the same few many times
        # how the next position on a contract opens: (instrument, legs, direction, what was assumed)
        self.details: dict[Key, tuple[str, list[dict[str, Any]], int, str | None]] = {}
        self.last: Order = NO_ORDER  # the place of the last message replayed
        # (expiry in microseconds, push count, key, opening alert) of open option positions: a min-heap, so each
        # message looks only at what has expired by its posting time
        self.expiring: list[tuple[int, int, Key, AlertVersion]] = []
        self.pushed = 0
        self.expired_count = 0

    def replay(self, message: _Message, order: Order) -> None:
        self.last = max(self.last, order)
        self.expire(order[0])
        for edit in message.late_edits:
            self.problem("late_edit", LATE_EDIT, message.alert, None, edit=edit)
        for signal in message.signals:
            self.follow(message.alert, signal)

    def expire(self, now: int) -> None:
        """Takes out the option positions that expired by `now` (microseconds) without an exit, listing each. The
        analyst never said how they ended; counting them as worthless would be a guess, and leaving them open
        forever would hide them (a service that never reports its losers would show no losses)."""
        while self.expiring and self.expiring[0][0] <= now:
            _, _, key, opened = heappop(self.expiring)
            position = self.open.get(key)
            if position is None or position.opened is not opened:
                continue  # closed before it expired (and maybe opened again: that one has its own entry)
            del self.open[key]
            self.borrowed.discard(key)
            self.expired_count += 1
            self.problem("expired", EXPIRED.format(quantity=_round(position.quantity, 6)), position.opened, None,
                         contract=position.label, quantity=_round(position.quantity, 6),
                         avg_entry=_round(position.avg_entry, 4), realized=_round(position.realized, 2))  # fmt: skip

    def problem(self, kind: str, reason: str, alert: AlertVersion, signal: dict[str, Any] | None, **extra: Any) -> None:
        # kept encoded and rendered on read: a long history lists many problems, and a signal's dict costs ten
        # times its JSON
        self.add_problem(_Problem(kind, reason, alert, None if signal is None else _json(signal), extra, self.last))

    def add_problem(self, problem: _Problem, at: int | None = None) -> None:
        """Lists a problem, at the end or at index `at` of the problems kept."""
        self.problem_count += 1
        if at is None:
            self.problems.append(problem)
        else:
            self.problems.insert(at, problem)
        if len(self.problems) > 2 * SUMMARY_PROBLEMS:
            del self.problems[:-SUMMARY_PROBLEMS]

    def close(self, position: _Position) -> None:
        if len(self.closed) == self.closed.maxlen:
            self.closed[0].forget_views()  # no longer shown: its renderings must not stay with the exits it is in
        self.closed.append(position)
        self.closed_count += 1
        self.outcomes[_outcome(position.realized)] += 1

    def fork(self) -> _Book:
        """A copy to follow unsettled messages on, sharing what following them cannot change: closed positions,
        fills and problems never change once made; open positions do, so they are copied."""
        # the fork only follows messages this book has not, so their entries go to the first map
        book = _Book(ChainMap({}, self.contracts))  # type: ignore[arg-type]
        book.open = dict(self.open)
        book.borrowed = set(self.open)  # copied on first change (see _own), so most keep their rendered views
        book.closed = self.closed.copy()
        book.closed_count = self.closed_count
        book.exits = self.exits.copy()
        book.realized = self.realized
        book.by_ticker = dict(self.by_ticker)
        book.by_day = dict(self.by_day)
        book.outcomes = dict(self.outcomes)
        book.problems = list(self.problems)
        book.problem_count = self.problem_count
        book.details = ChainMap({}, self.details)  # type: ignore[assignment]
        book.keys = self.keys  # a table of shared objects only: what a fork adds changes no result
        book.last = self.last
        book.expiring = list(self.expiring)  # (a copy of a heap is a heap)
        book.pushed = self.pushed
        book.expired_count = self.expired_count
        return book

    def follow(self, alert: AlertVersion, signal: dict[str, Any]) -> None:
        action = signal.get("action")
        if action not in ("open", "add", "trim", "close"):
            return  # updates move stops and targets, not positions
        ticker = _text(signal.get("ticker"))
        ticker = ticker.upper() if ticker else None
        legs = _legs(signal)
        cls = _class(signal, legs)
        shapes = tuple(sorted((_leg_shape(leg) for leg in legs), key=repr))
        exact: Key | None = (ticker, cls, shapes) if ticker and all(None not in s for s in shapes) else None

        reply_to = signal.get("refers_to") or alert.reply_to  # the parser's reading first
        key = exact if exact is not None and exact in self.open else None
        if key is None and not legs and reply_to is not None:
            key, why = self._from_reply(str(reply_to), ticker)
            if why is not None:
                self.problem("ambiguous", why, alert, signal)
                return
        if key is None and action != "open":
            fitting = self._fitting(ticker, cls, shapes)
            if len(fitting) > 1:
                labels = [self.open[k].label for k in fitting]
                self.problem("ambiguous", f"{action} fits several open positions", alert, signal, candidates=labels)
                return
            key = fitting[0] if fitting else None
        if key is None and action in ("open", "add") and ticker:
            key = (ticker, cls, shapes)  # a new position (an add without one is still an order to buy)
        if key is None:
            if ticker is None and (action == "open" or not shapes):
                why = "names no ticker" if shapes else "names no contract"
            else:
                why = "without an open position"
            self.problem("unmatched", f"{action} {why}", alert, signal)
            return
        key = self.keys.setdefault(key, key)
        known = self.contracts.get(alert.source_id, ())
        if key not in known:
            self.contracts[alert.source_id] = (*known, key)
        if action in ("open", "add") and key not in self.open and (legs or key not in self.details):
            # how the next position on this contract opens: as the latest alert that named it in full said
            self.details[key] = (str(signal.get("instrument") or cls), legs, *_direction(signal, legs))

        price = _price(signal)
        if price is None:
            self.problem("no_price", f"{action} without a price: not followed", alert, signal)
            return
        if action in ("open", "add"):
            self._buy(alert, signal, key, action, price, bool(legs))
        else:
            self._sell(alert, signal, key, action, price)

    def _own(self, key: Key) -> _Position | None:
        """The open position on `key`, safe to change: a fork's first change to a borrowed one copies it."""
        position = self.open.get(key)
        if position is not None and key in self.borrowed:
            self.borrowed.discard(key)
            position = self.open[key] = position.copy()
        return position

    def _from_reply(self, reply_to: str, ticker: str | None) -> tuple[Key | None, str | None]:
        keys = [k for k in self.contracts.get(reply_to, ()) if ticker is None or k[0] == ticker]
        if len(keys) > 1:
            return None, "replies to an alert with several contracts and names none"
        return (keys[0] if keys else None), None

    def _fitting(self, ticker: str | None, cls: str, shapes: tuple[tuple[Any, ...], ...]) -> list[Key]:
        """Open positions a partial description fits ("STC SPY 600c" without an expiry, "all out AAPL")."""
        if ticker is None and not shapes:
            return []
        fitting = [k for k in self.open if (ticker is None or k[0] == ticker) and _fits_legs(shapes, k[2])]
        if not shapes:
            # "STC 100 AAPL" while AAPL shares and AAPL calls are open: the shares
            fitting = [k for k in fitting if k[1] == cls] or fitting
        return fitting

    def _buy(
        self, alert: AlertVersion, signal: dict[str, Any], key: Key, action: str, price: float, named: bool
    ) -> None:
        instrument, legs, direction, assumed = self.details[key]
        position = self._own(key)
        if position is not None and named and _direction(signal, _legs(signal))[0] != position.direction:
            self.problem("conflicting_open", f"{action} on the opposite side of an open position", alert, signal)
            return
        if position is None:
            position = self.open[key] = _Position(key, instrument, legs, direction, alert)
            expires = _expires(key)
            if expires is not None:
                self.pushed += 1
                heappush(self.expiring, (expires, self.pushed, key, alert))
            if assumed:
                position.assumed.append(assumed)
            if action == "add":
                position.assumed.append("opened by an add")
        quantity = _positive(signal.get("quantity"))
        if quantity is None:
            quantity = 1.0
            if "quantity" not in position.assumed:
                position.assumed.append("quantity")
        position.buy(action, quantity, price, alert)

    def _sell(self, alert: AlertVersion, signal: dict[str, Any], key: Key, action: str, price: float) -> None:
        position = self._own(key)
        if position is None:
            self.problem("unmatched", f"{action} of a position that is not open", alert, signal)
            return
        fraction = _positive(signal.get("fraction"))
        quantity = _positive(signal.get("quantity"))
        if fraction is not None and fraction <= 1:
            amount = position.quantity * fraction
        elif quantity is not None and not (action == "trim" and "quantity" in position.assumed):
            amount = min(quantity, position.quantity)
        elif action == "close":
            amount = position.quantity
        else:
            why = "trim against a position of assumed size" if quantity is not None else "trim without a size"
            self.problem("ambiguous", why, alert, signal)
            return
        fill = position.sell(action, amount, price, alert)
        realized = fill.realized or 0.0
        self.realized += realized
        self.by_ticker[key[0]] = self.by_ticker.get(key[0], 0.0) + realized
        day = alert.posted.astimezone(NEW_YORK).date().isoformat()
        self.by_day[day] = self.by_day.get(day, 0.0) + realized
        self.exits.append((position, fill, self.realized))
        if position.quantity == 0:
            del self.open[key]
            self.close(position)


def _fits_legs(pattern: tuple[tuple[Any, ...], ...], shapes: tuple[tuple[Any, ...], ...]) -> bool:
    if not pattern:
        return True
    if len(pattern) != len(shapes):
        return False
    return any(all(_fits(p, s) for p, s in zip(pattern, order, strict=True)) for order in permutations(shapes))


# --- the projection ---------------------------------------------------------------------------------------------


class Ledger:
    """Paper positions and P&L from following every alert.

    apply() records each alert version and parse in the ledger's History (a private SQLite database: memory stays
    flat however long the history). Reads follow messages in posting order into a settled book, which only ever
    grows, plus — for messages posted within `settle_seconds` of the newest one, where edits, late parses and other
    channels' older alerts still arrive — a fork of it rebuilt on the first read after a change. Only a change to a
    settled message (a late parse of an old alert, an edit long after posting, a switch of the active parser version)
    replays everything. The books keep the open positions, the newest trades, exits and problems, and totals over
    everything."""

    def __init__(
        self,
        parser_version: str,
        edit_grace_seconds: float | None = DEFAULT_EDIT_GRACE_SECONDS,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    ) -> None:
        self._version = str(parser_version)
        self.edit_grace_seconds = edit_grace_seconds
        self.settle_seconds = settle_seconds
        self._history = History()  # every version and every version's parses, so switching needs no re-read
        self._newest = _NO_TIME  # the newest posting time seen: the settle horizon trails it
        self._settled: _Book | None = None  # None: replay everything on the next read
        self._book: _Book | None = None  # what reads answer from, until the next change

    @property
    def parser_version(self) -> str:
        return self._version

    @parser_version.setter
    def parser_version(self, version: str) -> None:
        if str(version) != self._version:
            self._version = str(version)
            self._forget()

    @property
    def needs_replay(self) -> bool:
        """Whether the next read replays the whole history (nothing read yet, or a change to a settled message):
        the host then builds a new ledger off its lock rather than let a read do it."""
        return self._settled is None

    def _forget(self) -> None:
        self._settled = self._book = None

    def apply(self, event: Event) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        if event.type in RAW_TYPES:
            if data.get("source_id") is None:
                return
            source = str(data["source_id"])
            recorded = to_utc(event.ts) or _NO_TIME
            alert = _version(event, source, recorded)
            before = self._history.order(source)
            if not self._history.add_version(alert):
                return  # applied before
            # A posting time ahead of when the alert was recorded (a wrong clock, a hostile payload) must not drag
            # the settle horizon into the future: that would settle everything the moment it arrives.
            self._newest = max(self._newest, min(alert.posted, recorded))
            self._changed(source, event.seq, before)
        elif event.type == "alert.parsed":
            raw_seq = data.get("raw_seq")
            if type(raw_seq) is not int:
                return
            signals = data.get("signals") if data.get("kind") == "signal" else []
            signals = [s for s in signals if isinstance(s, dict)] if isinstance(signals, list) else []
            version = str(data.get("parser_version"))
            again = self._history.set_parse(version, raw_seq, _json(signals) if signals else _NO_SIGNALS)
            source = self._history.source_of(raw_seq)
            if source is not None and version == self._version:  # else its raw event marks the change on arrival
                if again:
                    self._forget()  # a second parse by one version (never from a store: parse keys are unique)
                self._changed(source, raw_seq, None)

    def _changed(self, source: str, seq: int, before: Order | None) -> None:
        """Version `seq` of message `source` arrived (its raw event or its parse); `before` is where the message
        stood before a raw arrival."""
        self._book = None
        settled = self._settled
        if settled is None:
            return
        order = self._history.order(source)
        assert order is not None
        if settled.last < order and (before is None or settled.last < before):
            return  # not followed in the settled book yet: the next read does
        if before not in (None, order) or not self._listed_late_edit(settled, source, seq):
            self._forget()  # a message at or before the settled end changed: its whole future may differ

    def _listed_late_edit(self, settled: _Book, source: str, seq: int) -> bool:
        """Whether version `seq` of a settled message is an edit after the grace period — which changes nothing
        but the list of problems — and is now listed where a replay would list it. Analysts edit old alerts
        ("closed for +50%"); replaying the whole history for each would stall a long-lived ledger."""
        versions = self._history.versions(source, self._version)
        first = versions[0][0]
        this, signals = next(version for version in versions if version[0].raw_seq == seq)
        grace = self.edit_grace_seconds
        if grace is None or this is first or (this.edited - first.posted).total_seconds() <= grace:
            return False
        if signals is None:
            return True  # listed once its parse arrives
        message = self._message(versions)
        if message is None:
            return False  # the message was not followed before: it is new history
        edit = next((e for e in message.late_edits if e.raw_seq == seq), None)
        if edit is not None:  # else neither it nor the followed version has signals: nothing to list
            # where a replay would list it: by message, then _LISTING, late edits in seq order
            def rank(p: _Problem) -> tuple[Order, int, int]:
                late = p.kind == "late_edit"
                return p.place, _LISTING.get(p.kind, 2), p.extra["edit"].raw_seq if late else 0

            order = self._history.order(source)
            assert order is not None
            at = bisect_left(settled.problems, (order, _LISTING["late_edit"], seq), key=rank)
            # (one older than every problem kept lands first and is trimmed with them, as in a replay)
            settled.add_problem(_Problem("late_edit", LATE_EDIT, message.alert, None, {"edit": edit}, order), at)
        return True

    # --- replay -------------------------------------------------------------------------------------------------

    def _message(self, versions: list[Parsed]) -> _Message | None:
        """What a message contributes: the version followed (the newest parsed one edited within the grace period),
        its signals, and the later edits to list."""
        first = versions[0][0]
        chosen: Parsed | None = None
        late: list[Parsed] = []
        grace = self.edit_grace_seconds
        for alert, signals in versions:
            if signals is None:
                continue  # not parsed by the active version (yet)
            if alert is first or grace is None or (alert.edited - first.posted).total_seconds() <= grace:
                chosen = (alert, signals)
            else:
                late.append((alert, signals))
        if chosen is None:
            return None
        alert = first if chosen[0] is first else replace(chosen[0], posted=first.posted)
        has_signals = chosen[1] != _NO_SIGNALS
        late_edits = [replace(edit, posted=first.posted) for edit, signals in late
                      if has_signals or signals != _NO_SIGNALS]  # fmt: skip
        return _Message(alert, orjson.loads(chosen[1]) if has_signals else [], late_edits)

    def _replayed(self) -> _Book:
        """The book reads answer from: the settled one brought up to the settle horizon, plus a fork of it that
        follows the newer messages. Messages are read from the history in posting order — not recording order:
        channels are polled in turn, so one channel's older alert can be recorded after another's newer one."""
        if self._book is not None:
            return self._book
        settled = self._settled
        if settled is None:
            settled = self._settled = _Book(_Replies(self._history))
        # Messages posted long enough before the newest one are followed for good; a message without a parse of the
        # active version is passed over, and its parse, when it comes, replays everything.
        horizon = micros(self._newest - timedelta(seconds=self.settle_seconds))
        book = settled
        for order, versions in self._history.messages_after(settled.last, self._version):
            message = self._message(versions)
            if message is None:
                continue
            if book is settled and order[0] > horizon:
                book = settled.fork()
            book.replay(message, order)
        self._book = book
        return book

    # --- read ---------------------------------------------------------------------------------------------------

    def positions(self) -> list[dict[str, Any]]:
        """Open positions, oldest first, with what was realized by trims so far and their newest fills."""
        return [p.view() for p in self._replayed().open.values()]

    def trades(self) -> list[dict[str, Any]]:
        """The newest closed round trips (open to flat; SUMMARY_TRADES of them) in the order they closed."""
        return [p.view() for p in self._replayed().closed]

    def pnl_by_ticker(self) -> dict[str, float]:
        """Realized P&L per ticker, including trims of positions still open."""
        return {ticker: _round(total, 2) for ticker, total in sorted(self._replayed().by_ticker.items())}

    def pnl_by_day(self) -> dict[str, float]:
        """Realized P&L per America/New_York date of the alert that realized it (a trim or a close)."""
        return {day: _round(total, 2) for day, total in sorted(self._replayed().by_day.items())}

    def win_rate(self) -> float | None:
        """Share of closed round trips with a positive P&L; None before the first one."""
        book = self._replayed()
        return book.outcomes["win"] / book.closed_count if book.closed_count else None

    def equity_curve(self, last: int | None = None) -> list[dict[str, Any]]:
        """Cumulative realized P&L after each of the newest exits (SUMMARY_EQUITY_POINTS, or the `last` ones), in
        posting order."""
        exits = list(self._replayed().exits)
        return [{"at": rfc3339(fill.alert.posted), "equity": _round(equity, 2),
                 "realized": _round(fill.realized or 0.0, 2), "ticker": position.key[0],
                 "contract": position.label,
                 "source_id": fill.alert.source_id}
                for position, fill, equity in exits[-last if last else 0:]]  # fmt: skip

    def problems(self) -> list[dict[str, Any]]:
        """The newest of what was not followed (SUMMARY_PROBLEMS), with the alert: unmatched, ambiguous, no_price,
        conflicting_open, late_edit."""
        return [problem.view() for problem in self._replayed().problems[-SUMMARY_PROBLEMS:]]

    def summary(self) -> dict[str, Any]:
        """Everything a ledger page or API needs, as one JSON-ready object."""
        book = self._replayed()
        return {
            "parser_version": self._version,
            "edit_grace_seconds": self.edit_grace_seconds,
            "multipliers": dict(MULTIPLIERS),
            "totals": {
                "realized": _round(book.realized, 2),
                "trades": book.closed_count,
                "wins": book.outcomes["win"],
                "losses": book.outcomes["loss"],
                "win_rate": self.win_rate(),
                "open_positions": len(book.open),
                "problems": book.problem_count,
                "expired": book.expired_count,
            },
            "positions": self.positions(),
            # the lists grow with the whole history: a page shows the newest (totals above count them all)
            "trades": self.trades(),
            "pnl_by_ticker": self.pnl_by_ticker(),
            "pnl_by_day": self.pnl_by_day(),
            "equity_curve": self.equity_curve(),
            "problems": self.problems(),
        }


__all__ = ["Ledger", "MULTIPLIERS", "DEFAULT_EDIT_GRACE_SECONDS"]
