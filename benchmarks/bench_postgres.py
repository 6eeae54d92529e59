"""The Postgres store against the file store, same machine, same run, same events: append throughput (one event per
transaction, and batches of 100; without and with durable commits), replay throughput, and tail wake latency (from
the writer's append returning to the event coming out of another store object's tail).

Needs AUTOSIG_TEST_DATABASE_URL; without it this benchmark returns no rows and says why. It works in a schema of its
own, dropped afterwards.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from autosig.events import EventStore, open_store
from benchmarks.bench_events import alert_body
from benchmarks.common import Row, percentile

GROUP = "events-pg"
SINGLE = 1500
DURABLE = 200
BATCHES = 30
BATCH = 100
TAIL_SAMPLES = 60


def _schema_url(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["schema"] = schema
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _items(n: int, offset: int) -> list[tuple]:
    return [("alert.received", alert_body(offset + i), None, f"whop:b{offset + i}:{offset + i:016x}") for i in range(n)]


def _rate(n: int, fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def _measure(store: EventStore, durable: EventStore) -> dict[str, float]:
    singles = _items(SINGLE, 0)
    out = {
        "append1": _rate(SINGLE, lambda: [store.append_many("raw", [it]) for it in singles]),
        "append100": _rate(
            BATCHES * BATCH,
            lambda: [store.append_many("raw", _items(BATCH, SINGLE + b * BATCH)) for b in range(BATCHES)],
        ),
    }
    durables = _items(DURABLE, 10**6)
    out["durable1"] = _rate(DURABLE, lambda: [durable.append_many("parsed", [it]) for it in durables])
    total = store.last_seq("raw")
    out["replay"] = statistics.median(_rate(total, lambda: sum(1 for _ in store.read("raw"))) for _ in range(3))
    return out


def _tail_latency(writer: EventStore, reader: EventStore) -> list[float]:
    """Seconds from append returning to the tail yielding it, one event at a time with pauses between."""
    seen: dict[int, float] = {}
    stop = threading.Event()
    start_seq = writer.last_seq("worker")

    def follow() -> None:
        for ev in reader.tail("worker", after=start_seq, stop=stop):
            seen[ev.seq] = time.perf_counter()

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    time.sleep(0.3)
    samples = []
    for i in range(TAIL_SAMPLES):
        ev = writer.append("worker", "poll.completed", {"new": i})
        appended = time.perf_counter()
        deadline = appended + 5
        while ev.seq not in seen and time.perf_counter() < deadline:
            time.sleep(0.0002)
        if ev.seq in seen:
            samples.append(seen[ev.seq] - appended)
        time.sleep(0.01)
    stop.set()
    thread.join(5)
    return samples


def run(args: object) -> list[Row]:
    url = os.environ.get("AUTOSIG_TEST_DATABASE_URL")
    if not url:
        print("bench_postgres: skipped, AUTOSIG_TEST_DATABASE_URL is not set", file=sys.stderr)
        return []
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:12]
    pg_url = _schema_url(url, schema)
    results: dict[str, dict[str, float]] = {}
    tails: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, store_url in (("file", f"file:{tmp}/logs"), ("pg", pg_url)):
                fast = open_store(store_url, writer="bench", fsync=False, tail_poll_seconds=0.5)
                durable = open_store(store_url, writer="bench", fsync=True)
                reader = open_store(store_url, writer="bench-reader", fsync=False, tail_poll_seconds=0.5)
                try:
                    results[name] = _measure(fast, durable)
                    tails[name] = _tail_latency(fast, reader)
                finally:
                    for s in (fast, durable, reader):
                        s.close()
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    f, p = results["file"], results["pg"]
    rows = [
        Row(
            GROUP,
            "pg append, 1 event per transaction",
            p["append1"],
            "events/s",
            "file store append",
            f["append1"],
            ">= 100 events/s (a poll writes a few)",
            p["append1"] >= 100,
        ),
        Row(
            GROUP,
            "pg append_many, 100 per transaction",
            p["append100"],
            "events/s",
            "file store append_many",
            f["append100"],
            ">= 1,000 events/s (a backfill)",
            p["append100"] >= 1000,
        ),
        Row(
            GROUP,
            "pg append, durable (synchronous_commit on)",
            p["durable1"],
            "events/s",
            "file store append with fsync",
            f["durable1"],
            ">= 50 events/s",
            p["durable1"] >= 50,
        ),
        Row(
            GROUP,
            "pg replay (read all raw)",
            p["replay"],
            "events/s",
            "file store read",
            f["replay"],
            ">= 10,000 events/s (web start)",
            p["replay"] >= 10000,
        ),
    ]
    for q in (50, 99):
        pg_ms = percentile(tails["pg"], q) * 1000
        file_ms = percentile(tails["file"], q) * 1000
        rows.append(
            Row(
                GROUP,
                f"pg tail wake latency p{q} (NOTIFY)",
                pg_ms,
                "ms",
                f"file store tail p{q} (inotify)",
                file_ms,
                "p99 <= 100 ms" if q == 99 else "",
                (pg_ms <= 100) if q == 99 else None,
            )
        )
    missing = TAIL_SAMPLES - len(tails["pg"])
    if missing:
        print(f"bench_postgres: {missing} tail samples never arrived within 5 s", file=sys.stderr)
    return rows
