"""Whop webhooks: how much sooner an alert reaches the log, and what the endpoint takes.

- alert published at the simulator -> its `alert.parsed` on disk, p50/p99: the worker polling every 30 s without
  webhooks (the baseline, expected about 15 s / 30 s) beside the same worker woken by the simulator's signed webhooks
  through the real gunicorn command (goal p99 <= 250 ms on the file store; <= 500 ms on Postgres when
  AUTOSIG_TEST_DATABASE_URL is set).
- webhook requests per second the real gunicorn command accepts, each signature checked and appended to `inbox`
  (goal >= 500/s), and /api/signals?limit=50 p99 while 500/s arrive (sent by another process) beside its idle p99 in
  the same run (goal <= 2x), probed one request every 5 ms; and, without a goal, the same probed back to back. The
  load comes in 2 s windows with 2 s off between, and one probe's samples are pooled by window (interleaved, so that
  a noisy machine's drift over the run moves both figures alike).

Run alone: python -m benchmarks.bench_webhooks [--size N] [--only all]   (N: raw alerts in the served log, default
20 000; without --only all, the throughput rows alone)
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from benchmarks import genlog
from benchmarks.common import Row, percentile

ROOT = Path(__file__).resolve().parent.parent
SECRET = "ws_bench0123456789abcdef0123456789ab"
TOKEN = "bench-webhook-token"
DEFAULT_SIZE = 20_000
LOAD_SECONDS = 5.0
LOAD_THREADS = 6
PACED_RATE = 500.0  # webhooks per second while /api/signals is probed
# The paced load is on for PACED_WINDOW_SECONDS, then off as long, PACED_ROUNDS times, and the one probe's samples
# are pooled by window: idle and loaded are measured interleaved, so a drift of a noisy machine over the run moves
# both alike instead of favouring whichever went first. Samples within EDGE_SECONDS of a switch count for neither.
PACED_WINDOW_SECONDS = 2.0
PACED_ROUNDS = 5
EDGE_SECONDS = 0.1
# The /api/signals probe: a dashboard's reads, not a load test; back to back, the probe alone keeps a core busy and
# its idle baseline is a hot loop rather than an idle service.
PROBE_PAUSE = 0.005


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, directory: Path, **env: str) -> None:
        self.port = _free_port()
        full = {**os.environ, "PORT": str(self.port), "AUTOSIG_LOG_DIR": str(directory), "AUTOSIG_FSYNC": "never",
                "WHOP_WEBHOOK_SECRET": SECRET, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                **env}  # fmt: skip
        full.pop("DASHBOARD_PASSWORD", None)
        self.proc = subprocess.Popen(
            ["sh", "-c", "gunicorn --bind 0.0.0.0:$PORT --workers 2 --timeout 120 web:app"],
            cwd=ROOT, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                conn.request("GET", "/api/status")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(30)


def _deliveries(count: int, channel: str) -> list[tuple[bytes, dict[str, str]]]:
    from autosig.sources.whop_webhooks import sign

    out = []
    stamp = int(time.time())
    for i in range(count):
        webhook_id = f"msg_bench_{os.getpid()}_{i}"
        body = json.dumps({"id": webhook_id, "api_version": "v1", "timestamp": "2026-12-01T12:00:00.000Z",
                           "type": "chat.message.created",
                           "data": {"channel": {"id": channel, "type": "chat"}, "message": {"id": f"post_{i}"}}}).encode()  # fmt: skip
        out.append((body, {"Content-Type": "application/json", **sign(SECRET, webhook_id, stamp, body)}))
    return out


def _warm(port: int, n: int) -> None:
    """`n` reads of /api/signals?limit=50 (both gunicorn workers' caches and connections)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(n):
        conn.request("GET", "/api/signals?limit=50")
        conn.getresponse().read()


def _load_elsewhere(port: int, work: list, start: float, out: Connection) -> None:
    out.send(_load(port, work, PACED_WINDOW_SECONDS * 2 * PACED_ROUNDS, PACED_RATE, start=start))


def _on_window(t_on: float) -> float:
    """Where the load's t_on-th second of sending falls in the run: on windows alternate with off ones."""
    k, r = divmod(t_on, PACED_WINDOW_SECONDS)
    return k * 2 * PACED_WINDOW_SECONDS + r


def _load(port: int, work: list, seconds: float, rate: float | None, start: float | None = None) -> float:
    """Sends deliveries from LOAD_THREADS connections for `seconds` (paced to `rate` per second when given, and then
    only in the on windows from wall-clock time `start` when that is given); returns the accepted ones per second
    of sending."""
    cursor = iter(range(len(work)))
    lock = threading.Lock()
    accepted = [0]
    began = time.perf_counter() + (0.0 if start is None else max(0.0, start - time.time()))

    def load() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() - began < seconds:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            if rate is not None:  # the i-th delivery leaves at i / rate seconds of sending
                at = i / rate if start is None else _on_window(i / rate)
                if at >= seconds:
                    return
                time.sleep(max(0.0, began + at - time.perf_counter()))
            body, headers = work[i]
            conn.request("POST", "/webhooks/whop", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                with lock:
                    accepted[0] += 1

    threads = [threading.Thread(target=load) for _ in range(LOAD_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sending = time.perf_counter() - began if start is None else PACED_WINDOW_SECONDS * PACED_ROUNDS
    return accepted[0] / sending


def _interleaved(port: int, work: list, pause: float) -> tuple[float, float, float]:
    """(/api/signals p99 idle, p99 while `work` arrives at PACED_RATE per second, the rate that arrived), from one
    probe (`pause` seconds between requests, 0: back to back) across alternating off and on windows. The load runs
    in a process of its own: in threads of this one it would take the measuring client's GIL, and the figure would
    include the client's waits, not only the web's."""
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    start = time.time() + 1.5  # the load process starting up
    load = spawn.Process(target=_load_elsewhere, args=(port, work, start, send))
    load.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    pools: tuple[list[float], list[float]] = ([], [])  # idle, loaded
    period = 2 * PACED_WINDOW_SECONDS
    try:
        time.sleep(max(0.0, start - time.time()))
        while time.time() < start + period * PACED_ROUNDS:
            phase = (time.time() - start) % period
            began = time.perf_counter()
            conn.request("GET", "/api/signals?limit=50")
            conn.getresponse().read()
            took = time.perf_counter() - began
            if EDGE_SECONDS < phase < PACED_WINDOW_SECONDS - EDGE_SECONDS:
                pools[1].append(took)
            elif PACED_WINDOW_SECONDS + EDGE_SECONDS < phase < period - EDGE_SECONDS:
                pools[0].append(took)
            if pause:
                time.sleep(pause)
        arrived = receive.recv()
    finally:
        load.join(30)
    return percentile(pools[0], 99) * 1000, percentile(pools[1], 99) * 1000, arrived


def throughput_rows(size: int) -> list[Row]:
    with genlog.generated_log(size, prefix="autosig-bench-hooks-") as log:
        web = Gunicorn(log.directory)
        try:
            _warm(web.port, 100)
            paced_count = int(PACED_RATE * PACED_WINDOW_SECONDS * PACED_ROUNDS) + 1
            work = _deliveries(20_000 + 2 * paced_count, genlog.CHANNEL)
            rate = _load(web.port, work[:20_000], LOAD_SECONDS, None)
            paced = work[20_000:]
            idle, busy, arrived = _interleaved(web.port, paced[:paced_count], PROBE_PAUSE)
            idle_b2b, busy_b2b, arrived_b2b = _interleaved(web.port, paced[paced_count:], 0.0)
        finally:
            web.stop()
    probe = f"one request every {PROBE_PAUSE * 1000:g} ms"
    return [
        Row("webhooks", "webhooks accepted per second, flat out (signature checked, appended to inbox)",
            rate, "/s", goal=">= 500/s", met=rate >= 500),
        Row("webhooks", f"/api/signals p99 while {arrived:.0f} webhooks/s arrive ({probe})", busy, "ms",
            "/api/signals p99 in the off windows between", idle, "<= 2x baseline", busy <= 2 * idle),
        # the same with requests back to back: the probe is then a load of its own (a core of client and server)
        Row("webhooks", f"/api/signals p99 while {arrived_b2b:.0f} webhooks/s arrive (requests back to back)",
            busy_b2b, "ms", "/api/signals p99 in the off windows, back to back", idle_b2b),
    ]  # fmt: skip


def latency(store_url: str | None, *, webhooks: bool, samples: int, spread: float) -> list[float] | str:
    """Seconds from publish to alert.parsed on disk for `samples` alerts, or why it could not be measured."""
    from autosig.events import open_store
    from autosig.sources.simulator import Simulator

    with tempfile.TemporaryDirectory(prefix="autosig-bench-latency-") as tmp:
        directory = Path(tmp)
        url = store_url or f"file:{directory}"
        store = open_store(url, writer="bench", fsync=False, tail_poll_seconds=0.05)
        web = Gunicorn(directory, AUTOSIG_STORE_URL=url) if webhooks else None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("WHOP_", "AUTOSIG_", "POLL_"))}
        with Simulator(TOKEN, history=0, seed=1) as sim:
            env.update(WHOP_ALERTS_URL=sim.url, WHOP_ACCESS_TOKEN=TOKEN, AUTOSIG_LOG_DIR=str(directory),
                       AUTOSIG_STORE_URL=url, AUTOSIG_FSYNC="never", POLL_INTERVAL_SECONDS="30",
                       AUTOSIG_TAIL_POLL_SECONDS="0.05")  # fmt: skip
            worker = subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            try:
                deadline = time.monotonic() + 60
                while store.last_seq("worker") < 2:
                    if worker.poll() is not None or time.monotonic() > deadline:
                        return "the worker did not start"
                    time.sleep(0.05)
                if web is not None:
                    sim.enable_webhooks(web.url + "/webhooks/whop", SECRET)
                    # the worker's start-up poll just ran: a channel is polled at most every 2 s, so the first
                    # alert would otherwise measure that gap rather than the wake-up
                    time.sleep(2.5)
                seen_after = store.last_seq("parsed")
                published: dict[str, float] = {}
                arrived: dict[str, float] = {}
                rng = random.Random(1)
                times = sorted(rng.uniform(0, spread) for _ in range(samples)) if not webhooks else [
                    i * spread / samples for i in range(samples)]  # fmt: skip
                began = time.monotonic()
                pending = list(times)
                deadline = began + spread + 45
                while (pending or len(arrived) < len(published)) and time.monotonic() < deadline:
                    now = time.monotonic() - began
                    while pending and pending[0] <= now:
                        pending.pop(0)
                        published[sim.publish("BTO 1 SPY 600c 1/17 @ 1.25")["id"]] = time.monotonic()
                    for event in store.read("parsed", after=seen_after):
                        seen_after = event.seq
                        arrived.setdefault(event.data.get("source_id"), time.monotonic())
                    time.sleep(0.002)
                if len(arrived) < len(published):
                    return f"{len(published) - len(arrived)} of {len(published)} alerts never reached the log"
                return [arrived[i] - published[i] for i in published]
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)
                if web is not None:
                    web.stop()
                store.close()


def latency_rows(samples: int) -> list[Row]:
    polled = latency(None, webhooks=False, samples=samples, spread=90.0)
    rows: list[Row] = []
    targets = [("file store", None, 0.25)]
    if os.environ.get("AUTOSIG_TEST_DATABASE_URL"):
        targets.append(("Postgres", os.environ["AUTOSIG_TEST_DATABASE_URL"], 0.5))
    for where, url, goal in targets:
        woken = latency(url, webhooks=True, samples=samples, spread=samples * 2.5)
        for p in (50, 99):
            if isinstance(woken, str) or isinstance(polled, str):
                why = woken if isinstance(woken, str) else polled
                rows.append(
                    Row("webhooks", f"alert -> alert.parsed p{p}, webhooks ({where}): {why}", float("nan"), "s")
                )
                continue
            value = percentile(woken, p)
            rows.append(Row("webhooks", f"alert -> alert.parsed p{p}, webhooks ({where})", value, "s",
                            "polling every 30 s, no webhooks", percentile(polled, p),
                            f"p99 <= {goal * 1000:.0f} ms" if p == 99 else "", value <= goal if p == 99 else None))  # fmt: skip
    return rows


def run(args: argparse.Namespace) -> list[Row]:
    size = getattr(args, "size", None) or DEFAULT_SIZE
    return throughput_rows(min(size, DEFAULT_SIZE)) + latency_rows(samples=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--only", default="throughput")
    a = parser.parse_args()
    from benchmarks.__main__ import print_table

    print_table(throughput_rows(a.size or DEFAULT_SIZE) if a.only == "throughput" else run(a))
