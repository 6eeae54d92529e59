"""SIGKILL at random instants while Whop keeps publishing: nothing lost, nothing duplicated, no parse hole."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

from worker_harness import events, of_type, polls, verify_chain, wait_polls, wait_until


def raw_size(log_dir):
    path = log_dir / "alerts_raw.jsonl"
    return path.stat().st_size if path.exists() else 0


def test_sigkills_at_random_moments_lose_and_duplicate_nothing(sim, workers, log_dir):
    rng = random.Random(1234)
    stop = threading.Event()

    def publisher():
        recent = []
        while not stop.wait(0.01):
            recent.append(sim.publish_from_corpus())
            if len(recent) % 25 == 0:
                older = recent[-6]  # still on the newest page, already recorded most of the time
                sim.edit(older["id"], older["content"] + " (edited)")

    sim.publish_many(50)
    pub = threading.Thread(target=publisher, daemon=True)
    pub.start()
    kills = 0
    try:
        while kills < 22:
            # enough backfill that no outage here exceeds it (a longer one is a recorded gap, tested elsewhere)
            w = workers(sim.url + "&first=20", AUTOSIG_FSYNC="always", WHOP_MAX_BACKFILL_PAGES="1000")
            if kills % 2:
                time.sleep(rng.uniform(0.3, 1.5))
            else:
                # right after a raw append, before its parse lands: the window a crash must not leave a hole in
                size = raw_size(log_dir)
                wait_until(lambda size=size: raw_size(log_dir) != size, 20, interval=0.0005, what="a raw append")
                time.sleep(rng.uniform(0, 0.002))
            w.kill()
            kills += 1
    finally:
        stop.set()
        pub.join()
    final = workers(sim.url + "&first=20", WHOP_MAX_BACKFILL_PAGES="1000")
    expected = {m["id"]: m for m in sim.messages()}
    wait_until(lambda: len(of_type(log_dir, "raw", "alert.received")) >= len(expected), 60, what="all messages")
    wait_polls(log_dir, 2)
    assert final.terminate()[0] == 0

    received = Counter(e["data"]["source_id"] for e in of_type(log_dir, "raw", "alert.received"))
    assert set(received) == set(expected), "lost or unknown messages"
    assert max(received.values()) == 1, "a message was received twice"
    raw = events(log_dir, "raw")
    assert len({e["key"] for e in raw}) == len(raw), "an idempotency key was appended twice"
    latest = {}
    for e in raw:
        latest[e["data"]["source_id"]] = e["data"]["payload"]["content"]
    assert latest == {i: m["content"] for i, m in expected.items()}, "an edit was missed"
    parse_count = Counter(p["data"]["raw_seq"] for p in of_type(log_dir, "parsed", "alert.parsed"))
    assert sorted(parse_count) == [e["seq"] for e in raw], "a raw event has no parse"
    assert max(parse_count.values()) == 1, "a raw event was parsed twice"
    for stream in ("raw", "parsed", "worker"):
        verify_chain(log_dir, stream)
    assert kills >= 20 and len(polls(log_dir)) > 0
    assert not any(p["data"].get("gap") for p in polls(log_dir))
    starts = [e["data"] for e in of_type(log_dir, "worker", "worker.started")]
    assert len(starts) >= 2
    # the dangerous window was really hit: some start found raw events its predecessor had not parsed
    assert any(s["unparsed_at_start"] for s in starts)
