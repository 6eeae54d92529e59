"""What the paper ledger remembers of every alert: each recorded version and each parse, in a private SQLite database.

Why not in memory: the ledger must be able to replay the whole history (an old alert parsed late, a switch of the
active parser version), so it keeps it; at a million alerts that is about 850 MB as Python objects, more than a web
process may use. A private temporary SQLite database ("" as the file name: on disk, deleted when closed) holds it
in a bounded page cache and reads it back in posting order from an index. Nothing else opens it and nothing in it
outlives the process: it is the ledger's data structure, not a store, so the ledger stays a pure function of the
events applied to it.

Times are kept as integer microseconds since the epoch; a message's place in the replay ("order") is
(first version's posting time, first version's seq). Strings are kept as UTF-8 blobs with lone surrogates passed
through: alert text is written by strangers and is kept verbatim, which SQLite's TEXT cannot promise.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from autosig.clock import rfc3339

CACHE_KIB = 8 * 1024  # SQLite's page cache: all the memory the history uses, however long it grows
COMMIT_EVERY = 10_000  # writes per transaction: one per write would cost twice the time
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

Order = tuple[int, int]  # (posting time in microseconds, first seq)
NO_ORDER: Order = (-(2**62), 0)  # before every message

_SCHEMA = (
    "CREATE TABLE versions (seq INTEGER PRIMARY KEY, source BLOB NOT NULL, posted INTEGER NOT NULL,"
    " edited INTEGER NOT NULL, text BLOB, reply_to BLOB)",
    "CREATE INDEX versions_source ON versions (source, seq)",
    "CREATE TABLE messages (source BLOB PRIMARY KEY, posted INTEGER NOT NULL, first_seq INTEGER NOT NULL)"
    " WITHOUT ROWID",
    "CREATE INDEX messages_order ON messages (posted, first_seq)",
    "CREATE TABLE parses (version BLOB NOT NULL, seq INTEGER NOT NULL, signals BLOB NOT NULL,"
    " PRIMARY KEY (version, seq)) WITHOUT ROWID",
    # source -> the contracts its signals resolved to in the settled book (for replies to it), as JSON
    "CREATE TABLE replies (source BLOB PRIMARY KEY, keys BLOB NOT NULL) WITHOUT ROWID",
)
_VERSION_COLUMNS = "v.seq, v.source, v.posted, v.edited, v.text, v.reply_to, p.signals"
_MESSAGES_AFTER = (
    f"SELECT m.posted, m.first_seq, {_VERSION_COLUMNS} FROM messages m JOIN versions v ON v.source = m.source"
    " LEFT JOIN parses p ON p.version = ? AND p.seq = v.seq"
    " WHERE (m.posted, m.first_seq) > (?, ?) ORDER BY m.posted, m.first_seq, v.seq"
)
_VERSIONS_OF = (
    f"SELECT {_VERSION_COLUMNS} FROM versions v LEFT JOIN parses p ON p.version = ? AND p.seq = v.seq"
    " WHERE v.source = ? ORDER BY v.seq"
)


def _blob(text: str | None) -> bytes | None:
    return None if text is None else text.encode("utf-8", "surrogatepass")


def _text(blob: bytes | None) -> str | None:
    return None if blob is None else blob.decode("utf-8", "surrogatepass")


def micros(when: datetime) -> int:
    return (when - _EPOCH) // _MICROSECOND


def moment(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


@dataclass(slots=True)
class AlertVersion:
    """One recorded version of a message (alert.received or alert.edited), reduced to what the ledger reads."""

    raw_seq: int
    source_id: str
    posted: datetime  # this version's created_at (else when it was recorded)
    text: str | None
    reply_to: str | None
    edited: datetime  # Whop's updated_at, else when it was recorded (decides whether an edit is in time)

    def view(self) -> dict[str, Any]:
        return {"raw_seq": self.raw_seq, "source_id": self.source_id, "created_at": rfc3339(self.posted),
                "text": self.text}  # fmt: skip


Parsed = tuple[AlertVersion, bytes | None]  # a version and its signals (JSON) by the asked parser version, if any


def _parsed(row: tuple[Any, ...]) -> Parsed:
    seq, source, posted, edited, text, reply_to, signals = row
    at = moment(posted)
    edited_at = at if edited == posted else moment(edited)
    return AlertVersion(
        seq, source.decode("utf-8", "surrogatepass"), at, _text(text), _text(reply_to), edited_at
    ), signals


class History:
    """Alert versions, parses by every parser version, and the settled book's reply table."""

    def __init__(self) -> None:
        self._db = self._connect()
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._writes = 0

    @staticmethod
    def _connect() -> sqlite3.Connection:
        # One thread at a time uses a ledger (its owner's lock), though not always the same thread.
        db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        # a private temporary database: nothing to recover after a crash, so no journal and no fsync
        for pragma in ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{CACHE_KIB}"):
            db.execute(f"PRAGMA {pragma}")
        return db

    def __deepcopy__(self, memo: dict[int, Any]) -> History:
        # time travel copies whole projections to resume from them
        self._commit()
        other = History.__new__(History)
        other._db = self._connect()
        other._writes = 0
        self._db.backup(other._db)
        return other

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        """Runs a write in the open batch transaction; returns the rows changed."""
        if not self._db.in_transaction:
            self._db.execute("BEGIN")
        changed = self._db.execute(sql, params).rowcount
        self._writes += 1
        if self._writes >= COMMIT_EVERY:
            self._commit()
        return changed

    def _commit(self) -> None:
        if self._db.in_transaction:
            self._db.execute("COMMIT")
        self._writes = 0

    # --- versions and messages -------------------------------------------------------------------------------

    def add_version(self, alert: AlertVersion) -> bool:
        """Records a version; False when its seq is already recorded."""
        posted, seq, source = micros(alert.posted), alert.raw_seq, _blob(alert.source_id)
        edited = posted if alert.edited == alert.posted else micros(alert.edited)
        added = self._write("INSERT OR IGNORE INTO versions VALUES (?, ?, ?, ?, ?, ?)",
                            (seq, source, posted, edited, _blob(alert.text), _blob(alert.reply_to)))  # fmt: skip
        if added:
            # the first version places the message (an older one can be recorded later when streams are read
            # out of order)
            self._write("INSERT INTO messages VALUES (?, ?, ?) ON CONFLICT (source) DO UPDATE"
                        " SET posted = excluded.posted, first_seq = excluded.first_seq"
                        " WHERE excluded.first_seq < messages.first_seq", (source, posted, seq))  # fmt: skip
        return bool(added)

    def order(self, source: str) -> Order | None:
        row = self._db.execute("SELECT posted, first_seq FROM messages WHERE source = ?", (_blob(source),)).fetchone()
        return None if row is None else (row[0], row[1])

    def source_of(self, seq: int) -> str | None:
        row = self._db.execute("SELECT source FROM versions WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else _text(row[0])

    def versions(self, source: str, parser_version: str) -> list[Parsed]:
        """The versions of a message in seq order, each with its parse by `parser_version` (or None)."""
        return [_parsed(row) for row in self._db.execute(_VERSIONS_OF, (_blob(parser_version), _blob(source)))]

    def messages_after(self, after: Order, parser_version: str) -> Iterator[tuple[Order, list[Parsed]]]:
        """Every message placed after `after`, in posting order, with its versions (see versions()). Streamed: a
        replay of the whole history holds one message at a time."""
        order: Order | None = None
        versions: list[Parsed] = []
        for row in self._db.execute(_MESSAGES_AFTER, (_blob(parser_version), *after)):
            place = (row[0], row[1])
            if place != order:
                if order is not None:
                    yield order, versions
                order, versions = place, []
            versions.append(_parsed(row[2:]))
        if order is not None:
            yield order, versions

    # --- parses ----------------------------------------------------------------------------------------------

    def set_parse(self, parser_version: str, seq: int, signals: bytes) -> bool:
        """Records a parse; True when that version had parsed that seq before (the new one replaces it)."""
        version = _blob(parser_version)
        if self._write("INSERT OR IGNORE INTO parses VALUES (?, ?, ?)", (version, seq, signals)):
            return False
        self._write("UPDATE parses SET signals = ? WHERE version = ? AND seq = ?", (signals, version, seq))
        return True

    # --- the settled book's replies ----------------------------------------------------------------------------

    def reply_keys(self, source: str) -> bytes | None:
        row = self._db.execute("SELECT keys FROM replies WHERE source = ?", (_blob(source),)).fetchone()
        return None if row is None else row[0]

    def set_reply_keys(self, source: str, keys: bytes) -> None:
        self._write("INSERT OR REPLACE INTO replies VALUES (?, ?)", (_blob(source), keys))

    def clear_replies(self) -> None:
        self._write("DELETE FROM replies", ())


__all__ = ["AlertVersion", "History", "NO_ORDER", "Order", "Parsed", "micros"]
