"""Processes for the soak and the reliability tests: the web under its exact production command, process metrics
from /proc, and reading streams incrementally."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import requests

ROOT = Path(__file__).resolve().parents[2]
WEB_COMMAND = "gunicorn --bind 127.0.0.1:$PORT --workers 2 --timeout 120 web:app"
FILES = {"raw": "alerts_raw.jsonl", "parsed": "alerts_parsed.jsonl", "worker": "worker.jsonl"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stat(pid: int) -> tuple[int, int]:
    """(ppid, pgrp) of a process."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[2])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Web:
    """`gunicorn ... web:app` exactly as deployed (loopback bind), in its own process group."""

    def __init__(self, log_dir: Path, out: Path, store_url: str | None = None, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOSIG_", "DASHBOARD_"))}
        full_env.update(
            PORT=str(self.port),
            AUTOSIG_LOG_DIR=str(log_dir),
            AUTOSIG_STORE_URL=store_url or f"file:{log_dir}",
            AUTOSIG_FSYNC="never",
            AUTOSIG_TAIL_POLL_SECONDS="0.2",
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        full_env.update(env)
        self.out_path = out
        self.log = open(out, "ab")  # noqa: SIM115 - closed in kill()/stop()
        self.proc = subprocess.Popen(
            ["sh", "-c", WEB_COMMAND], cwd=ROOT, env=full_env, stdout=self.log, stderr=self.log, start_new_session=True
        )
        self._wait_serving()

    def _wait_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if requests.get(self.url + "/health", timeout=5).status_code == 200 and len(self.worker_pids()) == 2:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError("the web did not serve within 60 s:\n" + self.output())

    def group(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if proc_stat(int(entry))[1] == self.proc.pid:
                        pids.append(int(entry))
                except (OSError, ValueError, IndexError):
                    continue
        return pids

    def worker_pids(self) -> list[int]:
        """The gunicorn worker processes (children of the gunicorn master, not of the shell)."""
        gunicorns: dict[int, int] = {}  # pid -> ppid, of python processes running gunicorn
        for pid in self.group():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"gunicorn" in cmd and not cmd.startswith(b"sh\x00"):
                    gunicorns[pid] = proc_stat(pid)[0]
            except OSError:
                continue
        return sorted(pid for pid, ppid in gunicorns.items() if ppid in gunicorns)

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(self.url + path, headers={"Connection": "close"}, timeout=10, **kwargs)

    def from_each_worker(self, path: str, timeout: float = 30) -> dict[str, requests.Response]:
        """One answer to `path` from each of the two worker processes."""
        answers: dict[str, requests.Response] = {}
        deadline = time.monotonic() + timeout
        while len(answers) < 2:
            assert time.monotonic() < deadline, f"did not hear from both workers on {path}"
            r = self.get(path)
            answers.setdefault(r.headers["X-AutoSig-Worker"], r)
        return answers

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL to the whole group: master and workers die at once, mid-whatever."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


class StreamReader:
    """Complete lines of a stream file, read incrementally (a torn tail waits for its newline)."""

    def __init__(self, log_dir: Path, stream: str) -> None:
        self.path = log_dir / FILES[stream]
        self.offset = 0
        self.events: list[dict] = []

    def refresh(self) -> list[dict]:
        if not self.path.exists():
            return self.events
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        cut = data.rfind(b"\n") + 1
        for line in data[:cut].splitlines():
            self.events.append(orjson.loads(line))
        self.offset += cut
        return self.events


def last_seq(log_dir: Path, stream: str) -> int:
    path = log_dir / FILES[stream]
    if not path.exists():
        return 0
    data = path.read_bytes()
    data = data[: data.rfind(b"\n") + 1]
    if not data:
        return 0
    return orjson.loads(data[data.rstrip(b"\n").rfind(b"\n") + 1 :])["seq"]


def normalized_status(doc: dict) -> dict:
    doc = dict(doc)
    doc["lag"] = {k: v for k, v in doc["lag"].items() if not k.endswith("age_seconds")}
    if isinstance(doc.get("web"), dict):
        doc["web"] = {k: v for k, v in doc["web"].items() if k != "pid"}  # which process answered
    return doc


def views(web: Web) -> dict[str, dict[str, object]]:
    """The answers compared with a fresh replay, from each worker process of `web`."""
    paths = ["/api/status", "/api/signals?limit=500", "/api/alerts?limit=500",
             "/api/alerts?kind=signal&limit=500", "/api/alerts?kind=non_signal&limit=500",
             "/api/alerts?kind=unparseable&limit=500"]
    out: dict[str, dict[str, object]] = {}
    for path in paths:
        for pid, r in web.from_each_worker(path).items():
            assert r.status_code == 200, (path, r.status_code)
            doc = r.json()
            out.setdefault(pid, {})[path] = normalized_status(doc) if path == "/api/status" else doc
    return out


def synced(web: Web, log_dir: Path | None = None, heads: dict[str, int] | None = None) -> bool:
    """Whether both web workers show the streams' heads (of the files in log_dir, or as given)."""
    heads = heads if heads is not None else {s: last_seq(log_dir, s) for s in FILES}  # type: ignore[arg-type]
    for r in web.from_each_worker("/api/status").values():
        streams = r.json()["streams"]
        if any((streams.get(s) or {}).get("seq") != heads[s] for s in heads):
            return False
    return True


def assert_same_as_replay(web: Web, fresh: Web) -> None:
    """Every worker process of `web` answers exactly as a fresh web that replayed the streams from scratch."""
    replay = next(iter(views(fresh).values()))
    for pid, answers in views(web).items():
        for path, doc in answers.items():
            differences = _differences(doc, replay[path])
            assert doc == replay[path], f"web worker {pid} differs from a fresh replay on {path}: {differences}"


def _differences(got: object, want: object, where: str = "") -> list[str]:
    """Where two JSON documents differ (at most 10 places), for a failure message that says what to look at."""
    if isinstance(got, dict) and isinstance(want, dict):
        out = []
        for key in sorted(set(got) | set(want), key=str):
            out += _differences(got.get(key, "<missing>"), want.get(key, "<missing>"), f"{where}.{key}")
        return out[:10]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for g, w in zip(got, want, strict=True) for d in _differences(g, w, f"{where}[]")][:10]
    return [] if got == want else [f"{where or '.'}: {got!r} != {want!r}"[:300]]
