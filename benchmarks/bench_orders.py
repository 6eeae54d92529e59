"""Orders on the dashboard: how soon a fill is on /orders, over the live stream of the exact gunicorn command.

- web: an `order.updated` (filled) appended to the orders stream -> its `event: order` arrives on an open
  /api/stream, p50/p99 (goal p99 <= 250 ms), beside a signal appended in the same run -> its `event: signal`;
- end to end: an order filled at the broker simulator (its own `filled_at`) -> the `event: order` saying filled on
  /api/stream, with the real worker (`python main.py`, paper at the broker simulator) between them, p50/p99 (goal
  p99 <= 250 ms), beside the web part's p99 of the same run. The executor learns of a fill by reading its open
  orders (every 0.1 s in the first 10 s after a submit, every 2 s after), so this figure is mostly that wait.

Run alone: python -m benchmarks.bench_orders
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
import requests

from autosig.clock import rfc3339
from autosig.events import open_store
from autosig.schema import (
    ORDERS,
    PARSED,
    RAW,
    WORKER,
    alert_parsed,
    alert_received,
    executor_started,
    order_planned,
    order_submitted,
    order_updated,
    poll_completed,
    worker_started,
)
from benchmarks.common import Row, percentile

ROOT = Path(__file__).resolve().parent.parent
WEB = "gunicorn --bind 0.0.0.0:$PORT --workers 2 --timeout 120 web:app"
GOAL_MS = 250.0
WEB_SAMPLES = 100
E2E_SAMPLES = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AUTOSIG_", "WHOP_", "DASHBOARD_", "POLL_", "PORT", "DRY_", "LIVE_", "APCA_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(AUTOSIG_FSYNC="never", AUTOSIG_TAIL_POLL_SECONDS="0.5", **extra)
    return env


class Web:
    """The exact gunicorn command over a log directory, and one open /api/stream read on a thread."""

    def __init__(self, log_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(["sh", "-c", WEB], cwd=ROOT, env=_clean_env(PORT=str(self.port),
                                     AUTOSIG_LOG_DIR=str(log_dir)), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.url + "/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.1)
        self.events: queue.Queue[tuple[float, float, str, dict]] = queue.Queue()
        self.response = requests.get(self.url + "/api/stream", stream=True, timeout=60)
        threading.Thread(target=self._read, name="bench-sse", daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        try:
            for chunk in self.response.iter_content(chunk_size=None):  # as it arrives
                perf, wall = time.perf_counter(), time.time()
                buffer += chunk
                *blocks, buffer = buffer.split(b"\n\n")
                for block in blocks:
                    lines = block.split(b"\n")
                    kind = next((b[7:].decode() for b in lines if b.startswith(b"event: ")), "")
                    data = next((b[6:] for b in lines if b.startswith(b"data: ")), None)
                    if kind in ("order", "signal") and data is not None:
                        self.events.put((perf, wall, kind, orjson.loads(data)))
        except Exception:  # noqa: BLE001 - the stream ends (closed under the reader) when the benchmark stops it
            pass

    def wait(self, predicate, timeout: float = 10.0) -> tuple[float, float, dict]:
        """(perf_counter, wall time, data) of the first streamed (kind, data) satisfying predicate."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("no such event on the live stream in time")
            try:
                perf, wall, kind, data = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if predicate(kind, data):
                return perf, wall, data

    def stop(self) -> None:
        self.response.close()
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(30)


def web_part(directory: Path) -> tuple[list[float], list[float]]:
    """ms from appending a fill to its `event: order`, and from appending a signal to its `event: signal`."""
    writer = open_store(f"file:{directory}", writer="bench", fsync=False)
    writer.append_many(WORKER, [worker_started(poll_interval_seconds=30, stale_after_seconds=600, parser_version="1",
                                               dry_run=False, live_trading=False, channels=["c"]),
                                poll_completed(new=0, edited=0, pages=1, http_status=200, duration_ms=1, gap=False,
                                               initial=False)])  # fmt: skip
    writer.append_many(ORDERS, [executor_started(mode="paper", broker="sim", account="PA3SIMULATED",
                                                 parser_version="1", from_parsed_seq=0, host="bench", pid=1)])
    web = Web(directory)
    fills, signals = [], []
    try:
        time.sleep(0.5)
        for i in range(WEB_SAMPLES):
            mid = f"m{i}"
            message = {"id": mid, "content": f"BTO SPY {600 + i}c 1/15 @ 1", "created_at": rfc3339(time.time())}
            (raw,) = writer.append_many(RAW, [alert_received("c", message)])
            written = time.perf_counter()
            writer.append_many(PARSED, [alert_parsed(raw.seq, mid, "1", {"kind": "signal", "reason": None, "signals": [
                {"action": "open", "ticker": "SPY"}]})])  # fmt: skip
            perf, _, _ = web.wait(lambda k, d, seq=raw.seq: k == "signal" and d["raw_seq"] == seq)
            signals.append((perf - written) * 1000)
            coid = f"as-bench{i:020d}"
            writer.append_many(ORDERS, [
                order_planned(raw_seq=raw.seq, parsed_seq=raw.seq, channel="c", source_id=mid, signal_index=0,
                              mode="paper", broker="sim", account="PA3SIMULATED", client_order_id=coid,
                              instrument="option", legs=[], quantity=1, limit_price=1.05, time_in_force="day",
                              sizing={}, checks={}, contract=f"SPY {600 + i}C 2027-01-15"),
                order_submitted(client_order_id=coid, broker_order_id=f"b{i}", status="accepted", response={})])
            web.wait(lambda k, d, c=coid: k == "order" and d["client_order_id"] == c and d["status"] == "accepted")
            time.sleep(0.06)  # fills come apart, as real ones do
            writer.append_many(ORDERS, [order_updated(client_order_id=coid, status="filled", filled_quantity=1,
                                                      average_fill_price=1.0, response={})])
            written = time.perf_counter()
            perf, _, _ = web.wait(lambda k, d, c=coid: k == "order" and d["client_order_id"] == c
                               and d["status"] == "filled")  # fmt: skip
            fills.append((perf - written) * 1000)
            time.sleep(0.06)
    finally:
        web.stop()
        writer.close()
    return fills, signals


