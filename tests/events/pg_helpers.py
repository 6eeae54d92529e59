"""Postgres test helpers: a private schema per test (so parallel sessions never share rows, locks or channels)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg


def with_params(url: str, **params: object) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update({k: str(v) for k, v in params.items()})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def new_schema_name() -> str:
    return "t_" + uuid.uuid4().hex[:16]


def drop_schema(pg_url: str, schema: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def schema_url(pg_url: str) -> Iterator[str]:
    """A URL naming a fresh schema; the schema is dropped afterwards."""
    schema = new_schema_name()
    try:
        yield with_params(pg_url, schema=schema)
    finally:
        drop_schema(pg_url, schema)


def terminate(pg_url: str, schema: str) -> int:
    """pg_terminate_backend on every session of the stores using `schema` (their application_name starts with
    `autosig[<schema>]`), never the caller's own; returns how many were terminated."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = current_database() AND application_name LIKE %s",
            (f"autosig[{schema}]%",),
        ).fetchall()
    return sum(1 for (ok,) in rows if ok)
