"""Time travel: every endpoint with as_of answers exactly what a fresh replay of the log stopped at that moment
answers, status ages are computed at that moment, and replays are cached and resumed from checkpoints."""

from __future__ import annotations

import json
import time

from autosig.clock import ManualClock, rfc3339
from autosig.projections import Projections
from autosig.times import to_utc
from autosig.web.host import state
from autosig.web.timetravel import views
from webapp.conftest import sig, synced, wait_until

STREAMS = ("raw", "parsed", "worker", "reviews")


def fresh(app, store, at: float) -> Projections:
    """An independent replay: every event stamped at or before `at`, into new projections."""
    p = state(app).host.make_projections()
    for stream in STREAMS:
        for event in store.read(stream):
            if to_utc(event.ts).timestamp() <= at:
                p.apply(stream, event)
    return p


def same(a, b) -> None:
    assert json.loads(json.dumps(a)) == json.loads(json.dumps(b))


def exact(at: float) -> float:
    """A moment as as_of carries it (microseconds): the replay's ages are computed at exactly this value."""
    return to_utc(rfc3339(at)).timestamp()


def moment() -> float:
    time.sleep(0.02)
    at = exact(time.time())
    time.sleep(0.02)
    return at


def history(feed) -> list[float]:
    """Three phases of a log, with the moments between them."""
    feed.started(stale=60)
    feed.completed()
    feed.alert("BTO SPY 600c @ 1", signals=[sig("SPY", price=1.0)], created_at="2027-01-14T15:00:00Z")
    feed.alert("BTO what?", kind="unparseable", reason="no strike")
    t1 = moment()
    feed.alert("STC SPY 600c @ 2", signals=[sig("SPY", action="close", price=2.0)], created_at="2027-01-14T15:30:00Z")
    feed.failed()
    feed.alert("BTO QQQ 500p @ 3", signals=[sig("QQQ", right="P", strike=500.0, price=3.0)])
    t2 = moment()
    feed.started(stale=60)
    feed.completed()
    feed.alert("STC QQQ 500p @ 1", signals=[sig("QQQ", action="close", right="P", strike=500.0, price=1.0)])
    return [t1, t2]


def expected(app, store, at: float) -> dict:
    p = fresh(app, store, at)
    status = p.status(at)
    status["as_of"] = rfc3339(at)
    return {
        "status": status,
        "signals": p.signals.signals(limit=50),
        "alerts": [{**a, "review": None} for a in p.signals.alerts(limit=50)],
        "ledger": p.ledger.summary(),
    }


def test_api_as_of_equals_a_fresh_replay_stopped_there(client, app, store, feed):
    moments = history(feed)
    wait_until(synced(client, "raw", 5))
    for at in [*moments, exact(time.time() - 0.5)]:
        q = "as_of=" + rfc3339(at)
        want = expected(app, store, at)
        same(client.get("/api/status?" + q).get_json(), want["status"])
        same(client.get("/api/signals?" + q).get_json(), {"signals": want["signals"], "as_of": rfc3339(at)})
        same(client.get("/api/alerts?" + q).get_json(), {"alerts": want["alerts"], "as_of": rfc3339(at)})
        same(client.get("/api/ledger?" + q).get_json(), {**want["ledger"], "as_of": rfc3339(at)})
    t1, t2 = moments
    # the states really differ: at t1 one open SPY position; at t2 SPY closed +100 and an auth failure
    at1 = client.get(f"/api/ledger?as_of={rfc3339(t1)}").get_json()
    at2 = client.get(f"/api/ledger?as_of={rfc3339(t2)}").get_json()
    assert at1["totals"]["realized"] == 0 and [p["ticker"] for p in at1["positions"]] == ["SPY"]
    assert at2["totals"]["realized"] == 100.0 and [p["ticker"] for p in at2["positions"]] == ["QQQ"]
    s2 = client.get(f"/api/status?as_of={rfc3339(t2)}").get_json()
    assert s2["worker"]["consecutive_failures"] == 1 and s2["worker"]["last_error"]["reason"] == "auth"
    assert client.get("/api/status").get_json()["worker"]["consecutive_failures"] == 0  # live: recovered


def test_status_ages_are_computed_at_as_of(make_app, feed):
    client = make_app(clock=ManualClock(start=time.time() + 3600)).test_client()
    feed.started(stale=60)
    feed.completed()
    t1 = moment()
    wait_until(synced(client, "worker", 2))
    past = client.get(f"/api/status?as_of={rfc3339(t1 + 30)}").get_json()
    assert 30 <= past["lag"]["poll_age_seconds"] < 31
    assert past["stale"] is False
    assert client.get(f"/api/status?as_of={rfc3339(t1 + 90)}").get_json()["stale"] is True
    before = client.get(f"/api/status?as_of={rfc3339(t1 - 3600)}").get_json()  # before anything: nothing known
    assert before["worker"]["last_poll_at"] is None and before["stale"] is True


def test_bad_as_of_is_refused(client, feed):
    assert client.get("/api/status?as_of=yesterday").status_code == 400
    r = client.get(f"/api/signals?as_of={rfc3339(time.time() + 3600)}")
    assert r.status_code == 400 and "future" in r.get_json()["error"]
    assert client.get("/?as_of=nonsense").status_code == 400
    assert client.get("/ledger?as_of=nonsense").status_code == 400


def test_dashboard_past_view_is_marked_and_not_live(client, feed):
    t1 = history(feed)[0]
    wait_until(synced(client, "raw", 5))
    html = client.get(f"/?as_of={rfc3339(t1)}").get_data(as_text=True)
    assert 'id="past-view"' in html and "Past view as of" in html and f'data-as-of="{rfc3339(t1)}"' in html
    assert "BTO SPY 600c @ 1" in html and "STC SPY 600c @ 2" not in html
    assert "past view: not live" in html
    live = client.get("/").get_data(as_text=True)
    assert 'id="past-view"' not in live and "STC QQQ 500p @ 1" in live
    ledger = client.get(f"/ledger?as_of={rfc3339(t1)}").get_data(as_text=True)
    assert "Past view as of" in ledger


def test_replays_are_cached_and_resumed_from_checkpoints(make_app, store, feed):
    moments = history(feed)
    clock = ManualClock(start=time.time() + 3600)  # an hour later: every moment is settled
    app = make_app(clock=clock)
    client = app.test_client()
    wait_until(synced(client, "raw", 5))
    past = views(app)
    t1, t2 = moments
    client.get(f"/api/ledger?as_of={rfc3339(t1)}")
    assert (past.replays, past.resumed) == (1, 0)
    client.get(f"/api/signals?as_of={rfc3339(t1)}")  # the same moment: from the cache
    assert past.replays == 1
    body = client.get(f"/api/ledger?as_of={rfc3339(t2)}").get_json()  # later: resumed from the t1 checkpoint
    assert (past.replays, past.resumed) == (2, 1)
    same(body, {**fresh(app, store, t2).ledger.summary(), "as_of": rfc3339(t2)})
    same(client.get(f"/api/status?as_of={rfc3339(t2)}").get_json(),
         {**fresh(app, store, t2).status(t2), "as_of": rfc3339(t2)})
    # the checkpoint itself was not changed by resuming from it
    same(client.get(f"/api/ledger?as_of={rfc3339(t1)}").get_json(),
         {**fresh(app, store, t1).ledger.summary(), "as_of": rfc3339(t1)})
