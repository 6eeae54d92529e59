"""The dashboard in real headless Chromium (Debian's, driven by Playwright), served by the exact gunicorn command."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from autosig.events import open_store
from webapp.conftest import Feed, sig
from webapp.test_gunicorn import Feeder, Server

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SCRIPT = '<script>window.__pwned = "script"</script>'
IMG = '<img src=x onerror="window.__pwned = \'img\'">'
BIG = "BTO BIG 1c @ 1 " + ("A<b>" * 50_000)  # 200 KB


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("browser") / "logs"
    log_dir.mkdir()
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.started(stale=600)
    feed.completed()
    feed.alert("BTO 2 SPY 600c 1/17 @ 1.25", signals=[sig("SPY")])
    feed.alert("BTO QQQ 500p @ 2.10", signals=[sig("QQQ", right="P", price=2.1)])
    feed.alert(SCRIPT, signals=[sig("XSS")])
    feed.alert(IMG, kind="unparseable", reason="no strike")
    feed.alert(BIG, signals=[sig("BIG")])
    store.close()
    server = Server(log_dir)
    feeder = Feeder(log_dir)
    yield server, feeder
    feeder.close()
    server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    yield pg
    context.close()


def test_renders_signals_and_updates_live_without_reload(site, page):
    server, feeder = site
    page.goto(server.url + "/")
    page.wait_for_selector("#live.live-on", timeout=5000)
    assert page.locator("#banner").get_attribute("data-level") == "green"
    tickers = page.locator("#signals-body td.ticker").all_text_contents()
    assert {"SPY", "QQQ", "XSS", "BIG"} <= set(tickers)
    page.evaluate("window.__noReload = 42")
    feeder("alert", text="BTO LIVE1 700c @ 3", tickers=["LIVE1"])
    started = time.monotonic()
    page.wait_for_selector("#signals-body tr:first-child td.ticker:text-is('LIVE1')", timeout=2000)
    assert time.monotonic() - started < 2.0
    assert page.evaluate("window.__noReload") == 42
    row = page.locator("#signals-body tr:first-child")
    assert row.locator("td.action").text_content() == "open"
    assert row.locator("td.contract").text_content() == "600C 2027-01-17"
    assert row.locator("td.ver").text_content() == "v1"
    # the original text on demand
    row.locator("summary").click()
    assert row.locator("pre.alert-text").text_content() == "BTO LIVE1 700c @ 3"
    assert page.errors == []


def test_hostile_alert_text_renders_as_text_and_runs_nothing(site, page):
    server, feeder = site
    page.goto(server.url + "/")
    page.wait_for_selector("#live.live-on", timeout=5000)
    # live ones too, through the JavaScript path
    feeder("alert", text=SCRIPT + " live", tickers=["XSS2"])
    feeder("alert", text=IMG + " live", kind="unparseable", reason='<img src=x onerror="window.__pwned=\'r\'">')
    page.wait_for_selector("#signals-body td.ticker:text-is('XSS2')", timeout=2000)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    texts = page.locator("pre.alert-text").all_text_contents()
    assert SCRIPT in texts and SCRIPT + " live" in texts
    assert any(t == IMG for t in texts)
    big = [t for t in texts if t.startswith("BTO BIG")]
    assert big and len(big[0]) == len(BIG)
    assert page.locator("#signals-body img, #unparsed-list img, #signals-body script").count() == 0
    # a page reload (server-rendered path) runs nothing either
    page.reload()
    page.wait_for_selector("#live.live-on", timeout=5000)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert page.errors == []


def test_ticker_filter_and_eastern_time_toggle(site, page):
    server, _ = site
    page.goto(server.url + "/")
    page.wait_for_selector("#live.live-on", timeout=5000)
    page.fill("#ticker", "qqq")
    page.click("#ticker-form button[type=submit]")
    page.wait_for_function("() => [...document.querySelectorAll('#signals-body td.ticker')]"
                           ".every(td => td.textContent === 'QQQ')", timeout=2000)
    assert page.locator("#signals-body tr").count() == 1
    page.click("#ticker-clear")
    page.wait_for_function("() => document.querySelectorAll('#signals-body tr').length > 1", timeout=2000)
    first = page.locator("#signals-body time").first
    local_text = first.text_content()
    page.click("#tz-toggle")
    assert page.locator("#tz-toggle").text_content() == "Show local time"
    assert page.locator("#tz-name").text_content() == "US Eastern"
    # the test browser runs in UTC, so Eastern time reads differently
    assert first.text_content() != local_text


def test_banner_turns_red_live_when_polls_stop(site, page):
    server, feeder = site
    feeder("started", poll=0.5, stale=1.0)
    feeder("completed")
    page.goto(server.url + "/")
    page.wait_for_selector("#live.live-on", timeout=5000)
    page.wait_for_selector("#banner[data-level='red']", timeout=8000)
    assert "No poll for" in page.locator("#banner-headline").text_content()
    feeder("failed", reason="auth", status=401, detail="401 Unauthorized")
    page.wait_for_function(
        "() => document.getElementById('banner-headline').textContent === 'Whop rejects the token'", timeout=7000
    )
    assert page.locator("#banner-since").is_visible()
    feeder("started", poll=30, stale=600)
    feeder("completed")
    page.wait_for_selector("#banner[data-level='green']", timeout=7000)


def test_screenshots_desktop_and_phone(site, browser):
    server, feeder = site
    feeder("started", poll=30, stale=600, live=True, dry_run=False)
    feeder("completed")
    ARTIFACTS.mkdir(exist_ok=True)
    for name, viewport in (("desktop", {"width": 1366, "height": 900}), ("phone", {"width": 390, "height": 844})):
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        page = context.new_page()
        page.goto(server.url + "/")
        page.wait_for_selector("#live.live-on", timeout=5000)
        # the worker says LIVE_TRADING=true, but only an executor's start sets the mode shown
        page.wait_for_selector("#mode-strip[data-level='never']", timeout=7000)
        assert page.locator("#banner").is_visible()
        assert page.locator("#strip-headline").text_content() == "Executor never started — nothing is traded"
        # usable on a phone: nothing wider than the screen
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name}: page is {overflow}px wider than the viewport"
        path = ARTIFACTS / f"dashboard-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        context.close()
