"""The stage runner: recovery from the stage's own outputs, batches, stopping, following — and a failed append never
moves the position past what it did not write."""

from __future__ import annotations

import threading
import time

import pytest

from autosig.events import StoreError, open_store
from autosig.schema import Draft
from autosig.stages.runner import Stage, StageRunner


class Echo(Stage):
    name = "echo"
    input = "in"
    output = "out"
    tick_seconds = 0.05

    def __init__(self) -> None:
        self.ticks = 0

    def output_key(self, event):
        return f"echo:{event.seq}"

    def recover(self, store) -> int:
        return max((int(k.split(":")[1]) for _, k in store.keys("out", "echo:")), default=0)

    def handle(self, event):
        return [Draft("echoed", {"n": event.data["n"]}, None, self.output_key(event))]

    def tick(self):
        self.ticks += 1
        return ()


@pytest.fixture
def store(tmp_path):
    s = open_store(f"file:{tmp_path}", fsync=False)
    s.append_many("in", [Draft("t", {"n": i}) for i in range(10)])
    yield s
    s.close()


def test_recovers_from_its_own_outputs_and_appends_in_batches(store):
    calls = []
    real = store.append_many
    store.append_many = lambda stream, items: calls.append(len(list(items))) or real(stream, items)
    StageRunner(store, Echo(), batch=4).catch_up()
    assert calls == [4, 4, 2] and store.last_seq("out") == 10
    runner = StageRunner(store, Echo())
    assert runner.recover() == 10 and runner.catch_up() == 0


def test_a_failed_append_leaves_the_position_before_what_it_did_not_write(store):
    runner = StageRunner(store, Echo(), batch=3)
    real = store.append_many
    failures = {"left": 1}

    def full_disk(stream, items):
        items = list(items)
        if stream == "out" and store.last_seq("out") >= 3 and failures["left"]:
            failures["left"] -= 1
            raise StoreError("disk full")
        return real(stream, items)

    store.append_many = full_disk
    with pytest.raises(StoreError):
        runner.catch_up()
    assert runner.position == 3  # the first batch was written; the second was not
    runner.catch_up()
    assert [e.data["n"] for e in store.read("out")] == list(range(10))


def test_a_stop_ends_it_between_events_but_keeps_the_fresh_ones(store):
    stop = threading.Event()
    stop.set()
    runner = StageRunner(store, Echo(), stopping=stop.is_set)
    assert runner.catch_up(keep_from=8) == 0  # stopped before the backlog: the fresh ones wait behind it
    assert runner.process(list(store.read("in", after=7)), keep_from=8) == 3
    assert store.last_seq("out") == 3


def test_follow_handles_new_input_and_runs_the_timers(store):
    stage = Echo()
    runner = StageRunner(store, stage)
    runner.recover()
    stop = threading.Event()
    thread = threading.Thread(target=runner.follow, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while store.last_seq("out") < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    store.append_many("in", [Draft("t", {"n": 10})])
    while store.last_seq("out") < 11 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)
    assert store.last_seq("out") == 11 and stage.ticks > 0 and not thread.is_alive()
