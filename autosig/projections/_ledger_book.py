"""One replay of the paper ledger: the messages followed in posting order into a book of positions, trades, exits and
problems. The rules of what a signal acts on and how much it sells are autosig.trading's (the executor follows the
same ones); this module applies them to the analyst's alerts and lists what it will not guess.

A book keeps the open positions, the newest closed round trips, exits and problems, and totals over everything (what a
page shows is bounded; what it counts is not).
"""

from __future__ import annotations

from collections import ChainMap, deque
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from heapq import heappop, heappush
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from autosig.projections._ledger_positions import Fill, Position, outcome, rounded
from autosig.projections.ledger_history import NO_ORDER, AlertVersion, History, Order, micros
from autosig.trading import (
    Contract,
    Leg,
    Refusal,
    match_position,
    opening_direction,
    paper_entry_quantity,
    paper_exit_quantity,
    paper_price,
    read_contract,
    signal_legs,
)

NEW_YORK = ZoneInfo("America/New_York")
LATE_EDIT = "edited after the grace period: the original is followed"
EXPIRED = "expired with {quantity:g} open and no exit: its value at expiry is unknown, so it is not counted"
# Where a replay lists a message's problems: positions that expired before it, then its late edits, then the rest.
LISTING = {"expired": 0, "late_edit": 1}
# summary() lists the newest of these (its totals count everything)
SUMMARY_TRADES = 500
SUMMARY_PROBLEMS = 500
SUMMARY_EQUITY_POINTS = 5_000


def json_bytes(value: Any) -> bytes:
    # orjson's bytes keep the whole buffer they were written into (4 KiB at least); a copy is the JSON's own size
    return bytes(memoryview(orjson.dumps(value)))


def expires(contract: Contract) -> int | None:
    """When an option position on `contract` has expired, in microseconds: the start of the New York day after its
    last leg's expiry (a close reported that evening still counts). None for shares, futures and unreadable
    expiries."""
    last = contract.expiry
    return None if last is None else micros(datetime.combine(last + timedelta(days=1), time(), NEW_YORK))


@dataclass(slots=True)
class Problem:
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


class Replies:
    """The settled book's source_id -> contracts table, kept in the history: a long history has a row per alert that
    opened or changed a position, and a reply may answer any of them."""

    def __init__(self, history: History) -> None:
        self._history = history
        history.clear_replies()  # a new settled book starts from nothing

    def get(self, source: str, default: tuple[Contract, ...] | None = ()) -> tuple[Contract, ...] | None:
        keys = self._history.reply_keys(source)
        if keys is None:
            return default
        rows = orjson.loads(keys)
        return tuple(Contract(ticker, kind, tuple(Leg(*leg) for leg in legs)) for ticker, kind, legs in rows)

    # what a fork's ChainMap asks of the maps under its own
    def __contains__(self, source: object) -> bool:
        return isinstance(source, str) and self._history.reply_keys(source) is not None

    def __getitem__(self, source: str) -> tuple[Contract, ...]:
        keys = self.get(source, None)
        if keys is None:
            raise KeyError(source)
        return keys

    def __setitem__(self, source: str, keys: tuple[Contract, ...]) -> None:
        # as plain lists: orjson writes no named tuples
        self._history.set_reply_keys(source, orjson.dumps([(c.ticker, c.kind, [tuple(leg) for leg in c.legs])
                                                           for c in keys]))  # fmt: skip


@dataclass(slots=True)
class Message:
    alert: AlertVersion
    signals: list[dict[str, Any]]
    late_edits: list[AlertVersion]


