"""The exact production command in a subprocess, fed by another process appending to the streams."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from netns import netns_fixture  # noqa: F401 - the "netns" fixture

from autosig.events import open_store
from webapp.conftest import Feed, sig

ROOT = Path(__file__).resolve().parents[2]
COMMAND = "gunicorn --bind 0.0.0.0:$PORT --workers 2 --timeout 120 web:app"
BOUND = 2.0  # seconds: a new line on disk is served by both workers within this


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Feeder:
    """Another process appending to the streams."""

    def __init__(self, log_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("feeder.py")), str(log_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )

    def __call__(self, op: str, **kwargs) -> dict:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(10)


class Server:
    def __init__(self, log_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PORT": str(self.port), "AUTOSIG_LOG_DIR": str(log_dir), "AUTOSIG_FSYNC": "never",
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.pop("DASHBOARD_PASSWORD", None)
        env.update(extra_env or {})
        self.log = open(log_dir.parent / "gunicorn.log", "w+b")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(["sh", "-c", COMMAND], cwd=ROOT, env=env, stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        try:
            self._wait_for_workers()
        except BaseException:
            self.stop()
            raise

    def _wait_for_workers(self) -> None:
        self.pids: set[str] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if requests.get(self.url + "/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise AssertionError("gunicorn did not answer /health within 30 s:\n" + self.output())
        # learn both worker pids, so every later check can insist on hearing from each of them
        deadline = time.monotonic() + 15
        while len(self.pids) < 2 and time.monotonic() < deadline:
            self.pids.add(self.get("/health").headers["X-AutoSig-Worker"])
        assert len(self.pids) == 2, f"expected two workers, saw {self.pids}"

    def get(self, path: str, **kwargs) -> requests.Response:
        # a fresh connection each time, so the kernel spreads requests over both workers
        return requests.get(self.url + path, headers={"Connection": "close", **kwargs.pop("headers", {})},
                            timeout=5, **kwargs)

    def until_all_workers(self, path: str, predicate, timeout: float) -> float:
        """Seconds until every worker answered `path` with a response satisfying predicate."""
        start = time.monotonic()
        ok: set[str] = set()
        last = None
        while time.monotonic() - start < timeout:
            r = self.get(path)
            last = r
            if predicate(r):
                ok.add(r.headers["X-AutoSig-Worker"])
                if ok >= self.pids:
                    return time.monotonic() - start
        raise AssertionError(f"only workers {ok} of {self.pids} satisfied the check on {path} within {timeout} s; "
                             f"last answer {last.status_code if last else None}: {last.text[:300] if last else ''}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self) -> str:
        """SIGTERM to the whole process group (sh, gunicorn master, workers); waits until every one is gone."""
        group = self.proc.pid  # start_new_session: the group id is the shell's pid
        try:
            os.killpg(group, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait(20)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.killpg(group, signal.SIGKILL)
            raise AssertionError("gunicorn did not stop within 20 s of SIGTERM:\n" + self.output())
        out = self.output()
        self.log.close()
        return out


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not shutil.which("gunicorn", path=str(Path(sys.executable).parent)):
        pytest.skip("gunicorn is not installed in this environment")
    log_dir = tmp_path_factory.mktemp("served") / "logs"
    log_dir.mkdir()
    # history with a corrupt line in the middle of the parsed stream, written before the server starts
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.started(stale=60)
    feed.completed()
    for i in range(3):
        feed.alert(f"BTO OLD{i} 100c @ 1", signals=[sig(f"OLD{i}")])
    store.close()
    path = log_dir / "alerts_parsed.jsonl"
    lines = path.read_bytes().split(b"\n")
    lines[1] = b"X" + lines[1][1:]  # line 2 no longer parses; same length, so nothing looks truncated
    path.write_bytes(b"\n".join(lines))
    server = Server(log_dir)
    feeder = Feeder(log_dir)
    yield server, feeder
    feeder.close()
    out = server.stop()
    assert "Traceback" not in out, out


def test_new_signal_visible_in_both_workers_within_bound(served):
    server, feeder = served
    appended = time.monotonic()
    seqs = feeder("alert", text="BTO 2 NEWONE 600c 1/17 @ 1.25", tickers=["NEWONE"])

    def has_it(r: requests.Response) -> bool:
        return any(s["raw_seq"] == seqs["raw_seq"] for s in r.json()["signals"])

    server.until_all_workers("/api/signals?ticker=newone", has_it, timeout=BOUND)
    assert time.monotonic() - appended < BOUND + 0.5


def test_sse_delivers_new_signal_and_resumes(served):
    server, feeder = served
    lines: queue.Queue[str] = queue.Queue()
    resp = requests.get(server.url + "/api/stream", stream=True, timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/event-stream")

    def reader() -> None:
        try:
            for line in resp.iter_lines(chunk_size=1, decode_unicode=True):
                lines.put(line)
        except Exception:  # noqa: BLE001 - the stream is closed at the end of the test
            pass

    threading.Thread(target=reader, daemon=True).start()
    # the first status arrives at once
    got_status = False
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not got_status:
        got_status = lines.get(timeout=3) == "event: status"
    assert got_status
    seqs = feeder("alert", text="STC SSEONE 600c @ 2", tickers=["SSEONE"])
    deadline = time.monotonic() + BOUND
    event_id = None
    data = None
    current_id = None
    while time.monotonic() < deadline and data is None:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line.startswith("id: "):
            current_id = int(line[4:])
        elif line == "event: signal":
            event_id = current_id
        elif line.startswith("data: ") and event_id is not None:
            data = json.loads(line[6:])
    resp.close()
    assert data is not None, "no signal event within the bound"
    assert data["signal"]["ticker"] == "SSEONE" and data["raw_seq"] == seqs["raw_seq"]
    assert event_id == seqs["parsed_seq"]
    # resume: a reconnect with Last-Event-ID just before it gets it again, and nothing older
    with requests.get(server.url + "/api/stream", headers={"Last-Event-ID": str(event_id - 1)}, stream=True,
                      timeout=10) as again:
        seen = []
        for line in again.iter_lines(chunk_size=1, decode_unicode=True):
            seen.append(line)
            if line.startswith("data: ") and seen[-2:-1] == ["event: signal"]:
                break
        assert f"id: {event_id}" in seen
        assert json.loads(seen[-1][6:])["signal"]["ticker"] == "SSEONE"


def test_corrupt_line_is_named_while_everything_serves(served):
    server, feeder = served

    def names_it(r: requests.Response) -> bool:
        problems = r.json()["problems"]
        return any(p["stream"] == "parsed" and p["line"] == 2 for p in problems)

    server.until_all_workers("/api/status", names_it, timeout=BOUND)
    # the alert whose parse was on the corrupt line is not listed; the others are, and new ones keep coming
    tickers = {s["signal"]["ticker"] for s in server.get("/api/signals").json()["signals"]}
    assert {"OLD0", "OLD2"} <= tickers and "OLD1" not in tickers  # line 2 held the parse of OLD1
    seqs = feeder("alert", text="BTO AFTERBAD 1c @ 1", tickers=["AFTERBAD"])
    server.until_all_workers(
        "/api/signals?ticker=AFTERBAD",
        lambda r: [s["raw_seq"] for s in r.json()["signals"]] == [seqs["raw_seq"]],
        timeout=BOUND,
    )
    assert server.get("/").status_code == 200
    assert server.get("/health").json() == {"status": "ok"}


def test_stale_and_health_ingestion_turn_when_polls_stop(served):
    server, feeder = served
    feeder("started", poll=0.5, stale=1.5)
    feeder("completed")
    server.until_all_workers("/health/ingestion", lambda r: r.status_code == 200 and r.json() == {"stale": False},
                             timeout=BOUND)
    assert server.get("/api/status").json()["stale"] is False
    # no more polls: within stale_after (+ the bound) every worker says stale
    server.until_all_workers("/health/ingestion", lambda r: r.status_code == 503 and r.json() == {"stale": True},
                             timeout=1.5 + BOUND)
    server.until_all_workers("/api/status", lambda r: r.json()["stale"] is True, timeout=BOUND)
    feeder("completed")
    server.until_all_workers("/health/ingestion", lambda r: r.status_code == 200, timeout=BOUND)


def test_pid_label_in_metrics_matches_header(served):
    server, _ = served
    r = server.get("/metrics")
    assert f'autosig_up{{pid="{r.headers["X-AutoSig-Worker"]}"}} 1.0' in r.text


def test_loopback_rule_over_real_sockets(served, netns):
    server, _ = served
    spoofed = server.get("/api/status", headers={"X-Forwarded-For": "203.0.113.9"})
    assert spoofed.status_code == 200  # the socket peer is loopback; the header changes nothing
    # a client in a network namespace of its own, connecting over a veth pair: its address is not loopback
    host_address, client = netns
    url = f"http://{host_address}:{server.port}"
    r = client(url + "/api/status", headers={"X-Forwarded-For": "127.0.0.1"})
    assert r.status_code == 401 and "DASHBOARD_PASSWORD" in r.json()["error"]
    assert client(url + "/health").status_code == 200


def test_sse_cap_answers_503(served):
    from autosig.web.stream import MAX_STREAMS

    server, _ = served
    pid = None
    held = []
    try:
        # fill one worker's cap: keep streams open until one is refused, count those on the refusing worker
        for _ in range(4 * MAX_STREAMS):
            r = requests.get(server.url + "/api/stream", stream=True, timeout=10)
            if r.status_code == 503:
                pid = r.headers["X-AutoSig-Worker"]
                assert "too many" in r.json()["error"]
                break
            held.append(r)
        assert pid is not None, "no stream was refused"
        assert sum(1 for r in held if r.headers["X-AutoSig-Worker"] == pid) == MAX_STREAMS
        # ordinary requests are still served by that worker while its streams are open
        server.until_all_workers("/api/status", lambda r: r.status_code == 200, timeout=BOUND)
    finally:
        for r in held:
            r.close()
