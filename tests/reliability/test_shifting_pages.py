"""Pages that shift or repeat while the worker pages (offset cursors with messages published between page requests,
duplicates across pages): every message is still recorded exactly once."""

from __future__ import annotations

from collections import Counter

import pytest
from worker.worker_harness import TOKEN, WorkerProc, of_type, wait_polls, wait_until

from autosig.sources.simulator import Simulator


def received(log_dir) -> Counter:
    return Counter(e["data"]["source_id"] for e in of_type(log_dir, "raw", "alert.received"))


@pytest.fixture
def sim():
    s = Simulator(TOKEN, history=0, seed=8).start()
    s.cursor_mode = "offset"
    yield s
    s.stop()


def run_worker(tmp_path, log_dir, url: str) -> WorkerProc:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return WorkerProc(log_dir, url, out, WHOP_MAX_BACKFILL_PAGES="1000")


@pytest.mark.parametrize("shift", [3, 19])
def test_messages_published_between_page_requests_are_all_recorded_once(sim, tmp_path, log_dir, shift):
    sim.publish_many(100)
    for _ in range(4):  # each of the first pages of the first poll: new messages arrive before it is served
        sim.fault(delay=0.001, kind="none")
        sim.fault(publish=shift, kind="shift")
    w = run_worker(tmp_path, log_dir, sim.url + "&first=20")
    try:
        wait_until(lambda: set(received(log_dir)) >= {m["id"] for m in sim.messages()}, 30, what="all recorded")
        wait_polls(log_dir, 2)
    finally:
        assert w.terminate()[0] == 0
    counts = received(log_dir)
    assert set(counts) == {m["id"] for m in sim.messages()} and max(counts.values()) == 1
    assert sim.fault_counts["shift"] == 4


def test_duplicates_across_pages_are_recorded_once(sim, tmp_path, log_dir):
    sim.publish_many(100)
    sim.random_faults({"duplicate": 0.5}, seed=2)
    w = run_worker(tmp_path, log_dir, sim.url + "&first=10")
    try:
        wait_until(lambda: len(received(log_dir)) >= 100, 30, what="all recorded")
        sim.publish_many(30)  # and later polls page over duplicates too
        wait_until(lambda: len(received(log_dir)) >= 130, 30, what="the later ones")
        wait_polls(log_dir, 2)
    finally:
        assert w.terminate()[0] == 0
    counts = received(log_dir)
    assert set(counts) == {m["id"] for m in sim.messages()} and max(counts.values()) == 1
    assert sim.fault_counts["duplicate"] >= 5


def test_a_page_that_repeats_the_previous_one_entirely_does_not_end_the_catch_up(sim, tmp_path, log_dir):
    """A whole page's worth of new messages between two page requests: with offset cursors the second page is the
    first one again. Stopping there ("every message on this page is known") would leave everything older unread."""
    sim.publish_many(100)
    sim.fault(delay=0.001, kind="none")
    sim.fault(publish=20, kind="shift")  # before page two: page two repeats page one exactly
    w = run_worker(tmp_path, log_dir, sim.url + "&first=20")
    try:
        wait_polls(log_dir, 3)
    finally:
        assert w.terminate()[0] == 0
    missing = {m["id"] for m in sim.messages()} - set(received(log_dir))
    assert not missing, f"{len(missing)} of {len(sim.messages())} messages never recorded"
