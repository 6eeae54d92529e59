"""The paper ledger: every alert followed at the alert's own prices (what DRY_RUN means), so a subscriber can judge
an alert service by its record rather than its claims.

Pure: apply() raw events (alert.received / alert.edited) and alert.parsed events in any interleaving; read methods
answer from a book built lazily, on the first read after a change, by replaying every message in the order it was
posted. Replaying rather than updating in place is what lets an edit (or a parse that arrives after its raw event,
or a change of the active parser version) correct the whole history without undo logic. New alerts posted after
everything followed so far, the usual case, are followed on top of the existing book instead.

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
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import permutations
from typing import Any
from zoneinfo import ZoneInfo

from autosig.alerts import payload_of, to_utc
from autosig.clock import rfc3339
from autosig.events.record import Event

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_EDIT_GRACE_SECONDS = 900.0
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


def _outcome(realized: float) -> str:
    # by the cent: an average entry of 1.0000000000000002 sold at 1.00 is a flat trade, not a loss
    cents = _round(realized, 2)
    return "win" if cents > 0 else "loss" if cents < 0 else "flat"


def _round(value: float, places: int) -> float:
    rounded = round(value, places)
    return 0.0 if rounded == 0 else rounded  # never "-0.0" on a page


# --- the replay -------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Alert:
    """One message as the ledger uses it: the chosen version's text, the original posting time."""

    raw_seq: int
    source_id: str
    posted: datetime
    text: str | None
    reply_to: str | None

    def view(self) -> dict[str, Any]:
        return {"raw_seq": self.raw_seq, "source_id": self.source_id, "created_at": rfc3339(self.posted),
                "text": self.text}  # fmt: skip


@dataclass(slots=True)
class _Fill:
    action: str
    quantity: float
    price: float
    alert: _Alert
    realized: float | None = None  # exits only

    def view(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "quantity": _round(self.quantity, 6),
            "price": self.price,
            "realized": None if self.realized is None else _round(self.realized, 2),
            "alert": self.alert.view(),
        }


@dataclass(slots=True)
class _Position:
    key: Key
    instrument: str
    legs: list[dict[str, Any]]  # as opened: the sides are the opening sides
    direction: int
    opened: _Alert
    quantity: float = 0.0
    avg_entry: float = 0.0
    opened_quantity: float = 0.0
    closed_quantity: float = 0.0
    realized: float = 0.0
    fills: list[_Fill] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)

    @property
    def multiplier(self) -> float:
        return MULTIPLIERS[self.key[1]]

    def buy(self, action: str, quantity: float, price: float, alert: _Alert) -> None:
        # average cost: what is still open keeps its average, the new lot is weighted in
        self.avg_entry = (self.avg_entry * self.quantity + price * quantity) / (self.quantity + quantity)
        self.quantity += quantity
        self.opened_quantity += quantity
        self.fills.append(_Fill(action, quantity, price, alert))

    def sell(self, action: str, quantity: float, price: float, alert: _Alert) -> _Fill:
        if quantity >= self.quantity * (1 - DUST):
            quantity = self.quantity
        realized = self.direction * (price - self.avg_entry) * quantity * self.multiplier
        self.quantity = 0.0 if quantity == self.quantity else self.quantity - quantity
        self.closed_quantity += quantity
        self.realized += realized
        fill = _Fill(action, quantity, price, alert, realized)
        self.fills.append(fill)
        return fill

    def view(self) -> dict[str, Any]:
        exits = [f for f in self.fills if f.realized is not None]
        exit_qty = sum(f.quantity for f in exits)
        closed = self.quantity == 0
        return {
            "contract": _label(self.key[0], self.key[1], self.legs),
            "ticker": self.key[0],
            "instrument": self.instrument,
            "legs": [dict(leg) for leg in self.legs],  # copies: these dicts belong to recorded events
            "direction": "long" if self.direction > 0 else "short",
            "multiplier": self.multiplier,
            "quantity": _round(self.quantity, 6),
            "opened_quantity": _round(self.opened_quantity, 6),
            "closed_quantity": _round(self.closed_quantity, 6),
            "avg_entry": _round(self.avg_entry, 4),
            "avg_exit": _round(sum(f.price * f.quantity for f in exits) / exit_qty, 4) if exit_qty else None,
            "realized": _round(self.realized, 2),
            "result": _outcome(self.realized) if closed else None,
            "opened_at": rfc3339(self.opened.posted),
            "closed_at": rfc3339(self.fills[-1].alert.posted) if closed else None,
            "assumed": list(self.assumed),
            "fills": [f.view() for f in self.fills],
        }


