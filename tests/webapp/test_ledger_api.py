"""/api/ledger and /ledger against the paper ledger's hand-computed scripted sequence, fed through a real store."""

from __future__ import annotations

from projections.test_ledger import HAND_COMPUTED, scripted

from autosig.web import ledger as ledger_web
from webapp.conftest import synced, wait_until


def load(store):
    """Appends the scripted sequence to the store as the worker would; returns the in-memory feed."""
    f = scripted()
    for event in f.raw:
        store.append("raw", event.type, event.data, key=f"whop:{event.seq}")
    for event in f.parsed:
        store.append("parsed", event.type, event.data, key=f"parse:{event.data['raw_seq']}:1")
    return f


def test_api_ledger_matches_hand_computed_pnl(client, store):
    f = load(store)
    wait_until(synced(client, "parsed", len(f.parsed)))
    r = client.get("/api/ledger")
    assert r.status_code == 200
    body = r.get_json()
    assert {t["contract"]: t["realized"] for t in body["trades"]} == HAND_COMPUTED
    totals = body["totals"]
    assert totals["realized"] == 390.0  # 300 - 100 - 50 + 50 + 80 + 100 + 10
    assert totals["trades"] == 7 and totals["wins"] == 5 and totals["losses"] == 2
    assert totals["win_rate"] == 5 / 7
    # SPY +300 and AAPL's +200 trim on day 1 (New York dates); the rest on day 2
    assert body["pnl_by_day"] == {"2027-01-14": 500.0, "2027-01-15": -110.0}
    assert body["pnl_by_ticker"]["SPY"] == 300.0 and body["pnl_by_ticker"]["AAPL"] == -100.0
    # the equity curve ends at the realized total and steps by each exit
    curve = body["equity_curve"]
    assert curve[-1]["equity"] == 390.0
    assert [p["realized"] for p in curve[:2]] == [100.0, 200.0]  # SPY trim, then close
    # what it would not guess is listed: TSLA close (unmatched), QQQ trim (ambiguous), AAPL trim without size,
    # the late IWM edit
    kinds = sorted(p["kind"] for p in body["problems"])
    assert kinds == ["ambiguous", "ambiguous", "late_edit", "unmatched"]
    assert body["positions"] and {p["contract"] for p in body["positions"]} == {"QQQ 510P 2027-01-17"}
    # and it is exactly the projection's own summary over the same events
    assert body == f.ledger().summary()


def test_ledger_page_renders_tables_and_chart_script(client, store):
    f = load(store)
    wait_until(synced(client, "parsed", len(f.parsed)))
    r = client.get("/ledger")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="equity"' in html and "ledger.js" in html and "<script>" not in html
    assert "+390.00" in html and "SPX -5900P" in html and "unmatched" in html
    assert '<dd id="t-expired">0</dd>' in html
    assert "Past view" not in html


def test_ledger_follows_the_active_parser_version(client, feed):
    from webapp.conftest import sig

    feed.started(version="1")
    feed.alert("BTO SPY", signals=[sig("SPY", price=1.0)], created_at="2027-01-14T15:00:00Z")
    _, last = feed.alert("STC SPY", signals=[sig("SPY", action="close", price=2.0)], created_at="2027-01-14T15:10:00Z")
    # a v2 parse of the close at another price does not count while v1 is active
    feed.store.append("parsed", "alert.parsed", {"raw_seq": 2, "source_id": "x", "parser_version": "2",
                                                 "kind": "signal", "reason": None,
                                                 "signals": [sig("SPY", action="close", price=3.0)]})
    wait_until(synced(client, "parsed", last + 1))
    assert client.get("/api/ledger").get_json()["totals"]["realized"] == 100.0
    feed.started(version="2")
    wait_until(lambda: client.get("/api/ledger").get_json()["parser_version"] == "2")
    # v2 parsed only the close: the open has no v2 parse, so nothing is followed but an unmatched close
    body = client.get("/api/ledger").get_json()
    assert body["totals"]["realized"] == 0 and [p["kind"] for p in body["problems"]] == ["unmatched"]


def test_hostile_text_in_ledger_page_is_escaped(client, feed):
    from webapp.conftest import sig

    _, last = feed.alert('<script>alert(1)</script>', signals=[sig("ZZZ", action="close", price=1.0)])
    wait_until(synced(client, "parsed", last))
    html = client.get("/ledger").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_failing_ledger_store_drops_the_ledger_not_the_dashboard(client, feed, monkeypatch):
    """The ledger keeps its history in a temporary SQLite database; when that fails (a full disk), the other
    projections keep following and the ledger is built again once it can be."""
    import sqlite3

    from autosig.projections.ledger_history import History
    from webapp.conftest import sig

    _, last = feed.alert("BTO SPY", signals=[sig("SPY", price=1.0)], created_at="2027-01-14T15:00:00Z")
    wait_until(synced(client, "parsed", last))
    assert client.get("/api/ledger").get_json()["totals"]["open_positions"] == 1

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(ledger_web, "LEDGER_WAIT_SECONDS", 0.5)
    monkeypatch.setattr(History, "_write", full)
    _, last = feed.alert("BTO QQQ", signals=[sig("QQQ", price=2.0)], created_at="2027-01-14T15:05:00Z")
    wait_until(synced(client, "parsed", last))  # the signals projection followed
    assert client.get("/api/signals").get_json()["signals"][0]["signal"]["ticker"] == "QQQ"
    r = client.get("/api/ledger")  # dropped, and its rebuild fails the same way meanwhile
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert "disk is full" in client.application.extensions["autosig"].host.errors["ledger"]
    monkeypatch.undo()
    wait_until(lambda: client.get("/api/ledger").status_code == 200, timeout=30)
    assert client.get("/api/ledger").get_json()["totals"]["open_positions"] == 2
