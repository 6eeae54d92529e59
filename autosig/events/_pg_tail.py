"""Following a Postgres stream: LISTEN/NOTIFY as the wake-up, reading by seq as the truth (and the backstop)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import psycopg

from autosig.events._pg_reading import PAGE
from autosig.events.base import ProblemHandler
from autosig.events.record import Event

if TYPE_CHECKING:
    from autosig.events.postgres import PostgresStore


def tail_table(
    store: PostgresStore,
    stream: str,
    after: int,
    stop: threading.Event | None,
    on_problem: ProblemHandler | None,
    on_reset: Callable[[], None] | None,
) -> Iterator[Event]:
    """Catches up by seq, then LISTENs; every wake-up (or poll interval) re-reads by seq from the last event.

    The row at the last yielded seq is re-read each time: if it is gone or its bytes changed (the table was
    re-created or re-copied), on_reset() is called and the stream is followed again from seq 1."""
    stop = stop or threading.Event()
    last_seq, last_line = after, None
    conn: psycopg.Connection | None = None
    backoff = 0.2
    prefix = f"{stream}:"
    try:
        while not stop.is_set():
            try:
                if conn is None:
                    conn = store._connect(autocommit=True)
                    # LISTEN before reading: a commit after this point wakes us, one before it is read below.
                    conn.execute(f'LISTEN "{store.channel}"')
                while not stop.is_set():
                    start = last_seq if last_seq > 0 else 1
                    rows = conn.execute(
                        f"SELECT seq, line FROM {store._table} WHERE stream = %s AND seq >= %s"
                        " ORDER BY seq LIMIT %s",
                        (stream, start, PAGE + 1),
                    ).fetchall()
                    if last_seq > 0:
                        if (
                            not rows
                            or rows[0][0] != last_seq
                            or (last_line is not None and bytes(rows[0][1]) != last_line)
                        ):
                            if on_reset is not None:
                                on_reset()
                            last_seq, last_line = 0, None
                            continue
                        last_line = bytes(rows[0][1])
                        rows = rows[1:]
                    for seq, line in rows:
                        data = bytes(line)
                        last_seq, last_line = seq, data
                        event = store._decode_row(stream, seq, data, on_problem)
                        if event is not None:
                            yield event
                        if stop.is_set():
                            return
                    if len(rows) < PAGE:
                        break
                backoff = 0.2
                for note in conn.notifies(timeout=store.tail_poll_seconds):
                    if note.payload.startswith(prefix) or stop.is_set():
                        break
            except (psycopg.OperationalError, psycopg.errors.UndefinedTable):
                # A lost connection, or a table dropped and about to be re-created (a restore): reconnect, which
                # re-runs the idempotent migration, and continue by seq (a changed row triggers on_reset).
                if conn is not None and not conn.closed:
                    store._migrated = False
                store._drop(conn)
                conn = None
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
    finally:
        store._drop(conn)