@dataclass(slots=True)
class _Message:
    alert: _Alert
    signals: list[dict[str, Any]]
    late_edits: list[_Alert]


class _Book:
    """The result of one replay: open positions, closed round trips, exits in order, problems."""

    def __init__(self) -> None:
        self.open: dict[Key, _Position] = {}
        self.closed: list[_Position] = []
        self.exits: list[tuple[_Position, _Fill]] = []
        self.problems: list[dict[str, Any]] = []
        self.contracts: dict[str, list[Key]] = {}  # source_id -> contracts its signals resolved to (for replies)
        # how the next position on a contract opens: (instrument, legs, direction, what was assumed)
        self.details: dict[Key, tuple[str, list[dict[str, Any]], int, str | None]] = {}
        self.followed: set[str] = set()  # source_ids replayed into this book
        self.last: tuple[datetime, int] = (_NO_TIME, 0)  # order key of the last message replayed

    def replay(self, message: _Message, order: tuple[datetime, int]) -> None:
        for edit in message.late_edits:
            self.problem("late_edit", "edited after the grace period: the original is followed", message.alert,
                         None, edit=edit.view())  # fmt: skip
        for signal in message.signals:
            self.follow(message.alert, signal)
        self.followed.add(message.alert.source_id)
        self.last = max(self.last, order)

    def problem(self, kind: str, reason: str, alert: _Alert, signal: dict[str, Any] | None, **extra: Any) -> None:
        copy = dict(signal) if signal is not None else None  # the event's dict stays untouched by readers
        self.problems.append({"kind": kind, "reason": reason, "alert": alert.view(), "signal": copy, **extra})

    def follow(self, alert: _Alert, signal: dict[str, Any]) -> None:
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
                labels = [_label(k[0], k[1], self.open[k].legs) for k in fitting]
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
        known = self.contracts.setdefault(alert.source_id, [])
        if key not in known:
            known.append(key)
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

    def _buy(self, alert: _Alert, signal: dict[str, Any], key: Key, action: str, price: float, named: bool) -> None:
        instrument, legs, direction, assumed = self.details[key]
        position = self.open.get(key)
        if position is not None and named and _direction(signal, _legs(signal))[0] != position.direction:
            self.problem("conflicting_open", f"{action} on the opposite side of an open position", alert, signal)
            return
        if position is None:
            position = self.open[key] = _Position(key, instrument, legs, direction, alert)
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

    def _sell(self, alert: _Alert, signal: dict[str, Any], key: Key, action: str, price: float) -> None:
        position = self.open.get(key)
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
        self.exits.append((position, fill))
        if position.quantity == 0:
            del self.open[key]
            self.closed.append(position)


def _fits_legs(pattern: tuple[tuple[Any, ...], ...], shapes: tuple[tuple[Any, ...], ...]) -> bool:
    if not pattern:
        return True
    if len(pattern) != len(shapes):
        return False
    return any(all(_fits(p, s) for p, s in zip(pattern, order, strict=True)) for order in permutations(shapes))


# --- the projection ---------------------------------------------------------------------------------------------


