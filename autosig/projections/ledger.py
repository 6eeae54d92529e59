"""The paper ledger: every alert followed at the alert's own prices (what DRY_RUN means), so a subscriber can judge
an alert service by its record rather than its claims.

Pure: apply() raw events (alert.received / alert.edited) and alert.parsed events in any interleaving; read methods
answer from a book built lazily, on the first read after a change, by replaying messages in the order they were
posted. Replaying rather than updating in place is what lets an edit (or a parse that arrives after its raw event)
correct what follows it without undo logic. Messages posted over `settle_seconds` before the newest are followed once
into a settled book; the newer ones, where such corrections still arrive, are replayed on a copy-on-write fork of it
after each change. Only a change to a settled message (a parse long after its alert, a switch of the active parser
version) replays everything, and `needs_replay` says so beforehand, so a host can do that off its lock.

Rules (each one a place where a follower could otherwise be misled). Those of contracts, matching, average cost and
sizing are autosig.trading's, which the executor follows too, so the ledger and AutoSig's own orders never disagree
about what an alert refers to:
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

This module is the projection (apply, settling, reads); _ledger_book replays messages into a book,
_ledger_positions keeps and renders its positions, ledger_history stores what was applied.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from autosig.clock import rfc3339
from autosig.events.record import Event
from autosig.projections._ledger_book import LATE_EDIT, LISTING, Book, Message, Problem, Replies, json_bytes
from autosig.projections._ledger_positions import MULTIPLIERS, rounded
from autosig.projections.ledger_history import AlertVersion, History, Order, Parsed, micros
from autosig.schema import ALERT_PARSED, RAW_TYPES, payload_of
from autosig.times import to_utc

DEFAULT_EDIT_GRACE_SECONDS = 900.0
# Messages posted within this long of the newest one are followed on a fork rebuilt after every change, since edits,
# late parses and other channels' older alerts still arrive for them; older ones are followed once, for good.
DEFAULT_SETTLE_SECONDS = 3600.0
_NO_SIGNALS = b"[]"
_NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)


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
        self._settled: Book | None = None  # None: replay everything on the next read
        self._book: Book | None = None  # what reads answer from, until the next change

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
        elif event.type == ALERT_PARSED:
            raw_seq = data.get("raw_seq")
            if type(raw_seq) is not int:
                return
            signals = data.get("signals") if data.get("kind") == "signal" else []
            signals = [s for s in signals if isinstance(s, dict)] if isinstance(signals, list) else []
            version = str(data.get("parser_version"))
            again = self._history.set_parse(version, raw_seq, json_bytes(signals) if signals else _NO_SIGNALS)
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

    def _listed_late_edit(self, settled: Book, source: str, seq: int) -> bool:
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
            # where a replay would list it: by message, then LISTING, late edits in seq order
            def rank(p: Problem) -> tuple[Order, int, int]:
                late = p.kind == "late_edit"
                return p.place, LISTING.get(p.kind, 2), p.extra["edit"].raw_seq if late else 0

            order = self._history.order(source)
            assert order is not None
            at = bisect_left(settled.problems, (order, LISTING["late_edit"], seq), key=rank)
            # (one older than every problem kept lands first and is trimmed with them, as in a replay)
            settled.add_problem(Problem("late_edit", LATE_EDIT, message.alert, None, {"edit": edit}, order), at)
        return True

    # --- replay -------------------------------------------------------------------------------------------------

    def _message(self, versions: list[Parsed]) -> Message | None:
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
        return Message(alert, orjson.loads(chosen[1]) if has_signals else [], late_edits)

    def _replayed(self) -> Book:
        """The book reads answer from: the settled one brought up to the settle horizon, plus a fork of it that
        follows the newer messages. Messages are read from the history in posting order — not recording order:
        channels are polled in turn, so one channel's older alert can be recorded after another's newer one."""
        if self._book is not None:
            return self._book
        settled = self._settled
        if settled is None:
            settled = self._settled = Book(Replies(self._history))
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
        return {ticker: rounded(total, 2) for ticker, total in sorted(self._replayed().by_ticker.items())}

    def pnl_by_day(self) -> dict[str, float]:
        """Realized P&L per America/New_York date of the alert that realized it (a trim or a close)."""
        return {day: rounded(total, 2) for day, total in sorted(self._replayed().by_day.items())}

    def win_rate(self) -> float | None:
        """Share of closed round trips with a positive P&L; None before the first one."""
        book = self._replayed()
        return book.outcomes["win"] / book.closed_count if book.closed_count else None

    def equity_curve(self, last: int | None = None) -> list[dict[str, Any]]:
        """Cumulative realized P&L after each of the newest exits (SUMMARY_EQUITY_POINTS, or the `last` ones), in
        posting order."""
        exits = list(self._replayed().exits)
        return [{"at": rfc3339(fill.alert.posted), "equity": rounded(equity, 2),
                 "realized": rounded(fill.realized or 0.0, 2), "ticker": position.key[0],
                 "contract": position.label,
                 "source_id": fill.alert.source_id}
                for position, fill, equity in exits[-last if last else 0:]]  # fmt: skip

    def problems(self) -> list[dict[str, Any]]:
        """The newest of what was not followed (SUMMARY_PROBLEMS), with the alert: unmatched, ambiguous, no_price,
        conflicting_open, late_edit."""
        return [problem.view() for problem in self._replayed().shown_problems()]

    def summary(self) -> dict[str, Any]:
        """Everything a ledger page or API needs, as one JSON-ready object."""
        book = self._replayed()
        return {
            "parser_version": self._version,
            "edit_grace_seconds": self.edit_grace_seconds,
            "multipliers": dict(MULTIPLIERS),
            "totals": {
                "realized": rounded(book.realized, 2),
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
