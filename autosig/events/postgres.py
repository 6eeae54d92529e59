"""The Postgres event store: the same streams, records, keys, chain and exact line bytes as the file store, in a table.

This is how two Railway services share one log (a volume mounts in one service only). Design points:

- Rows are (stream, seq, key, line): `line` holds the exact bytes built by `record.encode`, so `autosig export`
  output is byte-identical to the file store's, and the chain is checked on those bytes, never on a re-serialization.
- Appends to a stream are serialized by a transaction-level advisory lock per (schema, stream), taken before the head
  is read, so seq order equals commit order: seq N+1 cannot be written before seq N has committed, and a reader that
  follows by seq never skips a row that commits later.
- One transaction per `append_many`; `pg_notify` inside it is delivered only on commit, which wakes tailers (LISTEN),
  who still poll by seq as a backstop.
- Connections are re-opened after a loss. When a commit's outcome is unknown (the connection died during COMMIT), the
  store looks at the rows it meant to write before appending anything again, so a retried append never appends twice.
  When the database stays unreachable, writes raise StoreError (the worker records `poll.failed` reason `store`).
- `fsync` maps to `synchronous_commit`: on (the commit is durable in the WAL before append returns) or off (a crash
  may lose the last commits, but never half of one).

URL options (query parameters of the store URL, removed before connecting, so child processes can be handed one URL):
`schema` (default `public`), `lease_seconds` (fixes every lease's length; otherwise each holder says how long),
`tail_poll_seconds`, `connect_timeout` (a libpq parameter, kept). Leases and data kept beside the streams: see
_pg_leases.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

try:
    import psycopg
except ImportError:  # pragma: no cover - depends on the installation
    raise ImportError(
        "AUTOSIG_STORE_URL names a Postgres database, which needs psycopg: pip install 'psycopg[binary]>=3.1' "
        "(the postgres extra of AutoSig)"
    ) from None

from autosig.clock import Clock, rfc3339
from autosig.events import pg_schema
from autosig.events._pg_leases import PgLeases
from autosig.events._pg_reading import PgReading
from autosig.events.base import AppendItem, EventStore, StoreError, default_meta
from autosig.events.record import ZERO_HASH, Event, RecordError, decode, encode, line_hash_ok, split_hash
from autosig.redact import redact_url

# Reconnect attempts inside one call before giving up with StoreError; the caller (the worker) backs off for longer.
_RETRY_DELAYS = (0.2, 1.0)
_OWN_PARAMS = ("schema", "lease_seconds", "tail_poll_seconds")


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """Separates AutoSig's own query parameters from what libpq understands (libpq rejects unknown ones)."""
    parts = urlsplit(url)
    ours: dict[str, str] = {}
    kept: list[tuple[str, str]] = []
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k in _OWN_PARAMS:
            ours[k] = v
        else:
            kept.append((k, v))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment)), ours


class _Pending:
    """An append whose COMMIT outcome is unknown: what was asked and the rows it would have written."""

    __slots__ = ("items", "results", "new")

    def __init__(self, items: list[AppendItem], results: list[Event], new: list[Event]) -> None:
        self.items = items
        self.results = results
        self.new = new


