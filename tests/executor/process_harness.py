"""Real processes for the executor's tests: the broker simulator as `python -m autosig.brokers.simulator`, the worker
as `python main.py` (its executor thread trading at that simulator), and reading what they recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from autosig.brokers.simulator import SimulatorControl

ROOT = Path(__file__).resolve().parents[2]
WHOP_TOKEN = "whop-tok-Exec7Qm2Lx9Vd3Rk"
# Distinctive keys, so that a search for them in logs and streams cannot match anything by chance.
ALPACA_KEY = "PKSIMkey4Hq8Zt2Wn6Yc"
ALPACA_SECRET = "simSecret9Jd3Lp7Xr1Mv5Qb8Tf2Kw"
TRADIER_TOKEN = "simTradierTok6Rn2Hs8Vc4Pz"
TRADIER_ACCOUNT = "VA000001"
FINAL = frozenset({"filled", "canceled", "expired", "rejected"})


class BrokerProc:
    """The broker simulator in a process of its own, with the keys above, and its control client."""

    def __init__(self, *, seed: int, walk_from_orders: bool = True) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("APCA_", "TRADIER_"))}
        env.update(APCA_API_KEY_ID=ALPACA_KEY, APCA_API_SECRET_KEY=ALPACA_SECRET, TRADIER_ACCESS_TOKEN=TRADIER_TOKEN,
                   TRADIER_ACCOUNT_ID=TRADIER_ACCOUNT)  # fmt: skip
        args = [sys.executable, "-m", "autosig.brokers.simulator", "--port", "0", "--seed", str(seed)]
        if walk_from_orders:
            args.append("--walk-from-orders")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        self.url = (self.proc.stdout.readline() if self.proc.stdout else "").strip()
        assert self.url.startswith("http://127.0.0.1:"), f"the broker simulator did not start: {self.url!r}"
        self.control = SimulatorControl(self.url)

    def stop(self) -> None:
        self.control.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


def broker_env(dialect: str, url: str) -> dict[str, str]:
    """The worker's settings to trade paper at the simulator in one dialect."""
    if dialect == "tradier":
        return {"AUTOSIG_BROKER": "tradier", "AUTOSIG_BROKER_URL": url + "/v1", "TRADIER_ACCESS_TOKEN": TRADIER_TOKEN,
                "TRADIER_ACCOUNT_ID": TRADIER_ACCOUNT}  # fmt: skip
    return {"AUTOSIG_BROKER": "sim", "AUTOSIG_BROKER_URL": url, "APCA_API_KEY_ID": ALPACA_KEY,
            "APCA_API_SECRET_KEY": ALPACA_SECRET}  # fmt: skip


class Worker:
    """One `python main.py`; its output goes to files, searched afterwards for keys."""

    def __init__(self, log_dir: Path, out_dir: Path, whop_url: str, **env: str | None) -> None:
        n = len(list(out_dir.glob("worker-*.out")))
        self.out_path, self.err_path = out_dir / f"worker-{n}.out", out_dir / f"worker-{n}.err"
        full = {k: v for k, v in os.environ.items()
                if not k.startswith(("WHOP_", "AUTOSIG_", "POLL_", "LIVE_", "DRY_", "APCA_", "TRADIER_"))}  # fmt: skip
        full.update(WHOP_ALERTS_URL=whop_url, WHOP_ACCESS_TOKEN=WHOP_TOKEN, POLL_INTERVAL_SECONDS="0.1",
                    AUTOSIG_LOG_DIR=str(log_dir), AUTOSIG_FSYNC="always", PYTHONUNBUFFERED="1")  # fmt: skip
        for k, v in env.items():
            if v is None:
                full.pop(k, None)
            else:
                full[k] = v
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, env=full, stdout=out, stderr=err)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def terminate(self, timeout: float = 20.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def output(self) -> str:
        return self.out_path.read_text(errors="replace") + self.err_path.read_text(errors="replace")


def events(log_dir: Path, stream: str) -> list[dict[str, Any]]:
    """The complete lines of a stream (a line cut by a kill is left out: the store repairs it on the next start)."""
    path = log_dir / f"{'alerts_' if stream in ('raw', 'parsed') else ''}{stream}.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().split(b"\n"):
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return out


def of_type(log_dir: Path, stream: str, *types: str) -> list[dict[str, Any]]:
    return [e for e in events(log_dir, stream) if e["type"] in types]


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class OrdersRecord:
    """What the `orders` stream says, read the way the invariants need it."""

    def __init__(self, log_dir: Path) -> None:
        self.events = events(log_dir, "orders")
        self.decisions = [e for e in self.events if e["type"] in ("order.planned", "order.skipped")]
        self.planned = [e["data"] for e in self.decisions if e["type"] == "order.planned"]
        self.pieces = {p["client_order_id"]: plan for plan in self.planned for p in plan.get("pieces") or []}
        self.by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in self.events:
            coid = e["data"].get("client_order_id") if isinstance(e["data"], dict) else None
            if coid and e["type"] not in ("order.planned",):
                self.by_order[coid].append(e)
        self.starts = [e["data"] for e in self.events if e["type"] == "executor.started"]

    def unfinished(self) -> list[str]:
        """Sent (or maybe sent) pieces without a final status or a failure recorded."""
        out = []
        for coid, plan in self.pieces.items():
            if plan.get("mode") == "dry_run":
                continue
            history = self.by_order.get(coid, [])
            failed = any(e["type"] == "order.failed" for e in history)
            final = any(e["type"] == "order.updated" and e["data"]["status"] in FINAL for e in history)
            submitted_final = any(e["type"] == "order.submitted" and e["data"]["status"] in FINAL for e in history)
            if not (failed or final or submitted_final):
                out.append(coid)
        return out

    def decision_counts(self) -> Counter[str]:
        return Counter(e["key"] for e in self.decisions)


def considered(log_dir: Path, from_parsed_seq: int, version: str) -> dict[str, int]:
    """message (channel:source_id) -> its signal count, for the parses the executor must decide: after its first
    start, of the active version, of kind signal; a message's first such parse counts."""
    raws = {e["seq"]: e["data"] for e in events(log_dir, "raw")}
    out: dict[str, int] = {}
    for e in events(log_dir, "parsed"):
        data = e["data"]
        if e["seq"] <= from_parsed_seq or data.get("kind") != "signal" or str(data.get("parser_version")) != version:
            continue
        raw = raws.get(data["raw_seq"]) or {}
        out.setdefault(f"{raw.get('channel')}:{raw.get('source_id')}", len(data.get("signals") or []))
    return out
