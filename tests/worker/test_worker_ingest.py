"""The worker as a subprocess against the simulator: backfill, catch-up after downtime, gaps, edits, channels."""

from __future__ import annotations

from worker_harness import events, of_type, polls, source_ids, verify_chain, wait_polls, wait_until


def _received(log_dir):
    return of_type(log_dir, "raw", "alert.received")


def test_500_alerts_over_many_pages_are_ingested_oldest_first_and_chains_verify(sim, workers, log_dir):
    published = sim.publish_many(500)
    w = workers(sim.url + "&first=20", WHOP_MAX_BACKFILL_PAGES="50")
    wait_until(lambda: len(_received(log_dir)) >= 500 and polls(log_dir), 30, what="500 alerts")
    wait_until(lambda: len(of_type(log_dir, "parsed", "alert.parsed")) >= 500, 20, what="500 parses")
    rc, _ = w.terminate()
    assert rc == 0
    assert source_ids(log_dir) == [m["id"] for m in published]  # exactly once each, oldest first
    first = polls(log_dir)[0]
    assert first["type"] == "poll.completed"
    assert first["data"]["initial"] is True and first["data"]["gap"] is False
    assert first["data"]["new"] == 500 and first["data"]["pages"] == 25
    for stream in ("raw", "parsed", "worker"):
        assert verify_chain(log_dir, stream) > 0
    raw = events(log_dir, "raw")
    parsed = of_type(log_dir, "parsed", "alert.parsed")
    assert sorted(p["data"]["raw_seq"] for p in parsed) == [r["seq"] for r in raw]
    assert all(r["data"]["payload"] == m for r, m in zip(raw, published, strict=True))  # verbatim
    assert all(r["data"]["channel"] == "chat_feed_sim" and r["data"]["source"] == "whop" for r in raw)
    types = [e["type"] for e in events(log_dir, "worker")]
    assert types[0] == "worker.started" and types[-1] == "worker.stopped"
    started = events(log_dir, "worker")[0]["data"]
    assert started["poll_interval_seconds"] == 0.05 and started["channels"] == ["chat_feed_sim"]
    assert started["dry_run"] is True and started["live_trading"] is False and started["parser_version"]


def test_downtime_catch_up_gets_all_300_oldest_first(sim, workers, log_dir):
    sim.publish_many(5)
    w = workers(sim.url + "&first=25")
    wait_until(lambda: len(_received(log_dir)) == 5 and polls(log_dir), what="first poll")
    assert w.terminate()[0] == 0
    missed = sim.publish_many(300)
    w2 = workers(sim.url + "&first=25")
    wait_until(lambda: len(_received(log_dir)) == 305, 30, what="catch-up")
    wait_polls(log_dir, 1)
    assert w2.terminate()[0] == 0
    assert source_ids(log_dir)[5:] == [m["id"] for m in missed]
    catch_up = [p for p in polls(log_dir) if p["data"].get("new")][-1]["data"]
    assert catch_up == {**catch_up, "new": 300, "initial": False, "gap": False}
    assert catch_up["pages"] == 13  # 12 pages of new alerts + the page where known ones begin
    assert verify_chain(log_dir, "raw") == 305


def test_gap_beyond_max_backfill_pages_is_recorded_and_logged(sim, workers, log_dir):
    sim.publish_many(3)
    env = {"WHOP_MAX_BACKFILL_PAGES": "3"}
    w = workers(sim.url + "&first=10", **env)
    wait_until(lambda: len(_received(log_dir)) == 3 and polls(log_dir), what="first poll")
    assert polls(log_dir)[0]["data"]["initial"] is True
    assert w.terminate()[0] == 0
    sim.publish_many(100)
    w2 = workers(sim.url + "&first=10", **env)
    wait_until(lambda: len(_received(log_dir)) >= 33, what="partial catch-up")
    wait_polls(log_dir, 1)
    assert w2.terminate()[0] == 0
    gap_polls = [p["data"] for p in polls(log_dir) if p["data"].get("gap")]
    assert len(gap_polls) == 1
    assert gap_polls[0]["pages"] == 3 and gap_polls[0]["new"] == 30 and gap_polls[0]["initial"] is False
    # The newest 30 were taken; the 70 older ones in between are the gap that was reported.
    assert source_ids(log_dir)[3:] == [m["id"] for m in sim.messages()[-30:]]
    assert "GAP" in (log_dir / "app.log").read_text() and "WARNING" in w2.stdout()


