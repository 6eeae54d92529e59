"""The review queue: what is listed, reviews recorded as events (POST with a CSRF token, password required), shown
next to the parser's result, exported as parser test cases — through the Flask client and a real browser."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from parsing.helpers import CHECKER

from autosig.commands.export_reviews import cases
from autosig.events import open_store
from autosig.schema import review_key
from webapp.conftest import Feed, sig, synced, wait_until

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse"
AUTH = {"Authorization": f"Bearer {PASSWORD}"}
HOSTILE = '<img src=x onerror="window.__pwned = 1">BTO ZZZ whatever'


def low(ticker: str, confidence: float, **kw) -> dict:
    s = sig(ticker, **kw)
    s["confidence"] = confidence
    return s


def fill(feed: Feed) -> dict[str, int]:
    seqs = {}
    seqs["unparseable"], _ = feed.alert("BTO 2 SPY 600 1/17 @ 1.25 maybe", kind="unparseable", reason="no right")
    seqs["low"], _ = feed.alert("in QQQ 500p ~2", signals=[low("QQQ", 0.55, right="P", strike=500.0, price=2.0)])
    seqs["high"], _ = feed.alert("BTO IWM 220c @ 1", signals=[low("IWM", 0.95)])
    seqs["chatter"], _ = feed.alert("good morning", kind="non_signal", reason="chatter")
    seqs["hostile"], last = feed.alert(HOSTILE, kind="unparseable", reason="no strike")
    seqs["last_parsed"] = last
    return seqs


def token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def form(raw_seq: int, csrf: str | None, **fields: str) -> dict[str, str]:
    data = {"raw_seq": str(raw_seq), "kind": "signal", "action": "open", "instrument": "option", "ticker": "spy",
            "side": "buy", "right": "C", "strike": "600", "expiry": "2027-01-17", "price": "1.25", "quantity": "2",
            **fields}  # fmt: skip
    if csrf is not None:
        data["csrf"] = csrf
    return data


@pytest.fixture
def reviewing(make_app, feed):
    app = make_app(DASHBOARD_PASSWORD=PASSWORD)
    client = app.test_client()
    seqs = fill(feed)
    wait_until(lambda: client.get("/api/status", headers=AUTH).get_json()["streams"]["parsed"]["seq"]
               >= seqs["last_parsed"])  # fmt: skip
    return client, seqs


def test_queue_lists_unparsed_and_low_confidence_only(reviewing):
    client, seqs = reviewing
    body = client.get("/api/reviews", headers=AUTH).get_json()
    assert body["threshold"] == 0.7
    listed = {item["raw_seq"]: item["flag"] for item in body["queue"]}
    assert listed == {seqs["unparseable"]: "unparseable", seqs["low"]: "low confidence 0.55",
                      seqs["hostile"]: "unparseable"}  # fmt: skip
    html = client.get("/reviews", headers=AUTH).get_data(as_text=True)
    assert html.count('class="review-item"') == 3
    assert "&lt;img src=x" in html and HOSTILE not in html  # escaped
    assert "<script" not in html.replace('<script src="', "")


def test_record_a_review_and_see_it_next_to_the_parse(reviewing, store):
    client, seqs = reviewing
    target = seqs["unparseable"]
    csrf = token(client.get("/reviews", headers=AUTH).get_data(as_text=True))
    r = client.post("/reviews", data=form(target, csrf, note="the analyst means calls"), headers=AUTH)
    assert r.status_code == 303 and f"recorded={target}" in r.headers["Location"]
    events = list(store.read("reviews"))
    assert len(events) == 1 and events[0].type == "review.recorded"
    data = events[0].data
    assert data["raw_seq"] == target and data["parser_kind"] == "unparseable" and data["parser_version"] == "1"
    signal = data["expect"]["signals"][0]
    assert (signal["action"], signal["ticker"], signal["price"], signal["quantity"]) == ("open", "SPY", 1.25, 2)
    assert signal["legs"] == [{"side": "buy", "ratio": 1, "right": "C", "strike": 600.0, "expiry": "2027-01-17"}]
    assert events[0].key == review_key(target, {"raw_seq": target, "expect": data["expect"], "note": data["note"]})
    assert events[0].key.startswith(f"review:{target}:")
    # shown by the projections next to the parser's result
    alert = next(a for a in client.get("/api/alerts", headers=AUTH).get_json()["alerts"] if a["raw_seq"] == target)
    assert alert["kind"] == "unparseable" and alert["review"]["expect"]["signals"][0]["ticker"] == "SPY"
    assert alert["review"]["note"] == "the analyst means calls"
    page = client.get(r.headers["Location"], headers=AUTH).get_data(as_text=True)
    assert "recorded." in page and 'class="reviewed"' in page and "open SPY 600C 2027-01-17 @ 1.25" in page
    # the same review again is the same event (keyed); the stream stays hash-chained
    client.post("/reviews", data=form(target, csrf, note="the analyst means calls"), headers=AUTH)
    assert len(list(store.read("reviews"))) == 1
    client.post("/reviews", data=form(seqs["low"], csrf, kind="non_signal", reason="a watchlist"), headers=AUTH)
    events = list(store.read("reviews"))
    assert len(events) == 2 and events[1].prev == events[0].hash


def test_post_without_or_with_a_wrong_csrf_token_is_refused(reviewing, store):
    client, seqs = reviewing
    target = seqs["unparseable"]
    assert client.post("/reviews", data=form(target, None), headers=AUTH).status_code == 403
    assert client.post("/reviews", data=form(target, "123.abc"), headers=AUTH).status_code == 403
    stale = f"{int(time.time()) - 13 * 3600}"
    csrf = token(client.get("/reviews", headers=AUTH).get_data(as_text=True))
    assert client.post("/reviews", data=form(target, stale + "." + csrf.split(".")[1]), headers=AUTH).status_code == 403
    # a token is bound to the password: one made for another password does not pass
    import hashlib
    import hmac

    issued = str(int(time.time()))
    other = hmac.new(b"another", b"autosig-review-csrf:" + issued.encode(), hashlib.sha256).hexdigest()
    assert client.post("/reviews", data=form(target, f"{issued}.{other}"), headers=AUTH).status_code == 403
    # a cross-site form, even with a valid token
    r = client.post("/reviews", data=form(target, csrf), headers={**AUTH, "Origin": "https://evil.example"})
    assert r.status_code == 403
    r = client.post("/reviews", data=form(target, csrf), headers={**AUTH, "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    # without the password nothing at all
    assert client.post("/reviews", data=form(target, csrf)).status_code == 401
    # GET never records
    client.get("/reviews?" + "&".join(f"{k}={v}" for k, v in form(target, csrf).items()), headers=AUTH)
    assert list(store.read("reviews")) == []


def test_invalid_review_is_refused_with_the_reason(reviewing, store):
    client, seqs = reviewing
    csrf = token(client.get("/reviews", headers=AUTH).get_data(as_text=True))
    r = client.post("/reviews", data=form(seqs["low"], csrf, price="lots"), headers=AUTH)
    assert r.status_code == 400 and "price must be a number" in r.get_data(as_text=True)
    r = client.post("/reviews", data=form(seqs["low"], csrf, signals_json='{"action": "open", "bogus": 1}'),
                    headers=AUTH)  # fmt: skip
    assert r.status_code == 400 and "unknown signal fields" in r.get_data(as_text=True)
    assert client.post("/reviews", data=form(99999, csrf), headers=AUTH).status_code == 404
    assert list(store.read("reviews")) == []


def test_reviews_refused_without_a_password_even_on_loopback(client, feed, store):
    seqs = fill(feed)
    wait_until(synced(client, "parsed", seqs["last_parsed"]))
    html = client.get("/reviews").get_data(as_text=True)
    assert 'id="reviews-disabled"' in html and "DASHBOARD_PASSWORD is not set" in html
    assert 'name="csrf"' not in html and html.count('class="review-item"') == 3  # listed, not reviewable
    r = client.post("/reviews", data=form(seqs["unparseable"], "1.x"))
    assert r.status_code == 403 and "DASHBOARD_PASSWORD" in r.get_json()["error"]
    assert list(store.read("reviews")) == []


def test_export_reviews_round_trips_into_the_corpus_format(reviewing, store, log_dir, tmp_path):
    client, seqs = reviewing
    csrf = token(client.get("/reviews", headers=AUTH).get_data(as_text=True))
    client.post("/reviews", data=form(seqs["unparseable"], csrf), headers=AUTH)
    client.post("/reviews", data=form(seqs["low"], csrf, signals_json=json.dumps(
        {"action": "open", "instrument": "option", "ticker": "QQQ", "price": 2.0,
         "legs": [{"side": "buy", "ratio": 1, "right": "P", "strike": 500.0, "expiry": None}]})), headers=AUTH)
    client.post("/reviews", data=form(seqs["hostile"], csrf, kind="non_signal", reason="garbage"), headers=AUTH)
    out = tmp_path / "reviews.jsonl"
    done = subprocess.run([sys.executable, "-m", "autosig", "export-reviews", "--store", f"file:{log_dir}",
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [set(c) for c in lines] == [{"id", "text", "created_at", "reply_to", "expect"}] * 3
    by_text = {c["text"]: c for c in lines}
    first = by_text["BTO 2 SPY 600 1/17 @ 1.25 maybe"]
    assert first["expect"] == {"kind": "signal", "signals": [{
        "action": "open", "instrument": "option", "ticker": "SPY", "price": 1.25, "quantity": 2,
        "legs": [{"side": "buy", "ratio": 1, "right": "C", "strike": 600.0, "expiry": "2027-01-17"}]}]}
    assert by_text["in QQQ 500p ~2"]["expect"]["signals"][0]["legs"] == [
        {"side": "buy", "ratio": 1, "right": "P", "strike": 500.0}]  # the unstated expiry is not checked
    assert by_text[HOSTILE]["expect"] == {"kind": "non_signal"}
    assert lines == cases(store)  # the command and the function agree
    # the cases feed the parser and its scorer like any corpus file
    parsed = subprocess.run([sys.executable, "-m", "autosig", "parse"], input=out.read_text(), capture_output=True,
                            text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert parsed.returncode == 0, parsed.stderr
    assert [json.loads(x)["id"] for x in parsed.stdout.splitlines()] == [c["id"] for c in lines]
    results = tmp_path / "out.jsonl"
    results.write_text(parsed.stdout)
    scored = subprocess.run([sys.executable, str(CHECKER), str(out), str(results)], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert re.search(r"score: \d+/3", scored.stdout), scored.stdout + scored.stderr


# --- the real browser ---------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_review_through_the_browser(tmp_path, browser):
    from webapp.test_gunicorn import Server

    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.started(stale=600)
    feed.completed()
    seqs = fill(feed)
    server = Server(log_dir, {"DASHBOARD_PASSWORD": PASSWORD})
    try:
        context = browser.new_context(http_credentials={"username": "reviewer", "password": PASSWORD})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server.url + "/reviews")
        items = page.locator("li.review-item")
        assert items.count() == 3
        item = page.locator(f"#alert-{seqs['unparseable']}")
        assert item.locator("pre.alert-text").text_content() == "BTO 2 SPY 600 1/17 @ 1.25 maybe"
        assert item.locator(".flag").text_content() == "unparseable"
        item.locator("summary").click()
        item.locator("select[name=action]").select_option("open")
        item.locator("select[name=instrument]").select_option("option")
        item.locator("input[name=ticker]").fill("SPY")
        item.locator("select[name=side]").select_option("buy")
        item.locator("select[name=right]").select_option("C")
        item.locator("input[name=strike]").fill("600")
        item.locator("input[name=expiry]").fill("2027-01-17")
        item.locator("input[name=price]").fill("1.25")
        item.locator("input[name=quantity]").fill("2")
        item.locator("input[name=note]").fill('<b>calls</b>, "600"')
        item.locator("button[type=submit]").click()
        page.wait_for_selector("#flash.flash-ok", timeout=5000)
        assert f"#{seqs['unparseable']}" in page.locator("#flash").text_content()
        # either gunicorn worker may answer the next page: both follow the reviews stream
        deadline = time.monotonic() + 5
        while page.locator(f"#alert-{seqs['unparseable']} .reviewed").count() == 0:
            assert time.monotonic() < deadline, "the review did not appear"
            page.wait_for_timeout(200)
            page.reload()
        reviewed = page.locator(f"#alert-{seqs['unparseable']} .reviewed")
        assert "by reviewer" in reviewed.text_content()
        assert reviewed.locator(".review-result").text_content() == "open SPY 600C 2027-01-17 @ 1.25 ×2"
        assert reviewed.locator(".review-note").text_content() == '<b>calls</b>, "600"'
        assert page.locator(".reviewed b").count() == 0
        # the hostile alert is text, and nothing ran
        hostile = page.locator(f"#alert-{seqs['hostile']} pre.alert-text").text_content()
        assert hostile == HOSTILE and page.evaluate("window.__pwned") is None
        assert errors == []
        context.close()
        # a POST without the CSRF token is refused, even with the password
        r = requests.post(server.url + "/reviews", data=form(seqs["low"], None), auth=("x", PASSWORD), timeout=10)
        assert r.status_code == 403 and "CSRF" in r.json()["error"]
        r = requests.post(server.url + "/reviews", data=form(seqs["low"], None), timeout=10)
        assert r.status_code == 401
        # and the review is in the API and the export
        alerts = requests.get(server.url + "/api/alerts", auth=("x", PASSWORD), timeout=10).json()["alerts"]
        assert next(a for a in alerts if a["raw_seq"] == seqs["unparseable"])["review"]["expect"]["kind"] == "signal"
        exported = cases(store)
        assert len(exported) == 1 and exported[0]["expect"]["signals"][0]["ticker"] == "SPY"
    finally:
        server.stop()
        store.close()
