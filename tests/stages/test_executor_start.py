"""The executor's start against the broker simulator (in-process, over HTTP): the account read survives a busy
broker, and gives up on one that keeps failing."""

from __future__ import annotations

import pytest

from autosig.brokers.alpaca import AlpacaBroker
from autosig.brokers.errors import OutcomeUnknown
from autosig.brokers.simulator import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, Simulator
from autosig.clock import ManualClock
from autosig.executor import read_account


@pytest.fixture
def sim():
    with Simulator(seed=5) as s:
        yield s


def broker(sim) -> AlpacaBroker:
    return AlpacaBroker(DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, base_url=sim.url, data_url=sim.url)


def test_a_429_and_a_5xx_at_start_are_waited_out_not_a_start_up_backoff(sim):
    sim.fault(429, headers={"Retry-After": "2"}, path="/v2/account")
    sim.fault(503, path="/v2/account")
    clock = ManualClock()
    assert read_account(broker(sim), clock).number
    assert clock.sleeps == [2.0, 1.0]  # as the 429 asked, then a short pause after the 503


def test_a_broker_that_keeps_failing_is_reported_after_a_few_reads(sim):
    sim.fault(503, path="/v2/account", count=10)
    clock = ManualClock()
    with pytest.raises(OutcomeUnknown):
        read_account(broker(sim), clock)
    assert len(clock.sleeps) == 3
