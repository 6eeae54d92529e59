"""Worker benchmarks, each beside a same-run baseline:

- ingestion from the simulator over HTTP with fsync on (fetch, raw append, parse, parsed append, heartbeat), as an
  initial backfill and as steady polls of a few new alerts, vs writing and fsyncing the same lines with no work;
- start-up at a large generated log (benchmarks/genlog.py; --size raw alerts, default 200k): the worker's own start
  (message index, worker.started), the same plus a first poll that records and parses one new alert (which needs the
  store's key tables of both streams), and the real `python main.py` against the simulator from launch to its first
  recorded poll -- each vs a bare orjson.loads loop over the same raw file (medians of 3 interleaved rounds). The
  fresh log has nothing saved, so round 1 builds and saves the message index and the key tables, as the first start
  after an upgrade would; later rounds load them, as every restart does. Round 1 is also shown on its own;
- the RSS of that `python main.py` after its first poll, vs the same process on an empty log.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from autosig.clock import Clock
from autosig.config import Settings
from autosig.events import open_store
from autosig.redact import Secret
from autosig.schema import PARSED, RAW, WORKER
from autosig.sources.simulator import Simulator
from autosig.sources.whop import Page
from autosig.worker import Worker
from benchmarks import genlog
from benchmarks.common import Row

TOKEN = "bench-token"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZE = 200_000
RUNS = 3


def _settings(directory: Path, url: str) -> Settings:
    return Settings(
        whop_alerts_urls=(url,),
        whop_access_token=Secret(TOKEN),
        poll_interval_seconds=1.0,
        store_url=f"file:{directory}",
        log_dir=directory,
        fsync=True,
        max_backfill_pages=100_000,
        # the version the generated log was parsed with: a worker on its own log (after an upgrade, the first start
        # with a new version also scans the parse keys once per start until that version's first parse)
        parser_version=genlog.PARSER_VERSION,
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


class _OneNewAlert:
    """A Whop client whose listing is one alert the log does not have yet (the first poll records and parses it)."""

    channel = genlog.CHANNEL
    url = f"https://api.whop.com/api/v1/messages?channel_id={genlog.CHANNEL}"

    def fetch_page(self, after: str | None) -> Page:
        message = {"id": "post_bench_new", "content": "BTO 2 SPY 600c 1/17 @ 1.25", "created_at": "2026-11-28T17:00:00Z",
                   "updated_at": "2026-11-28T17:00:00Z", "replying_to_message_id": "post_1CUx000000000000",
                   "user": {"id": "user_sim_ana", "username": "ana_trades"}}  # fmt: skip
        return Page([message], None, False)


def _rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of a process in MiB."""
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                found[line[:5]] = int(line.split()[1]) / 1024
    return found["VmRSS"], found["VmHWM"]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _polled_since(path: Path, offset: int) -> bool:
    """Whether a poll.completed was appended after byte `offset` (reads only the new bytes)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return b'"type":"poll.completed"' in f.read()
    except FileNotFoundError:
        return False


def _main_py(directory: Path) -> tuple[float, float, float]:
    """Runs the real `python main.py` on the log against the simulator: (seconds from launch until its first
    poll.completed, RSS MiB then, peak RSS MiB)."""
    worker_log = directory / "worker.jsonl"
    before = _size(worker_log)
    with Simulator(TOKEN, history=20, seed=1, channel=genlog.CHANNEL) as sim:
        env = {**os.environ, "WHOP_ALERTS_URL": sim.url, "WHOP_ACCESS_TOKEN": TOKEN, "AUTOSIG_LOG_DIR": str(directory),
               "AUTOSIG_FSYNC": "never", "POLL_INTERVAL_SECONDS": "60",
               "AUTOSIG_PARSER_VERSION": genlog.PARSER_VERSION}  # fmt: skip
        env.pop("AUTOSIG_STORE_URL", None)
        began = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            while not _polled_since(worker_log, before):
                if proc.poll() is not None:
                    raise RuntimeError(f"main.py exited with {proc.returncode} before its first poll")
                if time.perf_counter() - began > 900:
                    raise RuntimeError("main.py did not poll within 900 s")
                time.sleep(0.05)
            took = time.perf_counter() - began
            rss, peak = _rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(60)
    return took, rss, peak


def _startup(rows: list[Row], size: int) -> None:
    with genlog.generated_log(size, prefix="autosig-bench-start-") as log:
        base, size = log.directory, log.size
        raw_path = log.path(RAW)

        def bare() -> float:
            t = time.perf_counter()
            with open(raw_path, "rb") as f:
                for line in f:
                    orjson.loads(line)
            return time.perf_counter() - t

        def store_read() -> float:
            store = open_store(f"file:{base}", fsync=False)
            t = time.perf_counter()
            for _ in store.read(RAW):
                pass
            took = time.perf_counter() - t
            store.close()
            return took

        def start(first_poll: bool) -> float:
            store = open_store(f"file:{base}", writer="worker", fsync=False)
            worker = Worker(_settings(base, _OneNewAlert.url), store, clock=Clock(),
                            client_factory=lambda url: _OneNewAlert())  # fmt: skip
            t = time.perf_counter()
            worker.start()
            if first_poll:
                worker.poll_once()
            took = time.perf_counter() - t
            assert worker.parse.position == worker.index.seq == size + first_poll
            worker.started = False  # no worker.stopped: keep the runs identical
            store.close()
            if first_poll:  # take the new alert, its parse and the worker events back out: every run starts alike
                for stream, lines in ((RAW, size), (PARSED, size)):
                    _truncate_to_lines(log.path(stream), lines)
            _truncate_to_lines(log.path(WORKER), worker_lines)
            return took

        with open(log.path(WORKER), "rb") as f:
            worker_lines = sum(1 for _ in f)
        bare()  # warm the page cache
        # Rounds of all four, so that a shared machine's changing load falls on each alike; medians of the rounds.
        runs: list[tuple[float, float, float, float]] = [
            (bare(), store_read(), start(False), start(True)) for _ in range(RUNS)
        ]
        baseline, reading, started, first = (statistics.median(r[k] for r in runs) for k in range(4))
        cold_baseline, _, cold_start, cold_first = runs[0]  # the fresh log has nothing saved: round 1 saves it all
        launched, rss, peak = _main_py(base)
        with tempfile.TemporaryDirectory(prefix="autosig-bench-empty-") as empty:
            _, empty_rss, _ = _main_py(Path(empty))
        mb = raw_path.stat().st_size / 1e6
        label = f"{size:,} raw events ({mb:,.0f} MB)"
        loop = "orjson.loads loop over the raw file"
        # The store's own decoding, so the worker's share can be read off.
        rows.append(Row("worker", f"store.read of {label}", reading, "s", loop, baseline))
        rows.append(Row("worker", f"worker start-up (index, worker.started) at {label}", started, "s", loop, baseline,
                        "<= 2x baseline", started <= 2 * baseline))  # fmt: skip
        rows.append(Row("worker", "  + first poll recording a new alert (needs the store key indexes)", first, "s",
                        loop, baseline, "<= 2x baseline", first <= 2 * baseline))  # fmt: skip
        rows.append(Row("worker", "  round 1 start-up, nothing saved yet (builds, saves the message index)",
                        cold_start, "s", loop, cold_baseline))  # fmt: skip
        rows.append(Row("worker", "  round 1 + first poll (builds, saves the key tables)", cold_first, "s", loop,
                        cold_baseline))  # fmt: skip
        rows.append(Row("worker", "python main.py: launch -> first poll recorded", launched, "s", loop, baseline))
        empty = "python main.py on an empty log"
        rows.append(Row("worker", f"python main.py RSS after its first poll ({size:,} raw alerts)", rss, "MiB", empty,
                        empty_rss, "<= 200 MiB", rss <= 200))  # fmt: skip
        rows.append(Row("worker", "python main.py peak RSS (VmHWM)", peak, "MiB", empty, empty_rss))


def _truncate_to_lines(path: Path, lines: int) -> None:
    with open(path, "r+b") as f:
        end = 0
        for _ in range(lines):
            end += len(f.readline())
        f.truncate(end)


def run(args) -> list[Row]:
    rows: list[Row] = []
    _ingestion(rows, backfill=3000, steady_polls=100, per_poll=5)
    _startup(rows, getattr(args, "size", None) or DEFAULT_SIZE)
    return rows
