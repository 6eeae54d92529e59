"""Every failure is classified in poll.failed, and ingestion recovers by itself afterwards."""

from __future__ import annotations

import resource
import socket

import pytest
from worker_harness import TOKEN, of_type, polls, source_ids, wait_until

from autosig.sources.simulator import Simulator

LOGIN_PAGE = "<!doctype html><html><head><title>Sign in</title></head><body>Log in to Whop</body></html>"

FAULTS = [
    ("auth", 401, {"status": 401}),
    ("auth", 403, {"status": 403}),
    ("rate_limited", 429, {"status": 429, "headers": {"Retry-After": "1"}}),
    ("rate_limited", 429, {"status": 429, "headers": {"retry-after-ms": "300"}}),
    ("http_5xx", 503, {"status": 503, "count": 3}),
    ("http_5xx", 500, {"status": 500}),
    ("http_4xx", 404, {"status": 404}),
    ("timeout", None, {"delay": 1.5}),
    ("network", None, {"reset": True, "count": 2}),
    ("bad_response", 200, {"status": 200, "body": LOGIN_PAGE, "content_type": "text/html; charset=utf-8"}),
    ("bad_response", 200, {"status": 200, "body": '{"error": "nope"}'}),
    ("bad_response", 200, {"status": 200, "body": "not json at all", "content_type": "text/plain"}),
]


def _failed(log_dir):
    return of_type(log_dir, "worker", "poll.failed")


def test_each_fault_is_reported_with_its_reason_and_ingestion_recovers(sim, workers, log_dir):
    sim.publish_many(3)
    w = workers(sim.url, WHOP_TIMEOUT_SECONDS="0.5")
    wait_until(lambda: len(source_ids(log_dir)) == 3, what="first ingest")
    for reason, status, fault in FAULTS:
        before = len(_failed(log_dir))
        sim.fault(**fault)
        wait_until(lambda before=before: len(_failed(log_dir)) > before, 15, what=f"poll.failed {reason}")
        failed = _failed(log_dir)[before]["data"]
        assert (failed["reason"], failed["http_status"]) == (reason, status), failed
        assert failed["detail"] and failed["retry_in_s"] > 0
        msg = sim.publish(f"BTO 1 SPY 600c 1/17 @ 1.25 after {reason}")
        wait_until(lambda msg=msg: msg["id"] in source_ids(log_dir), 15, what=f"recovery after {reason}")
    rc, _ = w.terminate()
    assert rc == 0
    failed = [f["data"] for f in _failed(log_dir)]
    by_reason = {}
    for f in failed:
        by_reason.setdefault(f["reason"], []).append(f)
    assert [f["retry_in_s"] for f in by_reason["rate_limited"]][:2] == [1.0, 0.3]
    assert "an expired token often looks like this" in by_reason["bad_response"][0]["detail"]
    assert "text/html" in by_reason["bad_response"][0]["detail"]
    assert "WHOP_ACCESS_TOKEN" in by_reason["auth"][0]["detail"]
    assert "reset" in by_reason["network"][0]["detail"]
    # 5xx backs off: consecutive failures wait longer each time (jitter keeps each within [d/2, d])
    fives = [f["retry_in_s"] for f in by_reason["http_5xx"][:3]]
    assert fives[2] > fives[0]
    assert len(set(source_ids(log_dir))) == len(source_ids(log_dir)) == 3 + len(FAULTS)
    out = w.stdout()
    assert "poll failed (auth)" in out and "poll failed (bad_response)" in out
    assert "Traceback" not in w.stderr()


def test_refused_connection_is_network_and_recovers_when_whop_comes_back(tmp_path, workers, log_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v1/messages?channel_id=chat_feed_sim"
    w = workers(url)
    wait_until(lambda: _failed(log_dir), what="refused")
    failed = _failed(log_dir)[0]["data"]
    assert failed["reason"] == "network" and "refused" in failed["detail"] and failed["http_status"] is None
    sim = Simulator(TOKEN, history=0, port=port).start()
    try:
        msg = sim.publish("in QQQ 0dte 615p .88")
        wait_until(lambda: msg["id"] in source_ids(log_dir), 30, what="recovery")
    finally:
        sim.stop()
    assert w.terminate()[0] == 0


@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs Linux prlimit to limit the worker's file size")
def test_store_refusing_writes_gives_poll_failed_store_and_recovers(sim, workers, log_dir):
    sim.publish_many(5)
    w = workers(sim.url)
    wait_until(lambda: len(source_ids(log_dir)) == 5 and polls(log_dir), what="ingest")
    # Files of the worker may not grow past this size: the next big alert cannot be written (EFBIG), like a full disk.
    sizes = [p.stat().st_size for p in log_dir.iterdir() if p.suffix == ".jsonl"]
    limit = max(sizes) + 4000
    resource.prlimit(w.pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    big = sim.publish("BTO 1 SPY 600c 1/17 @ 1.25 " + "x" * 20_000)
    wait_until(lambda: "event store refused a write" in w.stderr(), what="stderr report")
    wait_until(lambda: w.stderr().count("event store refused a write") >= 3, what="retries")
    assert w.proc.poll() is None  # still running: no crash, no crash-loop
    assert big["id"] not in source_ids(log_dir)
    resource.prlimit(w.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    wait_until(lambda: big["id"] in source_ids(log_dir), 30, what="recovery")
    wait_until(lambda: any(f["data"]["reason"] == "store" for f in _failed(log_dir)), what="poll.failed store")
    assert w.terminate()[0] == 0
    store_failure = next(f["data"] for f in _failed(log_dir) if f["data"]["reason"] == "store")
    assert "File too large" in store_failure["detail"] and store_failure["attempts"] >= 3
    assert source_ids(log_dir).count(big["id"]) == 1
    parsed = of_type(log_dir, "parsed", "alert.parsed")
    assert sorted(p["data"]["raw_seq"] for p in parsed) == list(range(1, 7))
