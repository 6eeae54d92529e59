"""No state changes on GET: a crawl of every GET route of the app (from app.url_map, so new routes are covered)
leaves every file of the store byte-for-byte unchanged and creates none."""

from __future__ import annotations

import hashlib
from pathlib import Path

from webapp.conftest import sig, wait_until
from webapp.orders_feed import OrdersFeed

from security.conftest import concrete_paths

QUERIES = ["", "?limit=1", "?limit=500&ticker=spy&after_seq=1", "?kind=unparseable", "?kind=x", "?limit=-1",
           "?after_seq=99999999", "?last_event_id=1", "?status=skipped", "?status=filled&orders_after=1",
           "?csrf_token=1.x&reason=x&cancel_entries=true"]


def snapshot(log_dir: Path) -> dict[str, tuple[int, str, int]]:
    out = {}
    for p in sorted(log_dir.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            out[str(p.relative_to(log_dir))] = (len(data), hashlib.sha256(data).hexdigest(), p.stat().st_mtime_ns)
    return out


def crawl(client, log_dir: Path, headers: dict[str, str] | None = None) -> int:
    n = 0
    for path in concrete_paths(log_dir):
        for query in QUERIES:
            if path == "/api/stream":
                r = client.get(path + query, headers=headers or {}, buffered=False)
                next(iter(r.response), None)  # the stream opened and said something; then the client leaves
                r.close()
            else:
                r = client.get(path + query, headers=headers or {})
            assert r.status_code < 500, (path, query, r.status_code)
            n += 1
    return n


def test_every_get_route_leaves_the_store_unchanged(make_app, feed, store, log_dir):
    feed.started(stale=600)
    feed.completed()
    feed.failed()
    feed.alert("BTO SPY 600c @ 1", signals=[sig("SPY")])
    raw_seq, last = feed.alert("what a day", kind="unparseable", reason="no strike")
    orders = OrdersFeed(store)
    orders.started(mode="paper", broker="sim", account="PA31234")
    coid = orders.planned(raw_seq - 1, "m1")
    orders.submitted(coid)
    orders.skipped(raw_seq, "m2", "no_price")
    orders.paused(by="cli")
    with (log_dir / "alerts_parsed.jsonl").open("ab") as f:
        f.write(b'{"torn tail, never surfaced')  # only writers quarantine a torn tail; readers leave it
    before = snapshot(log_dir)
    assert {"alerts_raw.jsonl", "alerts_parsed.jsonl", "worker.jsonl", "orders.jsonl", "control.jsonl"} <= set(before)
    seqs = {s: store.last_seq(s) for s in ("raw", "parsed", "worker", "orders", "control")}
    for extra in ({}, {"DASHBOARD_PASSWORD": "pw-for-get-test"}):
        app = make_app(**extra)
        client = app.test_client()
        headers = {"Authorization": "Bearer pw-for-get-test"} if extra else {}
        wait_until(lambda c=client, h=headers: c.get("/api/status", headers=h).get_json()["streams"]["parsed"]["seq"]
                   >= last)
        assert crawl(client, log_dir, headers) > 40
        # HEAD and OPTIONS are read-only too
        for path in concrete_paths(log_dir):
            client.head(path, headers=headers)
            client.options(path, headers=headers)
    assert snapshot(log_dir) == before
    assert {s: store.last_seq(s) for s in ("raw", "parsed", "worker", "orders", "control")} == seqs

