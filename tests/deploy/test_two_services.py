"""The Railway shape end to end: the worker (`python main.py`) and the web (the exact gunicorn start command, PORT
set) run in different working directories — like two Railway services, each with its own copy of the repository and
its own disk — and share nothing but the database named by AUTOSIG_STORE_URL. The Whop simulator publishes; the
dashboard's API must follow. Then every database session of both services is terminated, repeatedly: both recover,
and the log neither loses nor duplicates anything."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests
from auditor import audit
from events.pg_helpers import schema_url, terminate

from autosig.events import open_store

ROOT = Path(__file__).resolve().parents[2]
WEB_START = "gunicorn --bind 0.0.0.0:$PORT --workers 2 --timeout 120 web:app"
PASSWORD = "dash-Pw-7731"
TOKEN = "whop-Tok-5512"

pytestmark = pytest.mark.pg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child process whose output is collected on a thread (so a full pipe never blocks it)."""

    def __init__(self, args: list[str] | str, cwd: Path, env: dict[str, str], shell: bool = False) -> None:
        self.p = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            shell=shell,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.p.stdout:  # type: ignore[union-attr]
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self, timeout: float = 20) -> int:
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(10)
        self._reader.join(5)
        return self.p.returncode


def wait_until(predicate, timeout: float, what: str, procs: list[Proc] = ()):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.p.args}\n{p.output[-3000:]}" for p in procs)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}\n{logs}")


@pytest.fixture
def deployment(pg_url, tmp_path):
    """Simulator, worker and web, each in its own directory; yields (web base URL, store URL, procs)."""
    gen = schema_url(pg_url)
    store_url = next(gen)
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AUTOSIG_", "WHOP_", "DASHBOARD_", "POLL_", "PORT"))
    }
    base_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base_env.get('PATH', '')}"
    base_env["AUTOSIG_FSYNC"] = "never"
    procs: list[Proc] = []
    try:
        sim_dir, worker_dir, web_dir = (tmp_path / n for n in ("simulator", "worker", "web"))
        for d in (sim_dir, worker_dir, web_dir):
            d.mkdir()
        # Each service gets its own copy of what its start command needs, as with two Railway containers.
        shutil.copy(ROOT / "main.py", worker_dir)
        shutil.copy(ROOT / "web.py", web_dir)
        shutil.copy(ROOT / "gunicorn.conf.py", web_dir)

        sim = Proc(
            [
                sys.executable,
                "-m",
                "autosig.sources.simulator",
                "--port",
                "0",
                "--pace",
                "0.7",
                "--history",
                "12",
                "--token",
                TOKEN,
                "--seed",
                "7",
            ],
            sim_dir,
            base_env,
        )
        procs.append(sim)
        sim_url = wait_until(lambda: sim.lines and sim.lines[0].strip(), 20, "the simulator URL", procs)
        worker_env = {
            **base_env,
            "WHOP_ALERTS_URL": sim_url,
            "WHOP_ACCESS_TOKEN": TOKEN,
            "POLL_INTERVAL_SECONDS": "1",
            "AUTOSIG_STORE_URL": store_url,
        }
        procs.append(Proc([sys.executable, "main.py"], worker_dir, worker_env))
        port = free_port()
        web_env = {
            **base_env,
            "PORT": str(port),
            "AUTOSIG_STORE_URL": store_url,
            "DASHBOARD_PASSWORD": PASSWORD,
            "POLL_INTERVAL_SECONDS": "1",
            "AUTOSIG_TAIL_POLL_SECONDS": "0.5",
        }
        procs.append(Proc(WEB_START, web_dir, web_env, shell=True))  # the shell expands $PORT, as Railway's does
        yield f"http://127.0.0.1:{port}", store_url, procs
    finally:
        codes = [p.stop() for p in reversed(procs)]
        del codes
        try:
            next(gen)
        except StopIteration:
            pass


def get(base: str, path: str) -> dict:
    r = requests.get(base + path, headers={"Authorization": f"Bearer {PASSWORD}"}, timeout=5)
    r.raise_for_status()
    return r.json()


def newest_signal_seq(base: str) -> int:
    sigs = get(base, "/api/signals?limit=1")["signals"]
    return sigs[0]["raw_seq"] if sigs else 0


