"""The executor: the real runtime (autosig.executor.Executor: the execute stage under its runner, following a file
store) trading paper at the broker simulator, a process of its own, over loopback HTTP.

- signal appended to `parsed` -> its order received by the simulator (the order's own created_at), p50 / p99, fsync
  on (goal p99 <= 20 ms), beside the floor of the same run: one append+fsync of a plan-sized event plus one loopback
  POST to the simulator;
- decisions per second over a backlog of stale signals (100k; a restart after downtime must not hold up fresh
  alerts; goal >= 5,000/s), beside reading the same parses through the store;
- RSS of this process, the executor's (anonymous memory: the stream files' mapped pages are the kernel's cache),
  from 1k to 10k orders placed and filled (opens and closes), goal <= 10 MiB growth.

Run alone: python -m benchmarks.bench_execute [--size N]  (N: the backlog; 100,000 by default)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from autosig.brokers.alpaca import AlpacaBroker
from autosig.brokers.simulator import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY
from autosig.clock import rfc3339
from autosig.config import Settings, load_settings
from autosig.events import EventStore, open_store
from autosig.executor import Executor
from autosig.schema import ORDERS, PARSED, RAW, WORKER, alert_parsed, alert_received, poll_completed, worker_started
from autosig.times import to_utc
from benchmarks.common import Row, percentile

ROOT = Path(__file__).resolve().parents[1]
LATENCY_SAMPLES = 300
LATENCY_GOAL_MS = 20.0
BACKLOG = 100_000
BACKLOG_GOAL = 5_000.0
RSS_ORDERS = 10_000
RSS_GOAL_MIB = 10.0
TICKERS = ("SPY", "QQQ", "IWM", "DIA", "AAPL", "MSFT", "NVDA", "TSLA", "AMD", "META")


class _Broker:
    """`python -m autosig.brokers.simulator --walk 1.00`: every contract quoted around $1, so a $1.00 alert's
    limit ($1.10) and a close at the bid both fill at once."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("APCA_", "TRADIER_"))}
        self.proc = subprocess.Popen([sys.executable, "-m", "autosig.brokers.simulator", "--port", "0", "--walk",
                                      "1.00", "--seed", "1"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)  # fmt: skip
        self.url = (self.proc.stdout.readline() if self.proc.stdout else "").strip()
        self.api = AlpacaBroker(DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, base_url=self.url, data_url=self.url)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _settings(directory: Path, url: str, fsync: bool) -> Settings:
    return load_settings({
        "AUTOSIG_LOG_DIR": str(directory), "AUTOSIG_FSYNC": "always" if fsync else "never", "DRY_RUN": "false",
        "AUTOSIG_BROKER": "sim", "AUTOSIG_BROKER_URL": url, "APCA_API_KEY_ID": DEFAULT_KEY_ID,
        "APCA_API_SECRET_KEY": DEFAULT_SECRET_KEY, "AUTOSIG_SIZE": "fixed:1", "AUTOSIG_MAX_TRADES_PER_DAY": "1000000",
        "AUTOSIG_MAX_OPEN_POSITIONS": "1000000", "AUTOSIG_MAX_DAILY_USD": "1000000000",
        "AUTOSIG_STALE_AFTER_SECONDS": "86400", "AUTOSIG_PARSER_VERSION": "2",
    })  # fmt: skip


class _Feed:
    """Appends what the worker would: raw alerts and their parses, by the schema's constructors."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.n = 0
        store.append_many(WORKER, [worker_started(poll_interval_seconds=30, stale_after_seconds=86400,
                                                  parser_version="2", dry_run=False, live_trading=False,
                                                  channels=["bench"])])  # fmt: skip
        store.append_many(WORKER, [poll_completed(new=0, edited=0, pages=1, http_status=200, duration_ms=1,
                                                  gap=False, initial=False)])  # fmt: skip

    def drafts(self, created: float) -> tuple[object, str]:
        self.n += 1
        source_id = f"m{self.n}"
        message = {"id": source_id, "content": f"alert {self.n}", "created_at": rfc3339(created),
                   "updated_at": rfc3339(created), "user": {"id": "u1", "username": "ana"}}  # fmt: skip
        return alert_received("bench", message), source_id

    def alert(self, signal: dict, created: float | None = None) -> None:
        draft, source_id = self.drafts(time.time() if created is None else created)
        (raw,) = self.store.append_many(RAW, [draft])
        self.store.append_many(PARSED, [_parsed(raw.seq, source_id, signal)])


def _parsed(raw_seq: int, source_id: str, signal: dict) -> object:
    return alert_parsed(raw_seq, source_id, "2", {"kind": "signal", "reason": None, "signals": [signal]})


def _option(i: int, action: str = "open") -> dict:
    side = "sell" if action == "close" else "buy"
    return {"action": action, "instrument": "option", "ticker": TICKERS[i % len(TICKERS)],
            "legs": [{"side": side, "ratio": 1, "right": "C", "strike": float(100 + i // len(TICKERS)),
                      "expiry": "2027-01-15"}],
            "price": 1.0, "price_range": None, "quantity": None, "size_pct": None, "fraction": None, "stop": None,
            "targets": [], "tags": [], "size_text": None, "limit_kind": None, "entry_price": None,
            "confidence": 1.0, "refers_to": None}  # fmt: skip


def _executor(directory: Path, url: str, fsync: bool) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    settings = _settings(directory, url, fsync)
    runtime = Executor(settings, lambda: open_store(f"file:{directory}", writer="executor", fsync=fsync), stop=stop)
    thread = threading.Thread(target=runtime.run, name="bench-executor", daemon=True)
    thread.start()
    return stop, thread


def _wait(predicate: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.002)
    raise RuntimeError(f"timed out waiting for {what}")


def _types(store: EventStore, after: int, *types: str) -> list:
    return [e for e in store.read(ORDERS, after=after) if e.type in types]


def _started(reader: EventStore, count: int) -> None:
    _wait(lambda: len(_types(reader, 0, "executor.started")) >= count, 60, "executor.started")


def latency(directory: Path, broker: _Broker) -> tuple[list[float], list[float]]:
    """(signal appended -> order at the simulator, ms; the floor: append+fsync + loopback POST, ms)."""
    store = open_store(f"file:{directory}", writer="worker", fsync=True)
    feed = _Feed(store)
    reader = open_store(f"file:{directory}", writer="bench", fsync=False)
    stop, thread = _executor(directory, broker.url, fsync=True)
    out: list[float] = []
    try:
        _started(reader, 1)
        seen = reader.last_seq(ORDERS)
        for i in range(LATENCY_SAMPLES):
            draft, source_id = feed.drafts(time.time())
            (raw,) = store.append_many(RAW, [draft])
            parsed = _parsed(raw.seq, source_id, _option(i))
            began = time.time()
            store.append_many(PARSED, [parsed])
            (submitted,) = _wait(lambda s=seen: _types(reader, s, "order.submitted"), 10, "order.submitted")  # type: ignore[misc]
            seen = submitted.seq
            at = to_utc(submitted.data["response"]["created_at"])
            out.append((at.timestamp() - began) * 1000)  # type: ignore[union-attr]
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(30)
        store.close()
        reader.close()
    return out, _floor(directory / "floor", broker)


def _floor(directory: Path, broker: _Broker) -> list[float]:
    directory.mkdir()
    store = open_store(f"file:{directory}", writer="floor", fsync=True)
    session = requests.Session()
    headers = {"APCA-API-KEY-ID": DEFAULT_KEY_ID, "APCA-API-SECRET-KEY": DEFAULT_SECRET_KEY}
    out = []
    try:
        for i in range(LATENCY_SAMPLES):
            body = {"symbol": "SPY", "qty": "1", "side": "buy", "type": "limit", "limit_price": "1000",
                    "time_in_force": "day", "client_order_id": f"floor-{i}"}  # fmt: skip
            began = time.perf_counter()
            store.append_many(ORDERS, [_parsed(i + 1, f"f{i}", _option(i))])  # an event of a plan's size
            session.post(f"{broker.url}/v2/orders", json=body, headers=headers, timeout=5).raise_for_status()
            out.append((time.perf_counter() - began) * 1000)
    finally:
        store.close()
    return out


def backlog(directory: Path, broker: _Broker, size: int) -> tuple[float, float]:
    """(decisions/s over `size` stale signals at a restart, parses/s read through the store, same events)."""
    store = open_store(f"file:{directory}", writer="worker", fsync=False)
    feed = _Feed(store)
    reader = open_store(f"file:{directory}", writer="bench", fsync=False)
    stop, thread = _executor(directory, broker.url, fsync=False)  # the first start: it decides what comes after
    _started(reader, 1)
    stop.set()
    thread.join(30)
    old = time.time() - 3600
    for start in range(0, size, 1000):
        drafts = [feed.drafts(old) for _ in range(start, min(size, start + 1000))]
        raws = store.append_many(RAW, [d for d, _ in drafts])
        store.append_many(PARSED, [_parsed(r.seq, s, _option(start + k)) for k, (r, (_, s)) in
                                   enumerate(zip(raws, drafts, strict=True))])  # fmt: skip
    began = time.perf_counter()
    n = sum(1 for _ in reader.read(PARSED))
    read_rate = n / (time.perf_counter() - began)
    before = reader.last_seq(ORDERS)
    began = time.perf_counter()
    stop, thread = _executor(directory, broker.url, fsync=False)
    try:
        _wait(lambda: reader.last_seq(ORDERS) >= before + 1 + size, 600, "every backlog decision")
        took = time.perf_counter() - began
    finally:
        stop.set()
        thread.join(30)
        store.close()
        reader.close()
    return size / took, read_rate


def _rss_mib() -> float:
    """This process's anonymous resident memory: what it holds, without the stream files' pages the kernel maps in
    while they are read (file-backed, shared and reclaimable, and read by this benchmark too)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss(directory: Path, broker: _Broker) -> tuple[float, float]:
    """(RSS MiB after 1k orders, after 10k): opens and closes, all filled, fed in batches as a busy feed would."""
    store = open_store(f"file:{directory}", writer="worker", fsync=False)
    feed = _Feed(store)
    reader = open_store(f"file:{directory}", writer="bench", fsync=False)
    stop, thread = _executor(directory, broker.url, fsync=False)
    marks: dict[int, float] = {}
    try:
        _started(reader, 1)
        decided = seen = 0
        count = [0]

        def decisions_seen() -> int:
            nonlocal seen
            for ev in reader.read(ORDERS, after=seen):
                seen = ev.seq
                count[0] += ev.type in ("order.planned", "order.skipped")
            return count[0]

        for i in range(0, RSS_ORDERS // 2, 50):
            batch = range(i, min(RSS_ORDERS // 2, i + 50))
            for action in ("open", "close"):
                for k in batch:
                    feed.alert(_option(k, action))
                decided += len(batch)
                _wait(lambda d=decided: decisions_seen() >= d, 60, "the decisions")
            for mark in (1_000, RSS_ORDERS):
                if decided >= mark and mark not in marks:
                    marks[mark] = _rss_mib()
    finally:
        stop.set()
        thread.join(30)
        store.close()
        reader.close()
    return marks[1_000], marks[RSS_ORDERS]


def run(args: argparse.Namespace) -> list[Row]:
    size = getattr(args, "size", None) or BACKLOG
    size = min(size, BACKLOG)
    rows: list[Row] = []
    root = Path(tempfile.mkdtemp(prefix="autosig-bench-execute-"))
    broker = _Broker()
    try:
        for name in ("latency", "backlog", "rss"):
            (root / name).mkdir()
        samples, floor = latency(root / "latency", broker)
        for p in (50, 99):
            rows.append(Row("execute", f"signal appended -> order at the broker simulator p{p}, fsync on",
                            percentile(samples, p), "ms", f"append+fsync + loopback POST p{p} (same run)",
                            percentile(floor, p), f"p99 <= {LATENCY_GOAL_MS:g} ms" if p == 99 else "",
                            percentile(samples, 99) <= LATENCY_GOAL_MS if p == 99 else None))  # fmt: skip
        rate, read_rate = backlog(root / "backlog", broker, size)
        rows.append(Row("execute", f"decisions/s over a backlog of {size:,} stale signals (a restart)", rate, "/s",
                        "store.read of the same parses", read_rate, f">= {BACKLOG_GOAL:,.0f}/s",
                        rate >= BACKLOG_GOAL))  # fmt: skip
        before, after = rss(root / "rss", broker)
        rows.append(Row("execute", f"executor RSS (anonymous) growth from 1k to {RSS_ORDERS // 1000}k orders (opens and closes)",
                        after - before, "MiB", "RSS after 1k orders", before, f"<= {RSS_GOAL_MIB:g} MiB",
                        after - before <= RSS_GOAL_MIB))  # fmt: skip
    finally:
        broker.stop()
        shutil.rmtree(root, ignore_errors=True)
    return rows


if __name__ == "__main__":
    from benchmarks.__main__ import print_table

    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=None)
    print_table(run(parser.parse_args()))
