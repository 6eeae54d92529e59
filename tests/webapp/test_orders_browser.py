"""/orders and the mode strip in real headless Chromium (Debian's, driven by Playwright), served by the exact gunicorn
command over a file store that another process appends to — the executor's events made by the schema's
constructors (tests/webapp/orders_feed.py), as the execute stage writes them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from autosig.events import open_store
from autosig.schema import CONTROL, EXECUTION_PAUSED, EXECUTION_RESUMED
from webapp.conftest import Feed, wait_until
from webapp.test_gunicorn import Feeder, Server

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORD = "orders-Pw-4471"
PAGES = ("/", "/orders", "/ledger", "/reviews")


def make_site(root: Path, **env: str) -> tuple[Server, Feeder, Path]:
    log_dir = root / "logs"
    log_dir.mkdir()
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.started(stale=600)
    feed.completed()
    store.close()
    return Server(log_dir, env), Feeder(log_dir), log_dir


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    server, feeder, log_dir = make_site(tmp_path_factory.mktemp("orders"), DASHBOARD_PASSWORD=PASSWORD)
    yield server, feeder, log_dir
    feeder.close()
    server.stop()


def open_page(browser, url: str, width: int = 1280, height: int = 900, password: str | None = PASSWORD):
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1,
                                  http_credentials={"username": "me", "password": password} if password else None)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(url)
    return context, page


def alert(feeder: Feeder, text: str, ticker: str = "SPY") -> tuple[int, str]:
    """A signal as the worker records it; returns (raw seq, message id)."""
    source_id = f"m_{ticker}_{time.monotonic_ns()}"
    out = feeder("alert", text=text, tickers=[ticker], source_id=source_id)
    return out["raw_seq"], source_id


def orders(feeder: Feeder, call: str, **kwargs):
    return feeder("orders", call=call, **kwargs)["result"]


def strip(page) -> tuple[str, str]:
    box = page.locator("#mode-strip")
    return box.get_attribute("data-level"), page.locator("#strip-headline").text_content()


def test_mode_strip_in_each_mode_on_every_page_and_live(tmp_path, browser):
    """Never started, dry run, paper, live (red), stopped: from the executor's start events alone, on every page,
    and changing live on an open page. The web's own environment says paper trading at the broker simulator
    throughout: it is never what the strip shows."""
    server, feeder, _ = make_site(tmp_path, DRY_RUN="false", AUTOSIG_BROKER="sim", AUTOSIG_BROKER_URL="http://127.0.0.1:9")
    try:
        feeder("started", live=True, dry_run=False)  # the worker says live too: still not a mode
        watched, watching = open_page(browser, server.url + "/", password=None)
        watching.wait_for_selector("#live.live-on", timeout=5000)
        steps = [
            (None, "never", "Executor never started — nothing is traded"),
            ({"mode": "dry_run", "broker": "none", "account": None}, "dry_run", "DRY RUN — nothing is sent"),
            ({"mode": "paper", "broker": "sim", "account": "PA3X5678"}, "paper", "PAPER — sim …5678"),
            ({"mode": "live", "broker": "alpaca", "account": "ACC99991234"}, "live", "LIVE — real money — alpaca …1234"),
            ("stop", "stopped", "Executor stopped at"),
        ]
        for start, level, headline in steps:
            if start == "stop":
                orders(feeder, "stopped")
            elif start is not None:
                orders(feeder, "started", **start)
            # the open page follows without a reload
            watching.wait_for_selector(f"#mode-strip[data-level='{level}']", timeout=7000)
            assert strip(watching) == (level, headline)
            for path in PAGES:
                context, page = open_page(browser, server.url + path, password=None)
                try:
                    assert strip(page) == (level, headline), path
                    assert page.locator("#banner + #mode-strip").count() == 1, f"{path}: the strip is not under the banner"
                    if level == "live":
                        color = page.evaluate("getComputedStyle(document.getElementById('mode-strip')).backgroundColor")
                        assert color == "rgb(176, 58, 46)", f"{path}: LIVE is not red but {color}"
                    if level == "stopped":
                        assert page.locator("#strip-at time").count() == 1
                        assert "it last ran in LIVE — alpaca …1234" in page.locator("#strip-detail").text_content()
                    assert page.errors == [], path
                finally:
                    context.close()
        assert watching.errors == []
        watched.close()
    finally:
        feeder.close()
        server.stop()


def test_a_decision_appears_planned_then_filled_without_a_reload(site, browser):
    server, feeder, _ = site
    orders(feeder, "started", mode="paper", broker="sim", account="PA31234")
    context, page = open_page(browser, server.url + "/orders")
    try:
        page.wait_for_selector("#live.live-on", timeout=5000)
        page.evaluate("window.__noReload = 7")
        raw_seq, source_id = alert(feeder, "BTO 2 SPY 600c 1/17 @ 1.25", "SPY")
        coid = orders(feeder, "planned", raw_seq=raw_seq, source_id=source_id, quantity=2, limit=1.35)
        item = page.locator("#decisions li.decision").first
        page.wait_for_function("() => document.querySelector('#decisions li .d-status')?.textContent === "
                               "'planned, not sent yet'", timeout=3000)  # fmt: skip
        assert item.locator(".d-what").text_content() == "open SPY 600C 2027-01-17"
        assert item.locator(".d-order").text_content() == "2 @ 1.35"
        orders(feeder, "submitted", coid=coid)
        page.wait_for_selector("#working-body tr td.status:text-is('working at the broker')", timeout=3000)
        assert page.locator("#open-orders").text_content() == "1"
        orders(feeder, "updated", coid=coid, status="partially_filled", filled=1, average=1.30)
        page.wait_for_selector("#decisions li .d-status:text-is('partially filled')", timeout=3000)
        orders(feeder, "updated", coid=coid, status="filled", filled=2, average=1.32)
        page.wait_for_selector("#decisions li .d-status:text-is('filled')", timeout=3000)
        assert "Filled 2 of 2 at 1.32 on average: 1 @ 1.3" in item.locator(".d-fills").text_content()
        page.wait_for_selector("#positions-body td.contract:text-is('SPY 600C 2027-01-17')", timeout=3000)
        page.wait_for_selector("#working-empty:not([hidden])", timeout=3000)
        assert page.evaluate("window.__noReload") == 7
        # the alert's text on demand
        item.locator("summary").click()
        assert item.locator("pre.alert-text").text_content() == "BTO 2 SPY 600c 1/17 @ 1.25"
        assert page.errors == []
    finally:
        context.close()


def test_a_skipped_signal_says_why_in_words_and_links_its_rule(site, browser):
    server, feeder, _ = site
    orders(feeder, "started", mode="paper", broker="sim", account="PA31234")
    raw_seq, source_id = alert(feeder, "BTO 10 NVDA 150c @ 4", "NVDA")
    orders(feeder, "skipped", raw_seq=raw_seq, source_id=source_id, reason="cap:max_daily_usd",
           detail="the entry would cost 4000.00 with 2500.00 already spent today (cap 5000)", ticker="NVDA")
    context, page = open_page(browser, server.url + "/orders")
    try:
        item = page.locator("#decisions li[data-seq] >> text=Today's entry budget is used up").first
        assert item.is_visible()
        li = page.locator("#decisions li.decision-skipped").first
        assert "2500.00 already spent today" in li.locator(".d-detail").text_content()
        li.locator("a.d-reason").click()
        assert page.evaluate("location.hash") == "#rule-cap-max_daily_usd"
        rule = page.locator("#rule-cap-max_daily_usd")
        assert rule.is_visible() and "AUTOSIG_MAX_DAILY_USD" in rule.text_content()
        assert page.evaluate("getComputedStyle(document.getElementById('rule-cap-max_daily_usd')).backgroundColor") \
            == "rgb(255, 247, 194)"  # :target: the rule is highlighted
    finally:
        context.close()


def both_workers(server: Server, predicate, timeout: float = 3.0) -> None:
    """Every gunicorn worker answers /api/status with a status satisfying predicate within timeout."""
    ok: set[str] = set()
    deadline = time.monotonic() + timeout
    while ok < server.pids:
        assert time.monotonic() < deadline, f"only workers {ok} of {server.pids} agree"
        r = server.get("/api/status", headers={"Authorization": f"Bearer {PASSWORD}"})
        if predicate(r.json()):
            ok.add(r.headers["X-AutoSig-Worker"])


def _control_events(log_dir: Path) -> list:
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    try:
        return list(store.read(CONTROL))
    finally:
        store.close()


def test_pause_and_resume_from_the_page_on_a_phone(site, browser):
    server, feeder, log_dir = site
    orders(feeder, "started", mode="paper", broker="sim", account="PA31234")
    before = len(_control_events(log_dir))
    context, page = open_page(browser, server.url + "/orders", width=390, height=844)
    try:
        page.wait_for_selector("#live.live-on", timeout=5000)
        assert page.locator("#resume-form").is_hidden()
        page.fill("#pause-form input[name=reason]", "fills look wrong")
        page.check("#pause-form input[name=cancel_entries]")
        # big enough to hit with a thumb
        box = page.locator("#pause-button").bounding_box()
        assert box["height"] >= 44 and box["width"] >= 300
        page.click("#pause-button")
        page.wait_for_selector("#flash.flash-ok", timeout=5000)
        assert "#pause" in page.url and "done=paused" in page.url
        events = _control_events(log_dir)[before:]
        assert [(e.type, e.data) for e in events] == [
            (EXECUTION_PAUSED, {"by": "dashboard", "reason": "fills look wrong", "cancel_entries": True})]
        assert strip(page)[0] == "paper" and page.locator("#strip-paused").is_visible()
        assert "Paused by dashboard at" in page.locator("#strip-paused-text").text_content()
        assert "fills look wrong (working entries cancelled)" in page.locator("#pause-state").text_content()
        assert page.locator("#pause-form").is_hidden() and page.locator("#resume-button").is_visible()
        # both gunicorn workers show it
        both_workers(server, lambda status: status["execution"]["paused"])
        page.click("#resume-button")
        page.wait_for_selector("#flash.flash-ok", timeout=5000)
        events = _control_events(log_dir)[before:]
        assert [e.type for e in events] == [EXECUTION_PAUSED, EXECUTION_RESUMED]
        assert events[1].data["by"] == "dashboard"
        assert page.locator("#strip-paused").is_hidden() and page.locator("#pause-button").is_visible()
        # paused from elsewhere (the CLI): the open page turns without a reload
        orders(feeder, "paused", reason="from the terminal", by="cli")
        page.wait_for_selector("#mode-strip[data-paused='true']", timeout=5000)
        page.wait_for_selector("#resume-form:not([hidden])", timeout=5000)
        assert "Paused by cli at" in page.locator("#strip-paused-text").text_content()
        orders(feeder, "resumed", by="cli")
        page.wait_for_selector("#mode-strip[data-paused='false']", timeout=5000)
        assert page.errors == []
    finally:
        context.close()


def test_the_switch_is_hidden_and_says_why_without_a_password(tmp_path, browser):
    server, feeder, log_dir = make_site(tmp_path)
    try:
        context, page = open_page(browser, server.url + "/orders", password=None)
        try:
            assert page.locator("#pause-form, #resume-form").count() == 0
            assert "DASHBOARD_PASSWORD is not set" in page.locator("#pause-hidden").text_content()
        finally:
            context.close()
    finally:
        feeder.close()
        server.stop()
    assert not (log_dir / "control.jsonl").exists()


def fill_for_screenshots(feeder: Feeder) -> None:
    orders(feeder, "started", mode="paper", broker="sim", account="PA31234")
    for ticker, strike, status in (("SPY", 600.0, "filled"), ("QQQ", 500.0, "accepted"), ("IWM", 220.0, None)):
        raw_seq, source_id = alert(feeder, f"BTO 2 {ticker} {strike:g}c 1/17 @ 1.25", ticker)
        coid = orders(feeder, "planned", raw_seq=raw_seq, source_id=source_id, ticker=ticker, strike=strike)
        if status:
            orders(feeder, "submitted", coid=coid)
        if status == "filled":
            orders(feeder, "updated", coid=coid, status="filled", filled=2, average=1.31)
    raw_seq, source_id = alert(feeder, "STC AMD 150c — out, weekend risk", "AMD")
    orders(feeder, "skipped", raw_seq=raw_seq, source_id=source_id, reason="market_closed",
           detail="the regular session is closed (opens Monday 09:30 New York)", ticker="AMD", action="close",
           exit_missed=True)
    raw_seq, source_id = alert(feeder, "BTO TSLA 300c lotto", "TSLA")
    orders(feeder, "skipped", raw_seq=raw_seq, source_id=source_id, reason="no_price",
           detail="an entry needs a price; the alert gives none", ticker="TSLA")
    orders(feeder, "reconciled", n=1, ticker="SPY", ours=2, brokers=1, change="the broker holds 1 (closed by hand?)")


def test_screenshots_desktop_and_phone(site, browser):
    server, feeder, _ = site
    fill_for_screenshots(feeder)
    ARTIFACTS.mkdir(exist_ok=True)
    shots = [("desktop", 1366, 900, "paper"), ("phone", 390, 844, "paper"), ("phone-live", 390, 844, "live")]
    for name, width, height, mode in shots:
        if mode == "live":
            orders(feeder, "started", mode="live", broker="alpaca", account="ACC99991234")
        context, page = open_page(browser, server.url + "/orders", width, height)
        try:
            page.wait_for_selector("#live.live-on", timeout=5000)
            wait_until(lambda p=page, m=mode: strip(p)[0] == m, 7)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{name}: the page is {overflow}px wider than the viewport"
            assert page.locator("#mode-strip").is_visible() and page.locator("#pause-button").is_visible()
            path = ARTIFACTS / f"orders-{name}.png"
            page.screenshot(path=str(path), full_page=True)
            assert path.stat().st_size > 10_000
            page.screenshot(path=str(ARTIFACTS / f"orders-{name}-first-screen.png"))  # what shows before scrolling
            assert page.errors == []
        finally:
            context.close()
    orders(feeder, "started", mode="paper", broker="sim", account="PA31234")


def test_a_change_between_the_render_and_the_page_script_is_shown(site, browser):
    """The page's own script arrives late (a slow network): a decision that changed after the server rendered the
    page, before its script ran, still shows its change — the stream resumes where the render stood."""
    server, feeder, _ = site
    orders(feeder, "started", mode="paper", broker="sim", account="PA31234")
    raw_seq, source_id = alert(feeder, "BTO 2 QQQ 500c 1/17 @ 2.10", "QQQ")
    coid = orders(feeder, "planned", raw_seq=raw_seq, source_id=source_id, ticker="QQQ", quantity=2, limit=2.2)
    held = []
    context = browser.new_context(http_credentials={"username": "me", "password": PASSWORD})
    try:
        context.route("**/static/orders.js", lambda route: held.append(route))
        page = context.new_page()
        page.goto(server.url + "/orders", wait_until="commit")
        for _ in range(100):  # route handlers run while Playwright waits
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the page never asked for its script"
        page.wait_for_selector("#decisions li .d-status:text-is('planned, not sent yet')", timeout=5000)
        orders(feeder, "submitted", coid=coid)
        orders(feeder, "updated", coid=coid, status="filled", filled=2, average=2.15)
        page.wait_for_timeout(500)  # what a timer-started stream would have opened by now
        held[0].continue_()
        page.wait_for_selector("#decisions li .d-status:text-is('filled')", timeout=5000)
        page.wait_for_selector("#live.live-on", timeout=5000)
    finally:
        context.close()