def test_worker_and_web_share_only_the_database(deployment, tmp_path):
    base, store_url, procs = deployment
    sim, worker, web = procs
    assert wait_until(lambda: requests.get(base + "/health", timeout=2).status_code == 200, 60, "/health", procs)
    # Without the password nothing but /health answers, even here (DASHBOARD_PASSWORD is set, as on Railway).
    assert requests.get(base + "/api/status", timeout=5).status_code == 401

    status = wait_until(
        lambda: (s := get(base, "/api/status"))["streams"]["raw"]["seq"] >= 12 and not s["stale"] and s,
        60,
        "the web to show the worker's first polls",
        procs,
    )
    assert status["worker"]["last_success_at"] is not None
    first_raw = status["streams"]["raw"]["seq"]
    first_signal = wait_until(lambda: newest_signal_seq(base), 30, "a signal on /api/signals", procs)

    # The simulator keeps publishing: the raw stream grows and the newest signal advances, as seen by the web.
    wait_until(lambda: get(base, "/api/status")["streams"]["raw"]["seq"] > first_raw + 2, 40, "raw to grow", procs)
    wait_until(lambda: newest_signal_seq(base) > first_signal, 40, "the newest signal to advance", procs)
    assert worker.output.count("Fetching alerts...") >= 3

    # Nothing went through files: neither directory holds a stream, and the log in the database audits.
    for d in ("worker", "web"):
        assert not list((tmp_path / d).rglob("*.jsonl")), f"{d} wrote stream files"
    with open_store(store_url, writer="test", fsync=False) as store:
        raw = audit(b"".join(store.iter_lines("raw")))
        audit(b"".join(store.iter_lines("parsed")))
        audit(b"".join(store.iter_lines("worker")))
        dump = b"".join(b"".join(store.iter_lines(s)) for s in ("raw", "parsed", "worker"))
    assert len({r["key"] for r in raw}) == len(raw)
    # Secrets reach no log and no event.
    for text in (worker.output, web.output, dump.decode()):
        assert PASSWORD not in text and TOKEN not in text
    assert web.p.poll() is None and worker.p.poll() is None
    assert worker.stop() == 0  # SIGTERM: finishes, records worker.stopped
    with open_store(store_url, writer="test", fsync=False) as store:
        head = store.head("worker")
        assert head is not None and head.type == "worker.stopped"


def test_both_services_recover_from_terminated_database_connections(deployment, pg_url):
    base, store_url, procs = deployment
    sim, worker, web = procs
    schema = store_url.split("schema=")[1].split("&")[0]
    wait_until(
        lambda: (s := get(base, "/api/status"))["streams"]["raw"]["seq"] >= 12 and not s["stale"],
        60,
        "ingestion to start",
        procs,
    )
    killed = 0
    for _ in range(6):  # every session of both services, again and again, while the simulator publishes
        killed += terminate(pg_url, schema)
        time.sleep(0.7)
    assert killed >= 6, "no sessions were terminated: the test would prove nothing"
    with psycopg.connect(pg_url) as conn:
        raw_now = conn.execute(
            f'SELECT max(seq) FROM "{schema}".autosig_events WHERE stream = %s', ("raw",)
        ).fetchone()[0]
    # Both recover: the worker keeps appending, and the web (both gunicorn processes) follows past that point.
    for _ in range(4):  # several requests, so both gunicorn worker processes are asked
        wait_until(
            lambda: (s := get(base, "/api/status"))["streams"]["raw"]["seq"] > raw_now + 1 and not s["stale"],
            60,
            "the web to follow new alerts after the connections were killed",
            procs,
        )
    assert worker.p.poll() is None and web.p.poll() is None
    assert worker.stop() == 0
    with open_store(store_url, writer="test", fsync=False) as store:
        raw = audit(b"".join(store.iter_lines("raw")))
        parsed = audit(b"".join(store.iter_lines("parsed")))
        audit(b"".join(store.iter_lines("worker")))
    assert len({r["key"] for r in raw}) == len(raw)  # nothing recorded twice
    assert len({r["key"] for r in parsed}) == len(parsed)
    raw_seqs = {r["seq"] for r in raw if r["type"] in ("alert.received", "alert.edited")}
    assert {p["data"]["raw_seq"] for p in parsed} == raw_seqs  # every alert parsed, none lost across the kills


