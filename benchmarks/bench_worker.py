"""Worker benchmarks, each beside a same-run baseline:

- ingestion from the simulator over HTTP with fsync on (fetch, raw append, parse, parsed append, heartbeat), as an
  initial backfill and as steady polls of a few new alerts, vs writing and fsyncing the same lines with no work;
- start-up at a large raw stream (rebuilding the message index and the parse context), vs a bare orjson.loads loop
  over the same file.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import orjson

from autosig.alerts import parse_key, payload_fields, raw_key
from autosig.clock import Clock
from autosig.config import Secret, Settings
from autosig.events import PARSED, RAW, WORKER, open_store
from autosig.sources.simulator import Simulator, load_corpus
from autosig.worker import Worker
from benchmarks.common import Row

TOKEN = "bench-token"


def _settings(directory: Path, url: str) -> Settings:
    return Settings(
        whop_alerts_urls=(url,),
        whop_access_token=Secret(TOKEN),
        poll_interval_seconds=1.0,
        store_url=f"file:{directory}",
        log_dir=directory,
        fsync=True,
        max_backfill_pages=100_000,
    )


def _io_floor(directory: Path, batches: list[list[bytes]]) -> float:
    """Seconds to append and fsync the given line batches (one write + fsync per batch) with no other work."""
    path = directory / "floor.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    began = time.perf_counter()
    try:
        for batch in batches:
            os.write(fd, b"".join(batch))
            os.fsync(fd)
    finally:
        os.close(fd)
    took = time.perf_counter() - began
    path.unlink()
    return took


def _lines(store, stream: str, after: int) -> list[bytes]:
    return [ev.line for ev in store.read(stream, after=after)]


def _ingestion(rows: list[Row], backfill: int, steady_polls: int, per_poll: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="autosig-bench-worker-"))
    try:
        with Simulator(TOKEN, history=backfill, seed=1) as sim:
            store = open_store(f"file:{base}", writer="worker", fsync=True)
            worker = Worker(_settings(base, sim.url + "&first=100"), store, clock=Clock())
            worker.start()
            began = time.perf_counter()
            worker.poll_once()
            took = time.perf_counter() - began
            assert store.last_seq(RAW) == backfill, "backfill incomplete"
            floor = _io_floor(base, [_lines(store, RAW, 0), _lines(store, PARSED, 0), _lines(store, WORKER, 1)])
            rows.append(
                Row(
                    "worker",
                    f"initial backfill of {backfill} alerts, fsync on",
                    backfill / took,
                    "alerts/s",
                    "write+fsync of the same lines",
                    backfill / floor,
                )
            )
            raw0, parsed0, worker0 = (store.last_seq(s) for s in (RAW, PARSED, WORKER))
            elapsed = 0.0
            for _ in range(steady_polls):
                sim.publish_many(per_poll)
                began = time.perf_counter()
                worker.poll_once()
                elapsed += time.perf_counter() - began
            total = steady_polls * per_poll
            assert store.last_seq(RAW) == raw0 + total, "steady polls incomplete"
            raw_l, parsed_l, worker_l = (
                _lines(store, RAW, raw0),
                _lines(store, PARSED, parsed0),
                _lines(store, WORKER, worker0),
            )
            batches = []
            for i in range(steady_polls):
                batches += [
                    raw_l[i * per_poll : (i + 1) * per_poll],
                    parsed_l[i * per_poll : (i + 1) * per_poll],
                    worker_l[i : i + 1],
                ]
            floor = _io_floor(base, batches)
            rows.append(
                Row(
                    "worker",
                    f"steady polls of {per_poll} new alerts, fsync on",
                    total / elapsed,
                    "alerts/s",
                    "3 write+fsync per poll, same lines",
                    total / floor,
                )
            )
            worker.shutdown()
            store.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _generate(directory: Path, size: int) -> None:
    """A raw stream of `size` realistic alerts (every 20th an edit) and one parse each, written in big batches."""
    corpus = load_corpus()
    rng = random.Random(7)
    store = open_store(f"file:{directory}", writer="bench", fsync=False)
    users = [{"id": f"user_{i}", "username": f"analyst{i}", "name": f"Analyst {i}"} for i in range(5)]
    chunk = 20_000
    seq = 0
    t0 = 1_767_600_000
    for start in range(0, size, chunk):
        raw_items, parsed_items = [], []
        for i in range(start, min(size, start + chunk)):
            edit = i % 20 == 19
            n = i - 1 if edit else i
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t0 + n * 30 + (7 if edit else 0)))
            message = {
                "id": f"post_{n:012d}",
                "content": corpus[rng.randrange(len(corpus))]["text"],
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t0 + n * 30)),
                "updated_at": stamp,
                "is_edited": edit,
                "is_pinned": False,
                "message_type": "regular",
                "replying_to_message_id": None,
                "user": users[n % 5],
            }
            data = {
                "source": "whop",
                "channel": "chat_feed_bench",
                "source_id": message["id"],
                **payload_fields(message),
            }
            raw_items.append(("alert.edited" if edit else "alert.received", data, None, raw_key(message)))
        events = store.append_many(RAW, raw_items)
        for ev in events:
            seq = ev.seq
            parsed_items.append(
                (
                    "alert.parsed",
                    {
                        "raw_seq": seq,
                        "source_id": ev.data["source_id"],
                        "parser_version": "1",
                        "kind": "non_signal",
                        "reason": "chatter",
                        "signals": [],
                    },
                    None,
                    parse_key(seq, "1"),
                )
            )
        store.append_many(PARSED, parsed_items)
    store.close()


def _startup(rows: list[Row], size: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="autosig-bench-start-"))
    try:
        began = time.perf_counter()
        _generate(base, size)
        generated = time.perf_counter() - began
        raw_path = base / "alerts_raw.jsonl"

        def bare() -> float:
            t = time.perf_counter()
            with open(raw_path, "rb") as f:
                for line in f:
                    orjson.loads(line)
            return time.perf_counter() - t

        def start() -> float:
            store = open_store(f"file:{base}", writer="worker", fsync=False)
            worker = Worker(
                _settings(base, "https://api.whop.com/api/v1/messages?channel_id=chat_feed_bench"), store, clock=Clock()
            )
            t = time.perf_counter()
            worker.start()
            took = time.perf_counter() - t
            assert worker.raw_seq == size and worker.unparsed == []
            worker.started = False  # no worker.stopped: keep the runs identical
            store.close()
            return took

        def store_read() -> float:
            store = open_store(f"file:{base}", fsync=False)
            t = time.perf_counter()
            for _ in store.read(RAW):
                pass
            took = time.perf_counter() - t
            store.close()
            return took

        bare()  # warm the page cache for all three
        baseline = min(bare() for _ in range(2))
        reading = min(store_read() for _ in range(2))
        measured = min(start() for _ in range(2))
        mb = raw_path.stat().st_size / 1e6
        label = f"{size:,} raw events ({mb:,.0f} MB; generated in {generated:.0f} s)"
        loop = "orjson.loads loop over the raw file"
        # The store's own decoding, so the worker's share (index, parse context, parse-key scan) can be read off.
        rows.append(Row("worker", f"store.read of {label}", reading, "s", loop, baseline))
        rows.append(Row("worker", f"worker start-up at {label}", measured, "s", loop, baseline))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run(args) -> list[Row]:
    rows: list[Row] = []
    _ingestion(rows, backfill=3000, steady_polls=100, per_poll=5)
    _startup(rows, getattr(args, "size", None) or 200_000)
    return rows
