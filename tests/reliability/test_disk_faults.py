"""The event store refusing writes while the worker runs and the web serves: a disk that fills up or fails part-way
through a line (ENOSPC, EIO at the file store's write call), and Postgres going away mid-poll.

Each time: the web keeps serving and never shows a problem (no half-written line is ever surfaced), the worker says
so on stderr and retries, records poll.failed with reason `store` once it can write, and once the store is back
nothing is lost or duplicated, the chains pass the independent auditor, and the web equals a fresh replay.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from auditor import audit
from soak.soak_harness import FILES, ROOT, Web, assert_same_as_replay, synced
from worker.worker_harness import TOKEN, wait_until

from autosig.events import open_store
from autosig.sources.simulator import Simulator

FAULTY_MAIN = Path(__file__).with_name("faulty_main.py")
REFUSED = "event store refused a write"


class Worker:
    def __init__(self, script: Path, out_dir: Path, **env: str) -> None:
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("WHOP_", "AUTOSIG_", "POLL_", "LIVE_", "DRY_"))
        }
        full_env.update({"POLL_INTERVAL_SECONDS": "0.05", "AUTOSIG_FSYNC": "never", "PYTHONUNBUFFERED": "1",
                         "WHOP_ACCESS_TOKEN": TOKEN, **env})
        self.err_path = out_dir / "worker.err"
        self.out = open(out_dir / "worker.out", "wb")  # noqa: SIM115 - closed in stop()
        self.err = open(self.err_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env=full_env, stdout=self.out,
                                     stderr=self.err)

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        rc = self.proc.wait(15)
        self.out.close()
        self.err.close()
        return rc


def check_serving(web: Web, seen_problems: list) -> None:
    """One round of what a user sees: the web answers, and names no problem (a half-written line would be one)."""
    assert web.get("/health").status_code == 200
    status = web.get("/api/status")
    assert status.status_code == 200
    seen_problems.extend(status.json()["problems"])
    assert web.get("/api/signals").status_code == 200
    assert web.get("/").status_code == 200


def check_recorded(lines: dict[str, bytes], published: list[dict]) -> list[dict]:
    streams = {s: audit(data) for s, data in lines.items()}
    raw = streams["raw"]
    received = Counter(e["data"]["source_id"] for e in raw if e["type"] == "alert.received")
    assert set(received) == {m["id"] for m in published}, "an alert was lost (or is unknown)"
    assert max(received.values()) == 1, "an alert was recorded twice"
    parses = Counter(e["data"]["raw_seq"] for e in streams["parsed"])
    assert sorted(parses) == [e["seq"] for e in raw] and max(parses.values()) == 1, "parse hole or double parse"
    return streams["worker"]


@pytest.mark.parametrize(("errno_name", "message"), [("ENOSPC", "No space left on device"),
                                                     ("EIO", "Input/output error")])
def test_write_failing_part_way_through_a_line(tmp_path: Path, errno_name: str, message: str) -> None:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    flag = tmp_path / "disk-full"
    sim = Simulator(TOKEN, history=0, seed=5).start()
    web = fresh = worker = None
    try:
        web = Web(log_dir, tmp_path / "web.log")
        published = sim.publish_many(5)
        worker = Worker(FAULTY_MAIN, tmp_path, WHOP_ALERTS_URL=sim.url, AUTOSIG_LOG_DIR=str(log_dir),
                        TEST_WRITE_FAULT_FLAG=str(flag), TEST_WRITE_FAULT_ERRNO=errno_name)
        wait_until(lambda: synced(web, log_dir) and (log_dir / FILES["raw"]).exists()
                   and len((log_dir / FILES["raw"]).read_bytes().splitlines()) == 5, 30, what="first ingest")
        flag.touch()  # the disk is full from now on
        problems: list = []
        for i in range(8):
            published.append(sim.publish(f"BTO {i + 1} SPY 60{i}c 1/17 @ 1.{i}5 while the disk is full"))
            check_serving(web, problems)
            time.sleep(0.05)
        wait_until(lambda: worker.stderr().count(REFUSED) >= 3, 30, what="the worker saying so, repeatedly")
        for _ in range(10):
            check_serving(web, problems)
            time.sleep(0.05)
        assert worker.proc.poll() is None, "the worker died instead of retrying"
        injected = len(Path(f"{flag}.count").read_bytes())
        assert injected >= 3
        flag.unlink()  # space returns
        ids = {m["id"] for m in published}
        raw_path = log_dir / FILES["raw"]

        def all_recorded() -> bool:
            data = raw_path.read_bytes()
            return all(i.encode() in data for i in ids)

        wait_until(all_recorded, 60, what="everything recorded once the disk has space")
        wait_until(lambda: b'"reason":"store"' in (log_dir / FILES["worker"]).read_bytes(), 30,
                   what="poll.failed reason store")
        wait_until(lambda: len((log_dir / FILES["parsed"]).read_bytes().splitlines()) >= len(published), 30,
                   what="everything parsed")
        assert worker.stop() == 0
        stderr = worker.stderr()
        assert message in stderr and "Traceback" not in stderr
        outcomes = check_recorded({s: (log_dir / f).read_bytes() for s, f in FILES.items()}, published)
        store_failures = [e["data"] for e in outcomes if e["type"] == "poll.failed" and e["data"]["reason"] == "store"]
        assert store_failures and message in store_failures[0]["detail"]
        assert not list(log_dir.glob("*.torn-*")), "a failed write was left in a stream instead of rolled back"
        # the web kept serving, never named a problem, and shows what a fresh replay shows
        for _ in range(10):
            check_serving(web, problems)
        assert problems == [], problems
        wait_until(lambda: synced(web, log_dir), 30, what="the web following")
        fresh = Web(log_dir, tmp_path / "fresh.log")
        wait_until(lambda: synced(fresh, log_dir), 30, what="the fresh web")
        assert_same_as_replay(web, fresh)
    finally:
        for proc in (worker, web, fresh):
            if proc is not None:
                proc.stop()
        sim.stop()


@pytest.mark.pg
def test_postgres_going_away_mid_poll(pg_url: str, tmp_path: Path) -> None:
    """Worker and web reach Postgres through a proxy that is taken down (open sessions cut mid-poll) and back."""
    from deploy.tcp_proxy import TcpProxy
    from events.pg_helpers import schema_url

    parts = urlsplit(pg_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    gen = schema_url(pg_url)
    direct = next(gen)
    split = urlsplit(direct)
    via_proxy = urlunsplit((split.scheme, f"{userinfo}127.0.0.1:{proxy.port}", split.path, split.query, ""))
    sim = Simulator(TOKEN, history=0, seed=6).start()
    web = fresh = worker = None
    store = open_store(direct, writer="test", fsync=False)
    try:
        published = sim.publish_many(5)
        worker = Worker(ROOT / "main.py", tmp_path, WHOP_ALERTS_URL=sim.url, AUTOSIG_STORE_URL=via_proxy,
                        POLL_INTERVAL_SECONDS="0.2")
        wait_until(lambda: store.last_seq("raw") == 5, 60, what="first ingest")
        web = Web(tmp_path / "unused", tmp_path / "web.log", store_url=via_proxy)

        def heads() -> dict[str, int]:
            return {s: store.last_seq(s) for s in FILES}

        wait_until(lambda: synced(web, heads=heads()), 30, what="the web following")
        problems: list = []
        for _ in range(2):
            # mid-poll (a poll every 0.2 s): sessions are cut, new ones refused — longer than the store's own
            # reconnect attempts inside one call, so the worker sees the store refuse
            proxy.down()
            for i in range(10):
                published.append(sim.publish(f"BTO {len(published)} QQQ 50{i}p 1/17 @ 2.{i}0 while the db is away"))
                check_serving(web, problems)
                time.sleep(0.4)
            assert worker.proc.poll() is None, "the worker died instead of retrying"
            proxy.up()
            time.sleep(1.0)

        def failed_then_recovered() -> bool:
            events = list(store.read("worker"))
            failed = [e for e in events if e.type == "poll.failed" and e.data.get("reason") == "store"]
            return bool(failed) and any(e.type == "poll.completed" and e.seq > failed[0].seq for e in events)

        try:
            wait_until(failed_then_recovered, 60, what="poll.failed reason store, then a successful poll")
        except AssertionError as exc:
            tail = [(e.seq, e.type, e.data.get("reason")) for e in store.read("worker")][-15:]
            raise AssertionError(f"{exc}\nworker stream ends {tail}\nstderr:\n{worker.stderr()[-3000:]}") from None
        wait_until(lambda: store.last_seq("raw") >= len(published), 60, what="everything recorded")
        wait_until(lambda: store.last_seq("parsed") >= len(published), 60, what="everything parsed")
        assert worker.stop() == 0
        assert REFUSED in worker.stderr() and "Traceback" not in worker.stderr()
        check_recorded({s: b"".join(store.iter_lines(s)) for s in FILES}, published)
        for _ in range(5):
            check_serving(web, problems)
        assert problems == [], problems
        wait_until(lambda: synced(web, heads=heads()), 60, what="the web following after the outage")
        fresh = Web(tmp_path / "unused", tmp_path / "fresh.log", store_url=direct)
        wait_until(lambda: synced(fresh, heads=heads()), 60, what="the fresh web")
        assert_same_as_replay(web, fresh)
    finally:
        for proc in (worker, web, fresh):
            if proc is not None:
                proc.stop()
        store.close()
        sim.stop()
        proxy.down()
        for _ in gen:
            pass