class Book:
    """The result of one replay: open positions, the newest closed round trips, exits and problems, and totals over
    all of them."""

    def __init__(self, contracts: Replies | dict[str, tuple[Contract, ...]]) -> None:
        self.open: dict[Contract, Position] = {}
        self.borrowed: set[Contract] = set()  # open positions shared with the book this one was forked from
        self.closed: deque[Position] = deque(maxlen=SUMMARY_TRADES)
        self.closed_count = 0
        self.exits: deque[tuple[Position, Fill, float]] = deque(maxlen=SUMMARY_EQUITY_POINTS)  # and equity after
        # running totals, so a read costs the size of what it shows, not of the whole history
        self.realized = 0.0
        self.by_ticker: dict[str, float] = {}
        self.by_day: dict[str, float] = {}  # America/New_York date of the exit's alert
        self.outcomes = {"win": 0, "loss": 0, "flat": 0}
        self.problems: list[Problem] = []  # the newest, in replay order (SUMMARY_PROBLEMS up to twice that)
        self.problem_count = 0
        # source_id -> contracts its signals resolved to (for replies), each one shared object (see `keys`)
        self.contracts = contracts
        self.keys: dict[Contract, Contract] = {}  # one object per contract: a long history names the same few often
        # how the next position on a contract opens: (instrument, legs, direction, what was assumed)
        self.details: dict[Contract, tuple[str, list[dict[str, Any]], int, str | None]] = {}
        self.last: Order = NO_ORDER  # the place of the last message replayed
        # (expiry in microseconds, push count, contract, opening alert) of open option positions: a min-heap, so each
        # message looks only at what has expired by its posting time
        self.expiring: list[tuple[int, int, Contract, AlertVersion]] = []
        self.pushed = 0
        self.expired_count = 0

    def replay(self, message: Message, order: Order) -> None:
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
            self.problem("expired", EXPIRED.format(quantity=rounded(position.quantity, 6)), position.opened, None,
                         contract=position.label, quantity=rounded(position.quantity, 6),
                         avg_entry=rounded(position.avg_entry, 4), realized=rounded(position.realized, 2))  # fmt: skip

    def problem(self, kind: str, reason: str, alert: AlertVersion, signal: dict[str, Any] | None, **extra: Any) -> None:
        # kept encoded and rendered on read: a long history lists many problems, and a signal's dict costs ten
        # times its JSON
        self.add_problem(Problem(kind, reason, alert, None if signal is None else json_bytes(signal), extra, self.last))

    def add_problem(self, problem: Problem, at: int | None = None) -> None:
        """Lists a problem, at the end or at index `at` of the problems kept."""
        self.problem_count += 1
        if at is None:
            self.problems.append(problem)
        else:
            self.problems.insert(at, problem)
        if len(self.problems) > 2 * SUMMARY_PROBLEMS:
            del self.problems[:-SUMMARY_PROBLEMS]

    def shown_problems(self) -> list[Problem]:
        return self.problems[-SUMMARY_PROBLEMS:]

    def close(self, position: Position) -> None:
        if len(self.closed) == self.closed.maxlen:
            self.closed[0].forget_views()  # no longer shown: its renderings must not stay with the exits it is in
        self.closed.append(position)
        self.closed_count += 1
        self.outcomes[outcome(position.realized)] += 1

    def fork(self) -> Book:
        """A copy to follow unsettled messages on, sharing what following them cannot change: closed positions,
        fills and problems never change once made; open positions do, so they are copied."""
        # the fork only follows messages this book has not, so their entries go to the first map
        book = Book(ChainMap({}, self.contracts))  # type: ignore[arg-type]
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
        legs = signal_legs(signal)
        named = read_contract(signal)
        reply_to = signal.get("refers_to") or alert.reply_to  # the parser's reading first
        # (only a signal naming no legs is matched through its reply)
        replied = self.contracts.get(str(reply_to), ()) if reply_to is not None and not legs else ()
        match = match_position(action, named, self.open, replied)
        if match.outcome == "ambiguous":
            # the open positions a partial description fits are listed by name
            extra = {"candidates": [self.open[c].label for c in match.candidates]} if match.by == "fit" else {}
            self.problem("ambiguous", match.reason or "", alert, signal, **extra)
            return
        key = match.contract
        if key is None and action in ("open", "add") and named.ticker:
            key = named  # a new position (an add without one is still an order to buy)
        if key is None:
            self.problem("unmatched", match.reason or "", alert, signal)
            return
        key = self.keys.setdefault(key, key)
        known = self.contracts.get(alert.source_id, ())
        if key not in known:
            self.contracts[alert.source_id] = (*known, key)
        if action in ("open", "add") and key not in self.open and (legs or key not in self.details):
            # how the next position on this contract opens: as the latest alert that named it in full said
            self.details[key] = (str(signal.get("instrument") or named.kind), legs, *opening_direction(signal))

        price = paper_price(signal)
        if price is None:
            self.problem("no_price", f"{action} without a price: not followed", alert, signal)
            return
        if action in ("open", "add"):
            self._buy(alert, signal, key, action, price, bool(legs))
        else:
            self._sell(alert, signal, key, action, price)

    def _own(self, key: Contract) -> Position | None:
        """The open position on `key`, safe to change: a fork's first change to a borrowed one copies it."""
        position = self.open.get(key)
        if position is not None and key in self.borrowed:
            self.borrowed.discard(key)
            position = self.open[key] = position.copy()
        return position

    def _buy(
        self, alert: AlertVersion, signal: dict[str, Any], key: Contract, action: str, price: float, named: bool
    ) -> None:
        instrument, legs, direction, assumed = self.details[key]
        position = self._own(key)
        if position is not None and named and opening_direction(signal)[0] != position.direction:
            self.problem("conflicting_open", f"{action} on the opposite side of an open position", alert, signal)
            return
        if position is None:
            position = self.open[key] = Position(key, instrument, legs, direction, alert)
            expiry = expires(key)
            if expiry is not None:
                self.pushed += 1
                heappush(self.expiring, (expiry, self.pushed, key, alert))
            if assumed:
                position.assumed.append(assumed)
            if action == "add":
                position.assumed.append("opened by an add")
        quantity, assumed_quantity = paper_entry_quantity(signal.get("quantity"))
        if assumed_quantity and "quantity" not in position.assumed:
            position.assumed.append("quantity")
        position.buy(action, quantity, price, alert)

    def _sell(self, alert: AlertVersion, signal: dict[str, Any], key: Contract, action: str, price: float) -> None:
        position = self._own(key)
        if position is None:
            self.problem("unmatched", f"{action} of a position that is not open", alert, signal)
            return
        amount = paper_exit_quantity(action, position.quantity, signal.get("fraction"), signal.get("quantity"),
                                     size_assumed="quantity" in position.assumed)  # fmt: skip
        if isinstance(amount, Refusal):
            self.problem("ambiguous", amount.reason, alert, signal)
            return
        fill = position.sell(action, amount, price, alert)
        realized = fill.realized or 0.0
        self.realized += realized
        ticker = key.ticker or ""
        self.by_ticker[ticker] = self.by_ticker.get(ticker, 0.0) + realized
        day = alert.posted.astimezone(NEW_YORK).date().isoformat()
        self.by_day[day] = self.by_day.get(day, 0.0) + realized
        self.exits.append((position, fill, self.realized))
        if position.quantity == 0:
            del self.open[key]
            self.close(position)


__all__ = ["Book", "EXPIRED", "LATE_EDIT", "LISTING", "Message", "Problem", "Replies", "SUMMARY_EQUITY_POINTS",
           "SUMMARY_PROBLEMS", "SUMMARY_TRADES", "expires", "json_bytes"]  # fmt: skip