def end_to_end(directory: Path) -> list[float]:
    """ms from a fill at the broker simulator (its filled_at) to the `event: order` saying filled, with the real
    worker trading paper between them."""
    from autosig.brokers.simulator import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY
    from autosig.brokers.simulator import Simulator as Broker
    from autosig.sources.simulator import Simulator as Whop

    whop = Whop("bench-token", history=0, seed=1).start()
    broker = Broker().start()
    env = _clean_env(AUTOSIG_LOG_DIR=str(directory), WHOP_ALERTS_URL=whop.url, WHOP_ACCESS_TOKEN="bench-token",
                     POLL_INTERVAL_SECONDS="0.2", DRY_RUN="false", AUTOSIG_BROKER="sim", AUTOSIG_BROKER_URL=broker.url,
                     APCA_API_KEY_ID=DEFAULT_KEY_ID, APCA_API_SECRET_KEY=DEFAULT_SECRET_KEY, AUTOSIG_SIZE="fixed:1",
                     AUTOSIG_MAX_TRADES_PER_DAY="100000", AUTOSIG_MAX_OPEN_POSITIONS="100000",
                     AUTOSIG_MAX_DAILY_USD="100000000")  # fmt: skip
    worker = subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    web = None
    out = []
    try:
        reader = open_store(f"file:{directory}", writer="bench", fsync=False)
        deadline = time.monotonic() + 60
        while not any(e.type == "executor.started" for e in reader.read(ORDERS)):
            if time.monotonic() > deadline:
                raise RuntimeError("the executor did not start")
            time.sleep(0.1)
        reader.close()
        web = Web(directory)
        for i in range(E2E_SAMPLES):
            strike = 700 + i
            symbol = f"SPY270115C00{strike}000"
            message = whop.publish(f"BTO 1 SPY {strike}c 1/15 @ 1.00")  # no quote yet: it rests at the broker
            web.wait(lambda k, d, m=message["id"]: k == "order" and d["source_id"] == m and d["status"] == "accepted",
                     30)  # fmt: skip
            broker.set_quote(symbol, "0.95", "1.00")  # marketable: it fills on the executor's next look
            _, wall, entry = web.wait(lambda k, d, m=message["id"]: k == "order" and d["source_id"] == m
                                      and d["status"] == "filled", 30)  # fmt: skip
            filled_at = next(o.filled_at for o in broker.book.orders if o.client_order_id == entry["client_order_id"])
            out.append((wall - filled_at.timestamp()) * 1000)
    finally:
        if web is not None:
            web.stop()
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
        broker.stop()
        whop.stop()
    return out


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    root = Path(tempfile.mkdtemp(prefix="autosig-bench-orders-"))
    try:
        (root / "web").mkdir()
        fills, signals = web_part(root / "web")
        for p in (50, 99):
            rows.append(Row("orders", f"fill appended -> event: order on /api/stream p{p}", percentile(fills, p), "ms",
                            f"signal appended -> event: signal p{p} (same run)", percentile(signals, p),
                            f"p99 <= {GOAL_MS:g} ms" if p == 99 else "",
                            percentile(fills, 99) <= GOAL_MS if p == 99 else None))  # fmt: skip
        (root / "e2e").mkdir()
        e2e = end_to_end(root / "e2e")
        web99 = percentile(fills, 99)
        for p in (50, 99):
            rows.append(Row("orders", f"filled at the broker simulator -> shown over SSE p{p}", percentile(e2e, p),
                            "ms", "the web part alone p99 (same run)", web99,
                            f"p99 <= {GOAL_MS:g} ms" if p == 99 else "",
                            percentile(e2e, 99) <= GOAL_MS if p == 99 else None))  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return rows


if __name__ == "__main__":
    from benchmarks.__main__ import print_table

    print_table(run(argparse.Namespace()))