def test_first_poll_on_empty_store_stops_at_max_backfill_without_gap(sim, workers, log_dir):
    sim.publish_many(60)
    w = workers(sim.url + "&first=10", WHOP_MAX_BACKFILL_PAGES="2")
    wait_until(lambda: polls(log_dir), what="first poll")
    wait_polls(log_dir, 1)
    assert w.terminate()[0] == 0
    first = polls(log_dir)[0]["data"]
    assert first["initial"] is True and first["gap"] is False and first["new"] == 20 and first["pages"] == 2
    assert not any(p["data"].get("gap") for p in polls(log_dir))


def test_edits_become_alert_edited_with_a_new_parse(sim, workers, log_dir):
    msgs = sim.publish_many(30)
    w = workers(sim.url + "&first=10")
    wait_until(lambda: len(_received(log_dir)) == 30, what="ingest")
    newest, older = msgs[-1], msgs[-5]
    sim.edit(newest["id"], "BTO 2 SPY 600c 1/17 @ 1.30 (edited price)")
    sim.edit(older["id"], "STC 2 SPY 600c 1/17 @ 2.00")
    wait_until(lambda: len(of_type(log_dir, "raw", "alert.edited")) == 2, what="edits")
    sim.edit(newest["id"], newest["content"])  # restoring the original text is an edit too
    wait_until(lambda: len(of_type(log_dir, "raw", "alert.edited")) == 3, what="restore edit")
    wait_until(lambda: len(of_type(log_dir, "parsed", "alert.parsed")) == 33, what="parses")
    wait_polls(log_dir, 2)
    assert w.terminate()[0] == 0
    edited = of_type(log_dir, "raw", "alert.edited")
    assert [e["data"]["source_id"] for e in edited] == [older["id"], newest["id"], newest["id"]]
    assert edited[0]["data"]["payload"]["content"] == "STC 2 SPY 600c 1/17 @ 2.00"
    assert edited[2]["data"]["payload"]["content"] == newest["content"]
    assert len({e["key"] for e in events(log_dir, "raw")}) == 33
    parsed_seqs = [p["data"]["raw_seq"] for p in of_type(log_dir, "parsed", "alert.parsed")]
    assert sorted(parsed_seqs) == list(range(1, 34))
    assert sum(p["data"].get("edited", 0) for p in polls(log_dir)) == 3


def test_several_channels_are_polled_and_tagged(sim, workers, log_dir):
    a = sim.publish_many(4, channel="chat_feed_A")
    b = sim.publish_many(6, channel="chat_feed_B")
    w = workers(f"{sim.url_for('chat_feed_A')} {sim.url_for('chat_feed_B')}")
    wait_until(lambda: len(_received(log_dir)) == 10, what="both channels")
    more = sim.publish("in AAPL 1/16 250c 1.20", channel="chat_feed_B")
    wait_until(lambda: len(_received(log_dir)) == 11, what="new B")
    assert w.terminate()[0] == 0
    by_channel = {}
    for e in _received(log_dir):
        by_channel.setdefault(e["data"]["channel"], []).append(e["data"]["source_id"])
    assert by_channel == {"chat_feed_A": [m["id"] for m in a], "chat_feed_B": [m["id"] for m in b] + [more["id"]]}
    assert events(log_dir, "worker")[0]["data"]["channels"] == ["chat_feed_A", "chat_feed_B"]
