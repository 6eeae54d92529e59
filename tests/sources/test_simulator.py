"""The simulator itself: the listing it serves, auth, edits, fault queue, paced publishing, the process form."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from autosig.sources.simulator import Simulator, load_corpus

ROOT = Path(__file__).resolve().parents[2]


def _get(url, token="t", **params):
    return requests.get(url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_corpus_is_bundled_and_varied():
    corpus = load_corpus()
    assert len(corpus) >= 300
    texts = " ".join(e["text"] for e in corpus)
    for style in ("BTO", "STC", "trim", "spread", "/ES", "Watchlist", "recap", "0dte", "进"):
        assert style.lower() in texts.lower(), style
    ids = {e["id"] for e in corpus}
    assert sum(1 for e in corpus if e["reply_to"]) > 30
    assert all(e["reply_to"] in ids for e in corpus if e["reply_to"])


def test_listing_shape_paging_and_auth():
    with Simulator("t", history=45) as sim:
        assert _get(sim.url, token="wrong").status_code == 401
        doc = _get(sim.url, first=20).json()
        assert len(doc["data"]) == 20 and doc["page_info"]["has_next_page"] is True
        m = doc["data"][0]
        assert set(m) >= {
            "id",
            "content",
            "created_at",
            "updated_at",
            "is_edited",
            "message_type",
            "replying_to_message_id",
            "user",
        }
        assert set(m["user"]) == {"id", "username", "name"}
        all_ids = [x["id"] for x in sim.messages()]
        assert [x["id"] for x in doc["data"]] == all_ids[::-1][:20]
        # publishing between pages does not shift a cursor-based listing
        sim.publish("new one")
        page2 = _get(sim.url, first=20, after=doc["page_info"]["end_cursor"]).json()
        assert [x["id"] for x in page2["data"]] == all_ids[::-1][20:40]
        asc = _get(sim.url, first=5, direction="asc").json()
        assert [x["id"] for x in asc["data"]] == all_ids[:5]
        replies = [x for x in sim.messages() if x["replying_to_message_id"]]
        assert replies and all(r["replying_to_message_id"] in all_ids for r in replies)


def test_edit_changes_content_and_updated_at():
    with Simulator("t") as sim:
        msg = sim.publish("BTO 1 SPY 600c 1/17 @ 1.25")
        edited = sim.edit(msg["id"], "BTO 1 SPY 600c 1/17 @ 1.30")
        assert edited["is_edited"] is True and edited["updated_at"] > msg["updated_at"]
        assert _get(sim.url).json()["data"][0]["content"] == "BTO 1 SPY 600c 1/17 @ 1.30"


def test_faults_are_served_in_order_and_counted():
    with Simulator("t") as sim:
        sim.fault(503, count=2)
        sim.fault(429, headers={"Retry-After": "3"})
        codes = [_get(sim.url) for _ in range(4)]
        assert [r.status_code for r in codes] == [503, 503, 429, 200]
        assert codes[2].headers["Retry-After"] == "3"
        sim.fault(delay=0.3)
        began = time.monotonic()
        assert _get(sim.url).status_code == 200 and time.monotonic() - began >= 0.3


def test_pace_publishes_by_itself():
    with Simulator("t", pace=0.05) as sim:
        time.sleep(0.6)
        assert len(sim.messages()) >= 5


def test_runs_as_a_process_printing_its_url_first():
    env = dict(os.environ, SIMULATOR_TOKEN="proc-token")
    proc = subprocess.Popen(
        [sys.executable, "-m", "autosig.sources.simulator", "--port", "0", "--pace", "0.1", "--history", "3"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and "channel_id=" in url
        assert len(_get(url, token="proc-token").json()["data"]) >= 3
        time.sleep(0.5)
        assert len(_get(url, token="proc-token", first=100).json()["data"]) > 3
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