class PostgresStore(PgReading, EventStore):
    def __init__(
        self,
        url: str,
        *,
        writer: str = "autosig",
        fsync: bool = True,
        schema: str | None = None,
        lease_seconds: float | None = None,
        tail_poll_seconds: float | None = None,
        clock: Clock | None = None,
        connect_timeout: int = 5,
    ) -> None:
        conninfo, ours = split_url(url)
        self.url = url
        self._conninfo = conninfo
        self._password = urlsplit(conninfo).password or ""
        self.schema = pg_schema.check_schema_name(schema or ours.get("schema") or "public")
        self._s = pg_schema.quoted(self.schema)
        self._table = f"{self._s}.autosig_events"
        self.channel = f"autosig_{self.schema}"
        self.writer = writer
        self.fsync = fsync
        fixed = lease_seconds or ours.get("lease_seconds")
        self.lease_seconds = float(fixed) if fixed else None
        self.tail_poll_seconds = float(tail_poll_seconds or ours.get("tail_poll_seconds") or 0.5)
        self.clock = clock or Clock()
        self._connect_timeout = connect_timeout
        self._migrated = False
        self._pid = os.getpid()
        # A psycopg connection serves one transaction at a time: one for writes, one for reads, one per tail().
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._wconn: psycopg.Connection | None = None
        self._rconn: psycopg.Connection | None = None
        self._pending: dict[str, _Pending] = {}
        self._orphans: list[psycopg.Connection] = []
        self._closed = False
        self._leases = PgLeases(self.schema, lambda autocommit: self._connect(autocommit=autocommit), self._error,
                                self.lease_seconds)  # fmt: skip

    # ------------------------------------------------------------------ connections

    def _error(self, exc: BaseException, doing: str) -> StoreError:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if self._password:
            message = message.replace(self._password, "***")
        return StoreError(f"Postgres store {redact_url(self._conninfo)}: {doing} failed: {message}")

    def _connect(self, *, autocommit: bool) -> psycopg.Connection:
        conn = psycopg.connect(
            self._conninfo,
            autocommit=autocommit,
            connect_timeout=self._connect_timeout,
            # Names the schema first so an operator (or a test) can find this store's sessions in pg_stat_activity.
            application_name=f"autosig[{self.schema}] {self.writer}"[:63],
            # Notice a vanished peer (a container gone without a FIN) within about half a minute.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
        conn.execute("SET synchronous_commit = " + ("on" if self.fsync else "off"))
        if not autocommit:
            conn.commit()
        if not self._migrated:
            self._migrate(conn)
        return conn

    def _migrate(self, conn: psycopg.Connection) -> None:
        was = conn.autocommit
        if not was:
            conn.commit()
            conn.autocommit = True
        try:
            pg_schema.migrate(conn, self.schema)
        finally:
            if not was:
                conn.autocommit = False
        self._migrated = True

    def _check_fork(self) -> None:
        # A connection opened before a fork (gunicorn --preload) must never be used by two processes. Dropping the
        # references without closing keeps the parent's session intact (closing would send Terminate on its socket).
        if os.getpid() != self._pid:
            self._orphans = [c for c in (self._wconn, self._rconn) if c is not None]
            self._wconn = self._rconn = None
            self._pid = os.getpid()

    def _writer_conn(self) -> psycopg.Connection:
        self._check_fork()
        if self._closed:
            raise StoreError("the store is closed")
        if self._wconn is None or self._wconn.closed:
            self._wconn = self._connect(autocommit=False)
        return self._wconn

    def _drop(self, conn: psycopg.Connection | None) -> None:
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - the connection is already broken; closing is best effort
                pass

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """A read on the shared autocommit connection; reads are idempotent, so a lost connection is simply retried."""
        for attempt in range(len(_RETRY_DELAYS) + 1):
            with self._read_lock:
                self._check_fork()
                try:
                    if self._closed:
                        raise StoreError("the store is closed")
                    if self._rconn is None or self._rconn.closed:
                        self._rconn = self._connect(autocommit=True)
                    return self._rconn.execute(sql, params).fetchall()
                except psycopg.OperationalError as exc:
                    self._drop(self._rconn)
                    self._rconn = None
                    if attempt == len(_RETRY_DELAYS):
                        raise self._error(exc, "reading") from None
                    error = exc
                except psycopg.Error as exc:
                    if self._schema_dropped(exc):
                        self._drop(self._rconn)
                        self._rconn = None
                    raise self._error(exc, "reading") from None
            time.sleep(_RETRY_DELAYS[attempt])
        raise self._error(error, "reading")  # pragma: no cover - the loop always returns or raises

    def _schema_dropped(self, exc: psycopg.Error) -> bool:
        """The tables vanished under us (a restore dropped the schema): the next connection migrates again."""
        if isinstance(exc, psycopg.errors.UndefinedTable):
            self._migrated = False
            return True
        return False

    # ------------------------------------------------------------------ appends

    def append_many(self, stream: str, items: Iterable[AppendItem]) -> list[Event]:
        batch = [(t, d, m, k) for t, d, m, k in items]
        if not batch:
            return []
        with self._write_lock:
            for attempt in range(len(_RETRY_DELAYS) + 1):
                conn = None
                try:
                    conn = self._writer_conn()
                    pending = self._pending.pop(stream, None)
                    if pending is not None:
                        committed = self._committed(conn, stream, pending)
                        if committed and pending.items == batch:
                            # The caller retries the append whose commit we could not confirm: it did commit.
                            return pending.results
                    return self._append_tx(conn, stream, batch)
                except psycopg.OperationalError as exc:
                    self._drop(conn)
                    self._wconn = None
                    if attempt == len(_RETRY_DELAYS):
                        raise self._error(exc, "appending") from None
                except psycopg.Error as exc:
                    # Refused by the database (read-only standby, a dropped table, …): a store failure the worker
                    # reports as such and retries, never a crash. The transaction was rolled back.
                    if self._schema_dropped(exc):
                        self._drop(conn)
                        self._wconn = None
                    raise self._error(exc, "appending") from None
                time.sleep(_RETRY_DELAYS[attempt])
        raise AssertionError("unreachable")  # pragma: no cover

    def _committed(self, conn: psycopg.Connection, stream: str, pending: _Pending) -> bool:
        """Whether the rows of an append with an unknown outcome are in the table (a transaction is all or nothing,
        so its first new row decides). Its event ids are random, so equal bytes mean it is that very append."""
        if not pending.new:
            return True
        first = pending.new[0]
        row = conn.execute(
            f"SELECT line FROM {self._table} WHERE stream = %s AND seq = %s", (stream, first.seq)
        ).fetchone()
        conn.commit()
        return row is not None and bytes(row[0]) == first.line

    def _append_tx(self, conn: psycopg.Connection, stream: str, batch: list[AppendItem]) -> list[Event]:
        committing = False
        results: list[Event] = []
        new: list[Event] = []
        try:
            keys = sorted({k for _, _, _, k in batch if k is not None})
            # The lock first; then, under it and each in a fresh READ COMMITTED snapshot, the known keys and the
            # latest committed head. (Not pipelined: a pipeline broken by a lost connection logs noise on exit.)
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (pg_schema.lock_key(self.schema, stream),))
            key_cur = (
                conn.execute(f"SELECT key, line FROM {self._table} WHERE stream = %s AND key = ANY(%s)", (stream, keys))
                if keys
                else None
            )
            head_cur = conn.execute(
                f"SELECT seq, line FROM {self._table} WHERE stream = %s ORDER BY seq DESC LIMIT 64", (stream,)
            )
            known: dict[str, Event] = {}
            if key_cur is not None:
                for key, line in key_cur.fetchall():
                    known[key] = decode(bytes(line))
            seq, prev = _chain_head(stream, head_cur.fetchall())
            base_meta = default_meta(self.writer)
            for type_, data, meta, key in batch:
                if key is not None and key in known:
                    results.append(known[key])
                    continue
                seq += 1
                full_meta = {**base_meta, **meta} if meta else base_meta
                event = encode(seq, str(uuid.uuid4()), type_, key, rfc3339(self.clock.time()), data, full_meta, prev)
                prev = event.hash
                new.append(event)
                results.append(event)
                if key is not None:
                    known[key] = event
            if new:
                # %b: the arrays travel in binary, with no text escaping of every line's bytes. The notification
                # is delivered to listeners only when (and if) the transaction commits.
                conn.execute(
                    f"WITH ins AS (INSERT INTO {self._table} (stream, seq, key, line)"
                    " SELECT %s, * FROM unnest(%b::bigint[], %b::text[], %b::bytea[]) RETURNING 1)"
                    " SELECT pg_notify(%s, %s), (SELECT count(*) FROM ins)",
                    (
                        stream,
                        [e.seq for e in new],
                        [e.key for e in new],
                        [e.line for e in new],
                        self.channel,
                        f"{stream}:{new[-1].seq}",
                    ),
                )
            committing = True
            conn.commit()
            return results
        except psycopg.OperationalError:
            if committing:
                self._pending[stream] = _Pending(batch, results, new)
            raise
        except BaseException:
            try:
                conn.rollback()
            except psycopg.Error:
                pass
            raise

    def import_lines(self, stream: str, lines: Iterable[bytes]) -> int:
        """Writes existing records exactly as they are (for `autosig copy`) into an empty stream, in one transaction.

        Every line must carry its own valid hash, seq 1, 2, 3 … and `prev` equal to the previous line's hash; the
        first problem raises StoreError and nothing is written. Returns the number of lines written."""
        with self._write_lock:
            conn = None
            try:
                conn = self._writer_conn()
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (pg_schema.lock_key(self.schema, stream),))
                row = conn.execute(f"SELECT count(*) FROM {self._table} WHERE stream = %s", (stream,)).fetchone()
                if row and row[0]:
                    raise StoreError(f"stream {stream} already has {row[0]} events; import needs an empty stream")
                count, prev = 0, ZERO_HASH
                with conn.cursor().copy(f"COPY {self._table} (stream, seq, key, line) FROM STDIN") as copy:
                    for raw in lines:
                        line = raw if raw.endswith(b"\n") else raw + b"\n"
                        try:
                            event = decode(line)
                            ok = line_hash_ok(line)
                        except RecordError as exc:
                            raise StoreError(f"stream {stream} line {count + 1}: {exc}") from None
                        if not ok or event.seq != count + 1 or event.prev != prev:
                            raise StoreError(
                                f"stream {stream} line {count + 1}: "
                                + (
                                    "hash mismatch"
                                    if not ok
                                    else "seq not contiguous"
                                    if event.seq != count + 1
                                    else "prev does not match the previous hash"
                                )
                            )
                        copy.write_row((stream, event.seq, event.key, line))
                        count += 1
                        prev = event.hash
                if count:
                    conn.execute("SELECT pg_notify(%s, %s)", (self.channel, f"{stream}:{count}"))
                conn.commit()
                return count
            except psycopg.OperationalError as exc:
                self._drop(conn)
                self._wconn = None
                raise self._error(exc, "importing") from None
            except BaseException as exc:
                if conn is not None and not conn.closed:
                    conn.rollback()
                if isinstance(exc, psycopg.Error):
                    raise self._error(exc, "importing") from None
                raise

    # ------------------------------------------------------------------ leases, and what is kept beside the streams

    def try_acquire_lease(self, name: str, holder: str, seconds: float = 30.0) -> str | None:
        return self._leases.try_acquire(name, holder, seconds)

    def lease_seconds_left(self, name: str) -> float:
        return self._leases.seconds_left(name)

    def release_lease(self, name: str) -> None:
        self._leases.release(name)

    def read_aside(self, name: str) -> bytes | None:
        return self._leases.read_aside(name)

    def write_aside(self, name: str, data: bytes, *, private: bool = False) -> None:
        self._leases.write_aside(name, data)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        if self._closed:
            return
        # Like the file store's flock, which the kernel drops with the file: closing the store gives up the lease, so
        # a redeploy's new worker takes over at once instead of waiting for expiry.
        self._leases.release_all()
        self._closed = True
        with self._write_lock:
            self._drop(self._wconn)
            self._wconn = None
        with self._read_lock:
            self._drop(self._rconn)
            self._rconn = None

    def __repr__(self) -> str:
        return f"PostgresStore({redact_url(self._conninfo)!r}, schema={self.schema!r})"


def _chain_head(stream: str, rows: list[tuple[Any, ...]]) -> tuple[int, str]:
    """(last seq, hash to chain from) from the newest rows, newest first. Like the file store, the chain continues
    from the hash the last row states even when the rest of it is damaged; a corrupt row stays where it is."""
    if not rows:
        return 0, ZERO_HASH
    for _, line in rows:
        try:
            return int(rows[0][0]), split_hash(bytes(line))[1]
        except RecordError:
            continue
    raise StoreError(f"stream {stream}: none of the last {len(rows)} events states a hash to chain from")
