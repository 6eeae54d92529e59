"""Hostile alert text, tickers, reasons and status strings in real Chromium, served by the exact gunicorn command:
nothing runs, everything shows literally, and the Content-Security-Policy blocks inline script even if escaping
ever failed."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from webapp.conftest import Feed, sig
from webapp.orders_feed import OrdersFeed
from webapp.test_gunicorn import Feeder, Server

from autosig.events import open_store
from security.conftest import BIG, PAYLOADS, concrete_paths

pytestmark = pytest.mark.browser

NOT_RUN = "() => window.__pwned === undefined && window.__dialog === undefined"


def hostile_signal(payload: str, n: int) -> dict:
    """A signal whose every string field is hostile, as a broken or subverted parser could produce."""
    s = sig(f"X{n}")
    s.update(ticker=payload, action=payload, instrument=payload, limit_kind=payload, size_text=payload,
             tags=[payload], stop={"text": payload}, refers_to=payload)
    s["legs"][0].update(side=payload, right=payload, expiry=payload)
    return s


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("xss") / "logs"
    log_dir.mkdir()
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.started(stale=600)
    feed.completed()
    for n, payload in enumerate(PAYLOADS):
        feed.alert(payload, signals=[sig(f"T{n}")])  # hostile text, ordinary signal
        feed.alert(f"hostile parse {n}", signals=[hostile_signal(payload, n)])  # hostile parse output
        feed.alert(payload + " (unparsed)", kind="unparseable", reason=payload)
    feed.alert(BIG, signals=[sig("BIG")])
    # hostile strings in the worker's own records: a failure detail shows in the banner and the facts
    feed.failed(reason="network", status=None, detail=PAYLOADS[1] + PAYLOADS[0])
    feed.completed()
    # and in the executor's: decisions about hostile alerts, hostile contract names, details and pause reasons
    orders = OrdersFeed(store, channel="chat_feed_x")
    orders.started(mode="paper", broker=PAYLOADS[2], account=PAYLOADS[5])
    for n, payload in enumerate(PAYLOADS[:10]):
        raw_seq, _ = feed.alert(payload + " (decided)", source_id=f"hostile_{n}", signals=[sig(f"D{n}")])
        if n % 2:
            orders.skipped(raw_seq, f"hostile_{n}", "no_price", detail=payload, ticker=payload, action=payload,
                           exit_missed=True)
        else:
            coid = orders.planned(raw_seq, f"hostile_{n}", ticker=payload, quantity=1)
            orders.submitted(coid)
            orders.updated(coid, "filled", 1, 1.0)
    orders.reconciled(1, PAYLOADS[0], ours=1, brokers=0, change=PAYLOADS[1])
    orders.paused(reason=PAYLOADS[3], by=PAYLOADS[4])
    store.close()
    server = Server(log_dir)
    feeder = Feeder(log_dir)
    yield server, feeder, log_dir
    feeder.close()
    server.stop()


def html_pages(server: Server, log_dir) -> list[str]:
    """Every GET route without arguments that answers HTML: the dashboard and any page added later."""
    pages = []
    for path in concrete_paths(log_dir):
        if path.startswith(("/api/stream", "/static/")):
            continue
        r = server.get(path)
        if r.status_code == 200 and r.headers.get("Content-Type", "").startswith("text/html"):
            pages.append(path)
    assert "/" in pages
    return pages


def open_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    # alert()/confirm() from a payload would open a dialog: record it (and dismiss it)
    page.on("dialog", lambda d: (page.evaluate("window.__dialog = 1"), d.dismiss()))
    page.goto(url)
    return context, page


def test_every_page_runs_nothing_and_shows_text_literally(hostile_site, browser):
    server, feeder, log_dir = hostile_site
    for path in html_pages(server, log_dir):
        context, page = open_page(browser, server.url + path)
        try:
            page.wait_for_load_state("load")
            page.wait_for_timeout(500)  # let the page's script fetch and render the API data
            assert page.evaluate(NOT_RUN), f"{path}: a payload ran: {page.evaluate('window.__pwned')}"
            # no element a payload would create exists
            injected = page.locator("img, iframe, svg script, math, base, meta[http-equiv], a[href^='javascript']")
            assert injected.count() == 0, f"{path}: markup from alert text became elements"
            assert page.locator("body").is_visible(), f"{path}: an injected style hid the page"
            assert page.errors == [], path
            body = page.locator("body").inner_text()
            assert "74070" not in body and "JINJAJINJA" not in body, f"{path}: a {{{{ }}}} expression was evaluated"
            if path == "/":
                texts = page.locator("pre.alert-text").all_text_contents()
                for payload in PAYLOADS:
                    assert payload in texts, f"alert text not shown literally: {payload!r}"
                for payload in PAYLOADS[-20:]:  # the dashboard lists the 20 newest alerts that did not parse
                    assert payload + " (unparsed)" in texts
                big = [t for t in texts if t.startswith("BTO BIG")]
                assert big == [BIG]
                tickers = set(page.locator("#signals-body td.ticker").all_text_contents())
                assert set(PAYLOADS) <= tickers, "hostile tickers not shown literally"
                reasons = set(page.locator("#unparsed-list .reason").all_text_contents())
                assert reasons & set(PAYLOADS), "hostile reasons not shown"
                assert PAYLOADS[1] in page.locator("#last-error-text").text_content()
            if path == "/orders":
                texts = page.locator("#decisions pre.alert-text").all_text_contents()
                for payload in PAYLOADS[:10]:
                    assert payload + " (decided)" in texts, f"alert text not shown literally on /orders: {payload!r}"
                details = page.locator("#decisions .d-detail").all_text_contents()
                assert set(PAYLOADS[1:10:2]) <= set(details)
                assert PAYLOADS[3] in page.locator("#pause-state").text_content()
            assert PAYLOADS[3] in page.locator("#strip-paused-text").text_content(), path
            # the raw HTML carries no payload unescaped
            html = requests.get(server.url + path, timeout=10).text
            for payload in PAYLOADS:
                if "<" in payload:
                    assert payload not in html, f"{path}: served unescaped: {payload!r}"
        finally:
            context.close()


def test_live_updates_insert_hostile_strings_as_text(hostile_site, browser):
    server, feeder, _ = hostile_site
    context, page = open_page(browser, server.url + "/")
    try:
        page.wait_for_selector("#live.live-on", timeout=5000)
        for n, payload in enumerate(PAYLOADS[:12]):
            feeder("alert", text=payload + " live", tickers=[f"LIVE{n}"])
        feeder("alert", text="<img src=x onerror=window.__pwned='live-reason'>", kind="unparseable",
               reason="<svg onload=window.__pwned='live-reason2'>")
        page.wait_for_selector("#signals-body td.ticker:text-is('LIVE11')", timeout=5000)
        page.wait_for_timeout(300)
        assert page.evaluate(NOT_RUN), page.evaluate("window.__pwned")
        texts = page.locator("pre.alert-text").all_text_contents()
        for payload in PAYLOADS[:12]:
            assert payload + " live" in texts
        # the tz toggle re-renders times; clicking every link-like element a payload could have made runs nothing
        page.click("#tz-toggle")
        for summary in page.locator("summary").all()[:20]:
            summary.click()
        page.wait_for_timeout(200)
        assert page.evaluate(NOT_RUN), page.evaluate("window.__pwned")
        assert page.errors == []
    finally:
        context.close()


def test_live_orders_insert_hostile_strings_as_text(hostile_site, browser):
    server, feeder, _ = hostile_site
    context, page = open_page(browser, server.url + "/orders")
    try:
        page.wait_for_selector("#live.live-on", timeout=5000)
        for n, payload in enumerate(PAYLOADS[:12]):
            raw = feeder("alert", text=payload + " live order", tickers=[f"LO{n}"], source_id=f"live_order_{n}")
            if n % 2:
                feeder("orders", call="skipped", raw_seq=raw["raw_seq"], source_id=f"live_order_{n}",
                       reason="market_closed", detail=payload, ticker=payload, action=payload)
            else:
                feeder("orders", call="planned", raw_seq=raw["raw_seq"], source_id=f"live_order_{n}", ticker=payload)
        feeder("orders", call="paused", reason=PAYLOADS[0], by=PAYLOADS[1])
        page.wait_for_function("() => document.querySelectorAll('#decisions li').length >= 22", timeout=5000)
        page.wait_for_selector("#mode-strip[data-paused='true']", timeout=5000)
        page.wait_for_timeout(300)
        assert page.evaluate(NOT_RUN), page.evaluate("window.__pwned")
        texts = page.locator("#decisions pre.alert-text").all_text_contents()
        for payload in PAYLOADS[:12]:
            assert payload + " live order" in texts
        assert PAYLOADS[0] in page.locator("#strip-paused-text").text_content()
        injected = page.locator("#decisions img, #decisions iframe, #decisions script, #mode-strip img")
        assert injected.count() == 0
        for summary in page.locator("#decisions summary").all()[:12]:
            summary.click()
        for link in page.locator("#decisions a.d-reason").all()[:6]:
            link.click()
        page.wait_for_timeout(200)
        assert page.evaluate(NOT_RUN), page.evaluate("window.__pwned")
        assert page.url.startswith(server.url + "/orders")  # a hostile reason never made a link elsewhere
        assert page.errors == []
    finally:
        context.close()


def test_csp_blocks_injected_inline_script_handlers_and_eval(hostile_site, browser):
    """Defence in depth: if markup were ever injected, the browser itself would refuse to run it."""
    server, _, log_dir = hostile_site
    for path in html_pages(server, log_dir):
        context, page = open_page(browser, server.url + path)
        try:
            page.wait_for_load_state("load")
            csp = requests.get(server.url + path, timeout=10).headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
            result = page.evaluate("""async () => {
                const violations = [];
                document.addEventListener('securitypolicyviolation',
                    (e) => violations.push(e.effectiveDirective || e.violatedDirective));
                const s = document.createElement('script');
                s.textContent = "window.__pwned = 'inline-script'";
                document.body.appendChild(s);
                const div = document.createElement('div');
                div.innerHTML = '<img src="data:," onload="window.__pwned = \\'inline-handler\\'">';
                document.body.appendChild(div);
                const a = document.createElement('a');
                a.href = "javascript:window.__pwned = 'js-url'";
                document.body.appendChild(a);
                a.click();
                // a string timer is eval: it runs later, outside this (DevTools-privileged) evaluation
                setTimeout("window.__pwned = 'string-timer'", 0);
                const ext = document.createElement('script');
                ext.src = 'https://evil.invalid/x.js';
                document.body.appendChild(ext);
                await new Promise((r) => setTimeout(r, 400));
                return {pwned: window.__pwned === undefined ? null : window.__pwned, violations};
            }""")
            assert result["pwned"] is None, f"{path}: {result}"
            directives = set(result["violations"])
            assert {"script-src-elem", "script-src-attr", "script-src"} <= directives, f"{path}: {result}"
        finally:
            context.close()


class _Parent(BaseHTTPRequestHandler):
    """A page on another origin that frames the target, plus an unprotected page as the control."""

    target = ""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path == "/control":
            body = b"<p id=control>framed fine</p>"
        else:
            body = (f'<iframe id=t src="{self.target}" width=600 height=400></iframe>'
                    '<iframe id=c src="/control" width=100 height=100></iframe>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


def test_pages_cannot_be_framed(hostile_site, browser):
    server, _, log_dir = hostile_site
    # the other origin is a real loopback server: Chromium refuses a public page framing a local one for its own
    # reasons, which would make this test pass without the header
    parent = ThreadingHTTPServer(("127.0.0.1", 0), _Parent)
    threading.Thread(target=parent.serve_forever, daemon=True).start()
    context = browser.new_context()
    try:
        for path in html_pages(server, log_dir):
            _Parent.target = f"http://localhost:{server.port}{path}"
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{parent.server_address[1]}/")
            page.frame_locator("#c").locator("#control").wait_for(timeout=5000)  # framing works in general
            page.wait_for_timeout(500)
            # a refused frame holds the browser's error page instead of ours
            assert not [f for f in page.frames if f.url.startswith(_Parent.target)], f"{path} loaded inside a frame"
            assert page.frame_locator("#t").locator("text=AutoSig").count() == 0, f"{path} rendered inside a frame"
            page.close()
    finally:
        context.close()
        parent.shutdown()
        parent.server_close()