def test_worker_records_poll_failed_store_while_the_database_is_unreachable(pg_url, tmp_path):
    """The database host goes away for a few seconds (a proxy in front of it is taken down): the worker keeps
    running, then records poll.failed with reason `store` once it can write again, and carries on — with nothing
    lost or duplicated."""
    from urllib.parse import urlsplit, urlunsplit

    from deploy.tcp_proxy import TcpProxy

    parts = urlsplit(pg_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    via_proxy = urlunsplit((parts.scheme, f"{userinfo}127.0.0.1:{proxy.port}", parts.path, parts.query, ""))
    gen = schema_url(pg_url)
    direct = next(gen)
    schema_query = urlsplit(direct).query
    worker_url = f"{via_proxy}{'&' if '?' in via_proxy else '?'}{schema_query}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOSIG_", "WHOP_", "DASHBOARD_", "POLL_"))}
    env["AUTOSIG_FSYNC"] = "never"
    (tmp_path / "sim").mkdir()
    (tmp_path / "worker").mkdir()
    shutil.copy(ROOT / "main.py", tmp_path / "worker")
    sim = Proc(
        [sys.executable, "-m", "autosig.sources.simulator", "--port", "0", "--pace", "0.5", "--history", "12"]
        + ["--token", TOKEN, "--seed", "3"],
        tmp_path / "sim",
        env,
    )
    procs = [sim]
    try:
        sim_url = wait_until(lambda: sim.lines and sim.lines[0].strip(), 20, "the simulator URL", procs)
        worker = Proc(
            [sys.executable, "main.py"],
            tmp_path / "worker",
            {
                **env,
                "WHOP_ALERTS_URL": sim_url,
                "WHOP_ACCESS_TOKEN": TOKEN,
                "POLL_INTERVAL_SECONDS": "1",
                "AUTOSIG_STORE_URL": worker_url,
            },
        )
        procs.append(worker)
        store = open_store(direct, writer="test", fsync=False)
        wait_until(lambda: store.last_seq("raw") >= 12, 60, "the first poll", procs)
        proxy.down()
        # down until the worker has met the outage (a fixed few seconds can pass between two polls on a busy machine)
        wait_until(lambda: "the event store refused a write" in worker.output, 30, "a write refused by the outage",
                   procs)  # fmt: skip
        time.sleep(1)
        assert worker.p.poll() is None, worker.output[-2000:]
        proxy.up()

        def failed_then_recovered():
            events = list(store.read("worker"))
            failed = [e for e in events if e.type == "poll.failed" and e.data.get("reason") == "store"]
            return failed and any(e.type == "poll.completed" and e.seq > failed[0].seq for e in events)

        wait_until(failed_then_recovered, 60, "poll.failed reason store, then a successful poll", procs)
        raw_then = store.last_seq("raw")
        wait_until(lambda: store.last_seq("raw") > raw_then, 30, "ingestion to continue", procs)
        assert worker.stop() == 0
        raw = audit(b"".join(store.iter_lines("raw")))
        parsed = audit(b"".join(store.iter_lines("parsed")))
        audit(b"".join(store.iter_lines("worker")))
        store.close()
        assert len({r["key"] for r in raw}) == len(raw)
        assert {p["data"]["raw_seq"] for p in parsed} == {r["seq"] for r in raw}
        assert TOKEN not in worker.output
    finally:
        for p in reversed(procs):
            p.stop()
        proxy.down()
        try:
            next(gen)
        except StopIteration:
            pass


def test_one_worker_per_database_and_a_vanished_one_is_taken_over(pg_url, tmp_path):
    """A redeploy's overlap on Railway: a second worker on the same database waits, naming the holder, and appends
    nothing; when the first vanishes without a word (SIGKILL, as a container that is gone), the second takes over
    once the lease expires (shortened here with the lease_seconds URL option)."""
    gen = schema_url(pg_url)
    url = next(gen)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOSIG_", "WHOP_", "DASHBOARD_", "POLL_"))}
    env["AUTOSIG_FSYNC"] = "never"
    for d in ("sim", "a", "b"):
        (tmp_path / d).mkdir()
    for d in ("a", "b"):
        shutil.copy(ROOT / "main.py", tmp_path / d)
    sim = Proc(
        [sys.executable, "-m", "autosig.sources.simulator", "--port", "0", "--pace", "0.5", "--history", "5"]
        + ["--token", TOKEN, "--seed", "5"],
        tmp_path / "sim",
        env,
    )
    procs = [sim]
    store = None
    try:
        sim_url = wait_until(lambda: sim.lines and sim.lines[0].strip(), 20, "the simulator URL", procs)
        worker_env = {
            **env,
            "WHOP_ALERTS_URL": sim_url,
            "WHOP_ACCESS_TOKEN": TOKEN,
            "POLL_INTERVAL_SECONDS": "0.5",
            "AUTOSIG_STORE_URL": f"{url}&lease_seconds=3",
        }
        a = Proc([sys.executable, "main.py"], tmp_path / "a", worker_env)
        procs.append(a)
        store = open_store(url, writer="test", fsync=False)
        wait_until(lambda: store.last_seq("raw") >= 5, 60, "worker A's first poll", procs)
        b = Proc([sys.executable, "main.py"], tmp_path / "b", worker_env)
        procs.append(b)
        wait_until(lambda: f"pid {a.p.pid}" in b.output, 30, "worker B to name worker A as the holder", procs)
        time.sleep(1.5)
        writers = {r["meta"]["pid"] for r in audit(b"".join(store.iter_lines("raw")))}
        assert writers == {a.p.pid}, "worker B appended while A held the lease"
        os.killpg(a.p.pid, signal.SIGKILL)
        a.p.wait(10)
        wait_until(
            lambda: any(e.meta["pid"] == b.p.pid and e.type == "poll.completed" for e in store.read("worker")),
            30,
            "worker B to take over after the lease expired",
            procs,
        )
        assert b.stop() == 0
        raw = audit(b"".join(store.iter_lines("raw")))
        audit(b"".join(store.iter_lines("worker")))
        assert len({r["key"] for r in raw}) == len(raw)
    finally:
        if store is not None:
            store.close()
        for p in reversed(procs):
            p.stop()
        try:
            next(gen)
        except StopIteration:
            pass
