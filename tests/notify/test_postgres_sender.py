"""The same sender over the Postgres store: two senders (as two web processes would run), one elected by an advisory
lock, one message per change, recorded in the notifications stream of the database."""

from __future__ import annotations

import time

import pytest
from events.pg_helpers import schema_url
from webapp.conftest import Feed

from autosig.config import load_settings
from autosig.events import open_store
from autosig.notify.sender import Sender
from notify.test_sender import TickingClock, wait

pytestmark = pytest.mark.pg


@pytest.fixture
def url(pg_url):
    yield from schema_url(pg_url)


def test_two_senders_on_postgres_send_each_change_once(url, receiver):
    clock = TickingClock(start=time.time())
    store = open_store(url, writer="test", fsync=False, clock=clock)
    feed = Feed(store)
    feed.started(stale=90)
    feed.completed()
    settings = load_settings({"AUTOSIG_STORE_URL": url, "AUTOSIG_NOTIFY_URL": receiver.url,
                              "AUTOSIG_TAIL_POLL_SECONDS": "0.05"})
    senders = [Sender(settings, clock=clock, tick_seconds=0.02, election_retry_seconds=0.05, daily_heads=False)
               for _ in range(2)]
    try:
        for s in senders:
            s.start()
        wait(lambda: any(s.machine is not None and s.machine.applied["worker"] >= 2 for s in senders))
        assert sum(s.elected.is_set() for s in senders) == 1
        clock.advance(100)
        receiver.wait_for(lambda: receiver.of_state("stale"))
        feed.completed()
        receiver.wait_for(lambda: receiver.of_state("recovered"))
        time.sleep(0.3)
        assert receiver.ids() == ["stale:2", "recovered:3"]
        keys = [e.key for e in store.read("notifications") if e.type == "notification.delivered"]
        assert keys == ["stale:2", "recovered:3"]
    finally:
        for s in senders:
            s.stop()
        store.close()
