"""The Postgres store's named leases and the data it keeps beside the streams.

Exclusive leases (worker, executor) are rows that expire unless renewed, decided by the database's clock so the
clocks of different containers do not matter: a session lock could outlive a vanished container. The best-effort
lease (the notification sender's election) is a session-level advisory lock on a connection of its own, dropped by
the server when that connection ends; a holder whose connection broke stops and competes again. A vanished
container may keep such a session alive for a while, which costs only a delayed notification.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from autosig.clock import rfc3339
from autosig.events import pg_schema
from autosig.events.base import BEST_EFFORT_LEASES, StoreError, check_aside_name, check_lease_name

_RETRY_DELAYS = (0.2, 1.0)


class PgLeases:
    """Leases of one PostgresStore object; `connect(autocommit)` opens a connection to its database."""

    def __init__(
        self,
        schema: str,
        connect: Callable[[bool], psycopg.Connection],
        error: Callable[[BaseException, str], StoreError],
        fixed_seconds: float | None,
    ) -> None:
        s = pg_schema.quoted(schema)
        self._schema = schema
        self._table = f"{s}.autosig_leases"
        self._connect = connect
        self._error = error
        self.fixed_seconds = fixed_seconds  # a store option (tests shorten leases); else what each caller asks
        self._token = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._held: dict[str, float] = {}  # exclusive lease -> monotonic time until which it is surely ours
        self._sessions: dict[str, psycopg.Connection] = {}  # best-effort lease -> the connection holding its lock
        self._pid = os.getpid()

    def _check_fork(self) -> None:
        # Connections opened before a fork are the parent's: drop the references without closing them.
        if os.getpid() != self._pid:
            self._conn, self._held, self._sessions, self._pid = None, {}, {}, os.getpid()

    def _query(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        for attempt in range(len(_RETRY_DELAYS) + 1):
            with self._lock:
                self._check_fork()
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = self._connect(True)
                    cur = self._conn.execute(sql, params)
                    return cur.fetchall() if cur.description else []
                except psycopg.OperationalError:
                    _close(self._conn)
                    self._conn = None
                    if attempt == len(_RETRY_DELAYS):
                        raise
            time.sleep(_RETRY_DELAYS[attempt])
        return []  # pragma: no cover

    def try_acquire(self, name: str, holder: str, seconds: float) -> str | None:
        check_lease_name(name)
        if name in BEST_EFFORT_LEASES:
            return self._try_session_lock(name)
        secs = self.fixed_seconds or seconds
        began = time.monotonic()
        try:
            rows = self._query(
                f"INSERT INTO {self._table} AS l (name, token, holder, host, pid, since, renewed_at, expires_at)"
                " VALUES (%(name)s, %(token)s, %(holder)s, %(host)s, %(pid)s, now(), now(),"
                " now() + make_interval(secs => %(secs)s))"
                " ON CONFLICT (name) DO UPDATE SET"
                " since = CASE WHEN l.token = EXCLUDED.token THEN l.since ELSE EXCLUDED.since END,"
                " token = EXCLUDED.token, holder = EXCLUDED.holder, host = EXCLUDED.host, pid = EXCLUDED.pid,"
                " renewed_at = EXCLUDED.renewed_at, expires_at = EXCLUDED.expires_at"
                " WHERE l.token = EXCLUDED.token OR l.expires_at < now()"
                " RETURNING token",
                {
                    "name": name,
                    "token": self._token,
                    "holder": holder,
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "secs": secs,
                },
            )
            if rows:
                # Counted from before the statement was sent: the row expires `secs` after the database's now(),
                # which is no earlier than that.
                self._held[name] = began + secs
                return None
            self._held.pop(name, None)
            current = self._query(
                f"SELECT holder, host, pid, since, expires_at - now() FROM {self._table} WHERE name = %(name)s",
                {"name": name},
            )
        except psycopg.Error as exc:
            raise self._error(exc, f"taking the {name} lease") from None
        if not current:  # released between the two statements: try again next call
            return f"another {name} (the lease changed hands just now)"
        holder_text, host, pid, since, left = current[0]
        seconds_left = max(0, int(left.total_seconds())) if left is not None else 0
        return (
            f"{holder_text} (host {host}, pid {pid}, since {rfc3339(since)}; "
            f"its lease expires in {seconds_left} s unless renewed)"
        )

    def _try_session_lock(self, name: str) -> str | None:
        self._check_fork()
        conn = self._sessions.get(name)
        key = pg_schema.lock_key(self._schema, f"{name}-lease")
        try:
            if conn is not None:
                conn.execute("SELECT 1")  # still connected, so still holding the session lock
                return None
            conn = self._connect(True)
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if row and row[0]:
                self._sessions[name] = conn
                return None
            _close(conn)
            return f"another process holds the {name} lease"
        except psycopg.Error as exc:
            _close(self._sessions.pop(name, None) or conn)
            raise self._error(exc, f"taking the {name} lease") from None

    def seconds_left(self, name: str) -> float:
        self._check_fork()
        if name in self._sessions:
            return float("inf")
        until = self._held.get(name)
        return max(0.0, until - time.monotonic()) if until is not None else 0.0

    def release(self, name: str) -> None:
        self._check_fork()
        conn = self._sessions.pop(name, None)
        if conn is not None:
            _close(conn)  # ending the session releases the advisory lock
            return
        if self._held.pop(name, None) is None:
            return
        try:
            self._query(
                f"DELETE FROM {self._table} WHERE name = %(name)s AND token = %(token)s",
                {"name": name, "token": self._token},
            )
        except psycopg.Error:
            pass  # an unreleased lease simply expires

    def release_all(self) -> None:
        for name in [*self._held, *self._sessions]:
            self.release(name)
        with self._lock:
            _close(self._conn)
            self._conn = None

    # --- data kept beside the streams ----------------------------------------------------------------------------

    def read_aside(self, name: str) -> bytes | None:
        check_aside_name(name)
        try:
            rows = self._query(
                f"SELECT data FROM {pg_schema.quoted(self._schema)}.autosig_aside WHERE name = %(name)s",
                {"name": name},
            )
        except psycopg.Error as exc:
            raise self._error(exc, f"reading {name}") from None
        return bytes(rows[0][0]) if rows else None

    def write_aside(self, name: str, data: bytes) -> None:
        check_aside_name(name)
        try:
            self._query(
                f"INSERT INTO {pg_schema.quoted(self._schema)}.autosig_aside (name, data, updated_at)"
                " VALUES (%(name)s, %(data)s, now())"
                " ON CONFLICT (name) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at",
                {"name": name, "data": data},
            )
        except psycopg.Error as exc:
            raise self._error(exc, f"writing {name}") from None


def _close(conn: psycopg.Connection | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - the connection is already broken; closing is best effort
            pass