class Ledger:
    """Paper positions and P&L from following every alert. apply() only records references; reads replay."""

    def __init__(self, parser_version: str, edit_grace_seconds: float | None = DEFAULT_EDIT_GRACE_SECONDS) -> None:
        self._version = str(parser_version)
        self.edit_grace_seconds = edit_grace_seconds
        self._raw: dict[int, Event] = {}
        self._versions: dict[str, list[int]] = {}  # source_id -> raw seqs of its versions, ascending
        self._parses: dict[int, dict[str, list[dict[str, Any]]]] = {}  # raw seq -> parser version -> signals
        self._book: _Book | None = None  # None: replay everything on the next read
        self._pending: dict[str, None] = {}  # new messages the book has not followed yet (an ordered set)

    @property
    def parser_version(self) -> str:
        return self._version

    @parser_version.setter
    def parser_version(self, version: str) -> None:
        # every version's parses are kept, so switching needs no re-read of the streams
        if str(version) != self._version:
            self._version = str(version)
            self._book = None
            self._pending.clear()

    def apply(self, event: Event) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        if event.type in RAW_TYPES:
            if event.seq in self._raw or data.get("source_id") is None:
                return
            self._raw[event.seq] = event
            source = str(data["source_id"])
            seqs = self._versions.setdefault(source, [])
            if not seqs or seqs[-1] < event.seq:
                seqs.append(event.seq)
            else:
                insort(seqs, event.seq)
            self._changed(source)
        elif event.type == "alert.parsed":
            raw_seq = data.get("raw_seq")
            if type(raw_seq) is not int:
                return
            signals = data.get("signals") if data.get("kind") == "signal" else []
            signals = [s for s in signals if isinstance(s, dict)] if isinstance(signals, list) else []
            version = str(data.get("parser_version"))
            self._parses.setdefault(raw_seq, {})[version] = signals
            raw = self._raw.get(raw_seq)
            if raw is not None and version == self._version:  # else its raw event marks the change on arrival
                self._changed(str(raw.data["source_id"]))

    def _changed(self, source: str) -> None:
        # A message the book has not seen can usually be followed on top of it (new alerts arrive in posting
        # order); a change to one it has followed (an edit, a re-parse) means replaying everything.
        if self._book is None:
            return
        if source in self._book.followed:
            self._book = None
            self._pending.clear()
        else:
            self._pending[source] = None

    # --- replay -------------------------------------------------------------------------------------------------

    def _alert(self, seq: int, posted: datetime | None = None) -> _Alert:
        event = self._raw[seq]
        try:
            payload = payload_of(event.data)
        except (KeyError, TypeError, ValueError):
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        if posted is None:
            posted = to_utc(payload.get("created_at")) or to_utc(event.ts) or _NO_TIME
        content = payload.get("content")
        reply = payload.get("replying_to_message_id")
        return _Alert(seq, str(event.data["source_id"]), posted, content if isinstance(content, str) else None,
                      None if reply is None else str(reply))  # fmt: skip

    def _edited_at(self, seq: int) -> datetime:
        event = self._raw[seq]
        try:
            stamp = payload_of(event.data).get("updated_at")
        except (AttributeError, KeyError, TypeError, ValueError):
            stamp = None
        return to_utc(stamp) or to_utc(event.ts) or _NO_TIME

    def _message(self, seqs: list[int]) -> _Message | None:
        first = self._alert(seqs[0])
        chosen: tuple[int, list[dict[str, Any]]] | None = None
        late: list[tuple[int, list[dict[str, Any]]]] = []
        grace = self.edit_grace_seconds
        for seq in seqs:
            signals = self._parses.get(seq, {}).get(self._version)
            if signals is None:
                continue  # not parsed by the active version (yet)
            if seq == seqs[0] or grace is None or (self._edited_at(seq) - first.posted).total_seconds() <= grace:
                chosen = (seq, signals)
            else:
                late.append((seq, signals))
        if chosen is None:
            return None
        alert = first if chosen[0] == seqs[0] else self._alert(chosen[0], first.posted)
        late_edits = [self._alert(seq, first.posted) for seq, signals in late if signals or chosen[1]]
        return _Message(alert, chosen[1], late_edits)

    def _ordered(self, sources: Iterable[str]) -> list[tuple[tuple[datetime, int], _Message]]:
        """The messages of `sources` that have a parse, in posting order — not recording order: channels are
        polled in turn, so one channel's older alert can be recorded after another's newer one."""
        out = []
        for source in sources:
            seqs = self._versions[source]
            message = self._message(seqs)
            if message is not None:
                out.append(((message.alert.posted, seqs[0]), message))
        out.sort(key=lambda item: item[0])
        return out

    def _replayed(self) -> _Book:
        book = self._book
        if book is not None and self._pending:
            news = self._ordered(self._pending)
            if news and news[0][0] < book.last:
                book = None  # posted before something already followed: replay everything
            else:
                for order, message in news:
                    book.replay(message, order)
                    del self._pending[message.alert.source_id]  # the rest wait for their parse
        if book is None:
            book = _Book()
            for order, message in self._ordered(self._versions):
                book.replay(message, order)
            self._book = book
            self._pending.clear()
        return book

    # --- read ---------------------------------------------------------------------------------------------------

    def positions(self) -> list[dict[str, Any]]:
        """Open positions, oldest first, with what was realized by trims so far."""
        return [p.view() for p in self._replayed().open.values()]

    def trades(self) -> list[dict[str, Any]]:
        """Closed round trips (open to flat) in the order they closed, with realized P&L."""
        return [p.view() for p in self._replayed().closed]

    def pnl_by_ticker(self) -> dict[str, float]:
        """Realized P&L per ticker, including trims of positions still open."""
        totals: dict[str, float] = {}
        for position, fill in self._replayed().exits:
            totals[position.key[0]] = totals.get(position.key[0], 0.0) + (fill.realized or 0.0)
        return {ticker: _round(total, 2) for ticker, total in sorted(totals.items())}

    def pnl_by_day(self) -> dict[str, float]:
        """Realized P&L per America/New_York date of the alert that realized it (a trim or a close)."""
        totals: dict[str, float] = {}
        for _, fill in self._replayed().exits:
            day = fill.alert.posted.astimezone(NEW_YORK).date().isoformat()
            totals[day] = totals.get(day, 0.0) + (fill.realized or 0.0)
        return {day: _round(total, 2) for day, total in sorted(totals.items())}

    def win_rate(self) -> float | None:
        """Share of closed round trips with a positive P&L; None before the first one."""
        closed = self._replayed().closed
        if not closed:
            return None
        return sum(1 for p in closed if _outcome(p.realized) == "win") / len(closed)

    def equity_curve(self) -> list[dict[str, Any]]:
        """Cumulative realized P&L after each exit, in posting order."""
        out = []
        equity = 0.0
        for position, fill in self._replayed().exits:
            equity += fill.realized or 0.0
            out.append({"at": rfc3339(fill.alert.posted), "equity": _round(equity, 2),
                        "realized": _round(fill.realized or 0.0, 2), "ticker": position.key[0],
                        "contract": _label(position.key[0], position.key[1], position.legs),
                        "source_id": fill.alert.source_id})  # fmt: skip
        return out

    def problems(self) -> list[dict[str, Any]]:
        """What was not followed, with the alert: unmatched, ambiguous, no_price, conflicting_open, late_edit."""
        return list(self._replayed().problems)

    def summary(self) -> dict[str, Any]:
        """Everything a ledger page or API needs, as one JSON-ready object."""
        book = self._replayed()
        closed = book.closed
        realized = sum(fill.realized or 0.0 for _, fill in book.exits)
        outcomes = [_outcome(p.realized) for p in closed]
        wins, losses = outcomes.count("win"), outcomes.count("loss")
        return {
            "parser_version": self._version,
            "edit_grace_seconds": self.edit_grace_seconds,
            "multipliers": dict(MULTIPLIERS),
            "totals": {
                "realized": _round(realized, 2),
                "trades": len(closed),
                "wins": wins,
                "losses": losses,
                "win_rate": self.win_rate(),
                "open_positions": len(book.open),
                "problems": len(book.problems),
            },
            "positions": self.positions(),
            # the lists grow with the whole history: a page shows the newest (totals above count them all)
            "trades": [p.view() for p in closed[-SUMMARY_TRADES:]],
            "pnl_by_ticker": self.pnl_by_ticker(),
            "pnl_by_day": self.pnl_by_day(),
            "equity_curve": self.equity_curve()[-SUMMARY_EQUITY_POINTS:],
            "problems": book.problems[-SUMMARY_PROBLEMS:],
        }


__all__ = ["Ledger", "MULTIPLIERS", "DEFAULT_EDIT_GRACE_SECONDS"]
