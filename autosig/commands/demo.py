"""`autosig demo` (`make demo`): the Whop simulator, the broker simulator, the worker (trading paper against the broker
simulator) and the web as separate processes on loopback.

Streams go to logs/demo (never the real store). Ctrl-C stops them all: each runs in its own process group, which is
signalled as a whole (gunicorn's workers included) and killed if it does not leave in time.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import requests

ROOT = Path(__file__).resolve().parents[2]
_STOP_GRACE_S = 8.0
_DEMO_KEY_ID = "demo-key-id"
# Files a previous demo left that a new one replaces (only these are removed; nothing else in the directory).
# Lock files stay: deleting a lock someone holds would let a second writer in.
_OLD_FILES = ("*.jsonl", "*.jsonl.torn-*", "app.log*", "*.out")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", default="logs/demo", help="where the demo's streams go (default logs/demo)")
    parser.add_argument("--pace", type=float, default=4.0, help="seconds between simulated alerts (default 4)")
    parser.add_argument("--poll-interval", type=float, default=2.0, help="worker POLL_INTERVAL_SECONDS (default 2)")
    parser.add_argument("--history", type=int, default=40, help="alerts already posted when the demo starts")
    parser.add_argument("--port", type=int, default=0, help="dashboard port (default: a free one)")
    parser.add_argument("--keep", action="store_true", help="keep the previous demo's streams")
    parser.add_argument("--quiet", action="store_true", help="do not echo the worker's and web's logs")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _echo(stream: IO[bytes], prefix: str, sink: IO[bytes], show: bool) -> None:
    """Copies a child's output to its log file, echoing the interesting lines with a prefix."""
    for line in iter(stream.readline, b""):
        sink.write(line)
        sink.flush()
        if show and b"Fetching alerts..." not in line:
            text = line.decode("utf-8", "replace").rstrip()
            print(f"[{prefix}] {text}", flush=True)
    stream.close()


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.dir = Path(args.dir).resolve()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.threads: list[threading.Thread] = []
        self.files: list[IO[bytes]] = []
        self.stop = threading.Event()
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("WHOP_", "AUTOSIG_", "POLL_INTERVAL", "SIMULATOR_", "PORT"))
        }
        self.env.update(
            AUTOSIG_LOG_DIR=str(self.dir),
            AUTOSIG_STORE_URL=f"file:{self.dir}",
            AUTOSIG_DEMO_ID=secrets.token_hex(8),  # marks every process of this demo
            PYTHONUNBUFFERED="1",
        )

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], *, capture_first_line: bool = False) -> str:
        log = open(self.dir / f"{name}.out", "ab")
        self.files.append(log)
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: Ctrl-C reaches the demo only, which stops it in order
        )
        self.procs[name] = proc
        first = ""
        if capture_first_line:
            first = proc.stdout.readline().decode("utf-8", "replace").strip()  # type: ignore[union-attr]
        thread = threading.Thread(
            target=_echo, args=(proc.stdout, name, log, not self.args.quiet and name not in ("simulator", "broker")), daemon=True
        )
        thread.start()
        self.threads.append(thread)
        return first

    def run(self) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        holder = _demo_running(self.dir)
        if holder:
            print(f"autosig demo: a worker is already running on {self.dir}: {holder}; stop it first", flush=True)
            return 1
        if not self.args.keep:
            for pattern in _OLD_FILES:
                for path in self.dir.glob(pattern):
                    path.unlink(missing_ok=True)
        token = secrets.token_urlsafe(24)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop.set())
        try:
            return self._run(token)
        finally:
            self.shutdown()

    def _run(self, token: str) -> int:
        # The simulator signs a chat.message.created webhook per alert and posts it to the web, which wakes the
        # worker's poll through `inbox`: alerts reach the log in milliseconds, not at the next poll.
        self.port = self.args.port or _free_port()
        webhook_secret = "ws_" + secrets.token_hex(24)
        self.webhook_secret = webhook_secret
        sim_env = {**self.env, "SIMULATOR_TOKEN": token, "SIMULATOR_WEBHOOK_SECRET": webhook_secret}
        url = self._spawn(
            "simulator",
            [
                sys.executable,
                "-m",
                "autosig.sources.simulator",
                "--port",
                "0",
                "--pace",
                str(self.args.pace),
                "--history",
                str(self.args.history),
                "--webhook-url",
                f"http://127.0.0.1:{self.port}/webhooks/whop",
            ],
            sim_env,
            capture_first_line=True,
        )
        if not url.startswith("http"):
            print(f"autosig demo: the simulator did not start (see its output in {self.dir / 'simulator.out'})")
            return 1
        print(f"simulator: {url} (publishing an alert every {self.args.pace:g} s)", flush=True)
        broker_env = {**self.env, "APCA_API_KEY_ID": _DEMO_KEY_ID, "APCA_API_SECRET_KEY": token}
        broker = self._spawn(
            "broker",
            [sys.executable, "-m", "autosig.brokers.simulator", "--port", "0", "--walk-from-orders"],
            broker_env,
            capture_first_line=True,
        )
        if not broker.startswith("http"):
            print(f"autosig demo: the broker simulator did not start (see {self.dir / 'broker.out'})")
            return 1
        print(f"broker simulator: {broker} (Alpaca's API; quotes walk around each order's price)", flush=True)
        worker_env = {
            **self.env,
            "WHOP_ALERTS_URL": url,
            "WHOP_ACCESS_TOKEN": token,
            "POLL_INTERVAL_SECONDS": str(self.args.poll_interval),
            # paper trading against the broker simulator: decisions, orders and fills within a minute
            "DRY_RUN": "false",
            "AUTOSIG_BROKER": "sim",
            "AUTOSIG_BROKER_URL": broker,
            "APCA_API_KEY_ID": _DEMO_KEY_ID,
            "APCA_API_SECRET_KEY": token,
        }
        main_py = ROOT / "main.py"
        worker_argv = (
            [sys.executable, str(main_py)]
            if main_py.exists()
            else [sys.executable, "-c", "from autosig.worker import main; raise SystemExit(main())"]
        )
        self._spawn("worker", worker_argv, worker_env)
        print(f"worker: python main.py, streams in {self.dir}", flush=True)
        print(f"orders: autosig orders --store file:{self.dir}   (or: autosig tail --stream orders --store "
              f"file:{self.dir})", flush=True)  # fmt: skip
        dashboard = self._start_web()
        if dashboard:
            print(f"\nDashboard: {dashboard}\n", flush=True)
        print("Ctrl-C stops them all.", flush=True)
        while not self.stop.wait(0.25):
            for name, proc in self.procs.items():
                code = proc.poll()
                if code is not None:
                    print(f"autosig demo: the {name} exited unexpectedly (code {code}); stopping the demo", flush=True)
                    return 1
        print("\nstopping the demo...", flush=True)
        return 0

    def _start_web(self) -> str | None:
        if not (ROOT / "web.py").exists():
            print("web: web.py is not in this build yet; running the simulator and the worker only", flush=True)
            return None
        gunicorn = Path(sys.executable).with_name("gunicorn")
        if not gunicorn.exists():
            found = shutil.which("gunicorn")
            if found is None:
                print("web: gunicorn is not installed; running the simulator and the worker only", flush=True)
                return None
            gunicorn = Path(found)
        port = self.port
        web_env = {**self.env, "POLL_INTERVAL_SECONDS": str(self.args.poll_interval), "PORT": str(port),
                   "WHOP_WEBHOOK_SECRET": self.webhook_secret}  # fmt: skip
        self._spawn(
            "web",
            [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "120", "web:app"],
            web_env,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.stop.is_set():
            if self.procs["web"].poll() is not None:
                return None  # the main loop reports the exit
            try:
                if requests.get(f"{base}/health", timeout=1).status_code == 200:
                    return f"{base}/"
            except requests.RequestException:
                pass
            self.stop.wait(0.2)
        return f"{base}/"

    def shutdown(self) -> None:
        """SIGTERM to every process group (worker first: it records worker.stopped), then SIGKILL what is left."""
        order = [n for n in ("worker", "web", "broker", "simulator") if n in self.procs]
        for name in order:
            _signal_group(self.procs[name].pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_S
        for name in order:
            proc = self.procs[name]
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"autosig demo: the {name} did not stop in time; killing it", flush=True)
        for name in order:
            # The group may outlive its leader (gunicorn workers): kill whatever is still in it.
            _signal_group(self.procs[name].pid, signal.SIGKILL)
            try:
                self.procs[name].wait(5)
            except subprocess.TimeoutExpired:
                pass
        for thread in self.threads:
            thread.join(timeout=2)
        for f in self.files:
            f.close()


def _demo_running(directory: Path) -> str | None:
    """Who holds the worker lease of a previous demo still running in this directory, if anyone."""
    from autosig.events import open_store

    store = open_store(f"file:{directory}", writer="demo", fsync=False)
    try:
        holder = store.try_acquire_lease("worker", "autosig demo (checking)")
        return holder
    finally:
        store.close()  # releases the lease if we just took it


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run(args: argparse.Namespace) -> int:
    return Demo(args).run()
