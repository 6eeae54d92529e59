"""The Postgres store's schema: versioned, idempotent migrations applied on first use.

Several processes (web workers, the worker, `autosig reprocess`) may open a fresh database at the same moment, so
every migration runs inside one transaction that first takes a transaction-level advisory lock: the first process
applies the missing versions, the others wait, then find nothing left to do. DDL is transactional in Postgres, so a
migration that fails leaves no half-made schema behind.
"""

from __future__ import annotations

import hashlib
import re
import socket

import psycopg

from autosig.events.base import StoreError

# Version 1: the event table, the worker's lease table. Version 2: the event table refuses UPDATE and DELETE, so no code path
# can rewrite history by accident (an administrator can still disable the trigger deliberately).
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """
        CREATE TABLE {s}.autosig_events (
            stream text NOT NULL,
            seq bigint NOT NULL CHECK (seq > 0),
            key text,
            line bytea NOT NULL,
            PRIMARY KEY (stream, seq),
            UNIQUE (stream, key)
        )
        """,
        """
        CREATE TABLE {s}.autosig_worker_lease (
            name text PRIMARY KEY,
            token text NOT NULL,
            holder text NOT NULL,
            host text,
            pid integer,
            since timestamptz NOT NULL,
            renewed_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL
        )
        """,
    ],
    2: [
        """
        CREATE FUNCTION {s}.autosig_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'autosig_events is append-only: % refused', TG_OP;
        END
        $$
        """,
        """
        CREATE TRIGGER autosig_events_append_only BEFORE UPDATE OR DELETE ON {s}.autosig_events
        FOR EACH ROW EXECUTE FUNCTION {s}.autosig_events_append_only()
        """,
    ],
    # Version 3: leases of any name (worker, executor) in a table named for what it holds, the row of a running
    # worker carried over; data kept beside the streams (caches, credentials: never events); and the key column
    # indexed bytewise, so "every key starting with parse:" is a range scan whatever the database's collation.
    3: [
        """
        CREATE TABLE {s}.autosig_leases (
            name text PRIMARY KEY,
            token text NOT NULL,
            holder text NOT NULL,
            host text,
            pid integer,
            since timestamptz NOT NULL,
            renewed_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL
        )
        """,
        "INSERT INTO {s}.autosig_leases SELECT * FROM {s}.autosig_worker_lease",
        """
        CREATE TABLE {s}.autosig_aside (
            name text PRIMARY KEY,
            data bytea NOT NULL,
            updated_at timestamptz NOT NULL
        )
        """,
        'CREATE INDEX autosig_events_key_bytes ON {s}.autosig_events (stream, key COLLATE "C")',
    ],
}
LATEST = max(MIGRATIONS)

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")


class SchemaTooNew(StoreError):
    """The database was migrated by a newer AutoSig than this one."""


def check_schema_name(name: str) -> str:
    """Schema names are interpolated into SQL and into the NOTIFY channel, so only plain lowercase identifiers pass."""
    if not _SCHEMA_NAME.match(name):
        raise ValueError(f"schema {name!r} must be a lowercase identifier of at most 40 characters ([a-z0-9_])")
    return name


def quoted(schema: str) -> str:
    return '"' + check_schema_name(schema) + '"'


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit key for pg_advisory_*lock (Python's hash() differs between processes)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def current_version(conn: psycopg.Connection, schema: str) -> int:
    """0 when the schema has never been migrated. Does not take the migration lock (a cheap check for every open)."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{quoted(schema)}.autosig_schema_version",)).fetchone()
    if not row or not row[0]:
        return 0
    got = conn.execute(f"SELECT coalesce(max(version), 0) FROM {quoted(schema)}.autosig_schema_version").fetchone()
    return int(got[0]) if got else 0


def migrate(conn: psycopg.Connection, schema: str) -> list[int]:
    """Brings the schema to LATEST; returns the versions this call applied (empty when already current).

    `conn` must be in autocommit mode; each call is one transaction serialized by an advisory lock."""
    s = quoted(schema)
    if current_version(conn, schema) == LATEST:
        return []
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("autosig-migrate", schema),))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {s}.autosig_schema_version ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text)"
        )
        row = conn.execute(f"SELECT coalesce(max(version), 0) FROM {s}.autosig_schema_version").fetchone()
        have = int(row[0]) if row else 0
        if have > LATEST:
            raise SchemaTooNew(
                f"the database schema {schema} is at version {have}, newer than this AutoSig knows ({LATEST}); "
                "upgrade AutoSig"
            )
        for version in sorted(v for v in MIGRATIONS if v > have):
            for statement in MIGRATIONS[version]:
                conn.execute(statement.replace("{s}", s))
            conn.execute(
                f"INSERT INTO {s}.autosig_schema_version (version, applied_by) VALUES (%s, %s)",
                (version, socket.gethostname()),
            )
            applied.append(version)
    return applied
