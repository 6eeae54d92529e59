"""The Postgres store's read side: events by seq, keys by prefix, exact lines, the head; mixed into PostgresStore,
which provides `_query` (a read on its shared autocommit connection, retried after a lost connection) and `_table`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from autosig.events.base import Problem, ProblemHandler
from autosig.events.record import Event, RecordError, decode
from autosig.schema import STREAMS

PAGE = 1000


class PgReading:
    _table: str
    _query: Callable[..., list[tuple[Any, ...]]]

    def _decode_row(self, stream: str, seq: int, line: bytes, on_problem: ProblemHandler | None) -> Event | None:
        try:
            event = decode(line)
            if event.seq != seq:
                raise RecordError(f"record says seq {event.seq} in row seq {seq}")
            return event
        except RecordError as exc:
            if on_problem is None:
                raise RecordError(f"{stream} seq {seq}: {exc}") from None
            on_problem(Problem(stream, seq, str(exc)))
            return None

    def read(
        self, stream: str, after: int = 0, limit: int | None = None, on_problem: ProblemHandler | None = None
    ) -> Iterator[Event]:
        last, left = after, limit
        while left is None or left > 0:
            page = PAGE if left is None else min(PAGE, left)
            rows = self._query(
                f"SELECT seq, line FROM {self._table} WHERE stream = %s AND seq > %s ORDER BY seq LIMIT %s",
                (stream, last, page),
            )
            for seq, line in rows:
                last = seq
                event = self._decode_row(stream, seq, bytes(line), on_problem)
                if event is not None:
                    yield event
                    if left is not None:
                        left -= 1
            if len(rows) < page:
                return

    def last_seq(self, stream: str) -> int:
        row = self._query(f"SELECT max(seq) FROM {self._table} WHERE stream = %s", (stream,))
        return int(row[0][0] or 0) if row else 0

    def head(self, stream: str) -> Event | None:
        """The last readable event: like the file store, an unreadable last row is stepped over, not raised."""
        rows = self._query(
            f"SELECT seq, line FROM {self._table} WHERE stream = %s ORDER BY seq DESC LIMIT 64", (stream,)
        )
        for seq, line in rows:
            event = self._decode_row(stream, seq, bytes(line), lambda problem: None)
            if event is not None:
                return event
        return None

    def get(self, stream: str, seq: int) -> Event | None:
        rows = self._query(f"SELECT seq, line FROM {self._table} WHERE stream = %s AND seq = %s", (stream, seq))
        return self._decode_row(stream, seq, bytes(rows[0][1]), lambda problem: None) if rows else None

    def keys(self, stream: str, prefix: str = "", after: int = 0) -> Iterator[tuple[int, str]]:
        # A bytewise range on the key (index autosig_events_key_bytes): every key >= prefix and < the next prefix.
        upper = _next_prefix(prefix)
        last = after
        while True:
            rows = self._query(
                f"SELECT seq, key FROM {self._table} WHERE stream = %s AND seq > %s"
                ' AND key COLLATE "C" >= %s' + (' AND key COLLATE "C" < %s' if upper is not None else "")
                + " ORDER BY seq LIMIT %s",
                (stream, last, prefix, *((upper,) if upper is not None else ()), PAGE * 10),
            )
            for seq, key in rows:
                yield int(seq), key
            if len(rows) < PAGE * 10:
                return
            last = int(rows[-1][0])

    def iter_lines(self, stream: str) -> Iterator[bytes]:
        last = 0
        while True:
            rows = self._query(
                f"SELECT seq, line FROM {self._table} WHERE stream = %s AND seq > %s ORDER BY seq LIMIT %s",
                (stream, last, PAGE),
            )
            for seq, line in rows:
                last = seq
                yield bytes(line)
            if len(rows) < PAGE:
                return

    def get_by_key(self, stream: str, key: str) -> Event | None:
        rows = self._query(f"SELECT line FROM {self._table} WHERE stream = %s AND key = %s", (stream, key))
        return decode(bytes(rows[0][0])) if rows else None

    def streams(self) -> list[str]:
        # A loose index scan over the primary key: one probe per distinct stream, however long the streams are.
        rows = self._query(
            f"WITH RECURSIVE s AS (SELECT min(stream) AS stream FROM {self._table}"
            f" UNION ALL SELECT (SELECT min(stream) FROM {self._table} WHERE stream > s.stream) FROM s"
            " WHERE s.stream IS NOT NULL) SELECT stream FROM s WHERE stream IS NOT NULL"
        )
        present = [r[0] for r in rows]
        return list(STREAMS) + sorted(s for s in present if s not in STREAMS)

    def tail(
        self,
        stream: str,
        after: int = 0,
        stop: threading.Event | None = None,
        on_problem: ProblemHandler | None = None,
        on_reset: Callable[[], None] | None = None,
    ) -> Iterator[Event]:
        from autosig.events._pg_tail import tail_table

        return tail_table(self, stream, after, stop, on_problem, on_reset)



def _next_prefix(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with `prefix` (None: no upper bound)."""
    chars = list(prefix)
    while chars:
        if ord(chars[-1]) < 0x10FFFF:
            chars[-1] = chr(ord(chars[-1]) + 1)
            return "".join(chars)
        chars.pop()
    return None
