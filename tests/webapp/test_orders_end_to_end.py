"""Trading paper end to end, seen from the dashboard: the Whop simulator publishes, the real worker (`python main.py`
with DRY_RUN=false AUTOSIG_BROKER=sim) decides and sends to the broker simulator, the exact gunicorn command serves
/orders, and real Chromium shows the decision planned, then filled, without a reload; the pause button on the page
stops the next decision (the broker simulator receives nothing more) and resume restarts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from worker.worker_harness import TOKEN, WorkerProc, wait_polls, wait_until

from autosig.brokers.simulator import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY
from autosig.brokers.simulator import Simulator as BrokerSimulator
from autosig.events import open_store
from autosig.schema import ORDERS
from autosig.sources.simulator import Simulator as WhopSimulator
from webapp.test_gunicorn import Server

pytestmark = pytest.mark.browser

PASSWORD = "e2e-Pw-6630"
SYMBOL = "SPY270115C00600000"  # what "SPY 600c 1/15" names


@pytest.fixture
def trading(tmp_path, log_dir):
    whop = WhopSimulator(TOKEN, history=0, seed=3).start()
    broker = BrokerSimulator().start()
    out = tmp_path / "out"
    out.mkdir()
    worker = WorkerProc(log_dir, whop.url, out, POLL_INTERVAL_SECONDS="0.2", DRY_RUN="false", AUTOSIG_BROKER="sim",
                        AUTOSIG_BROKER_URL=broker.url, APCA_API_KEY_ID=DEFAULT_KEY_ID,
                        APCA_API_SECRET_KEY=DEFAULT_SECRET_KEY, AUTOSIG_SIZE="fixed:2")  # fmt: skip
    server = None
    try:
        wait_polls(log_dir, 2)
        wait_until(lambda: any(e.type == "executor.started" for e in read(log_dir, ORDERS)), 20,
                   what="the executor's start")  # fmt: skip
        server = Server(log_dir, {"DASHBOARD_PASSWORD": PASSWORD})
        yield whop, broker, server, log_dir
    finally:
        worker.ensure_dead()
        if server is not None:
            server.stop()
        broker.stop()
        whop.stop()
        if worker.proc.returncode not in (0, -9, None):
            print(worker.stderr()[-3000:])


def read(log_dir: Path, stream: str) -> list:
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    try:
        return list(store.read(stream))
    finally:
        store.close()


def open_orders(browser, server: Server):
    context = browser.new_context(viewport={"width": 390, "height": 844},
                                  http_credentials={"username": "me", "password": PASSWORD})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(server.url + "/orders")
    hook(page)
    page.evaluate("window.__noReload = 1")
    return context, page


def hook(page) -> None:
    """Records every `event: order` the page receives, in order (hooked into the page's own live stream)."""
    page.wait_for_selector("#live.live-on", timeout=10_000)
    page.evaluate("window.__statuses = []; window.AutoSig.on('order', (d) => window.__statuses.push("
                  "[d.source_id, d.decision, d.status, d.reason]))")  # fmt: skip


def statuses(page, source_id: str) -> list[list]:
    return [s for s in page.evaluate("window.__statuses") if s[0] == source_id]


def test_a_signal_is_planned_then_filled_on_the_page_and_pause_stops_the_next(trading, browser):
    whop, broker, server, log_dir = trading
    context, page = open_orders(browser, server)
    try:
        assert page.locator("#mode-strip").get_attribute("data-level") == "paper"
        assert page.locator("#strip-headline").text_content() == "PAPER — sim …ATED"

        # no quote yet: the order rests at the broker, working
        first = whop.publish("BTO 2 SPY 600c 1/15 @ 1.25")
        page.wait_for_selector("#decisions li .d-status:text-is('working at the broker')", timeout=15_000)
        assert page.locator("#working-body tr").count() == 1
        broker.set_quote(SYMBOL, "1.20", "1.25")  # now the limit is marketable: it fills on the executor's next poll
        page.wait_for_selector("#decisions li .d-status:text-is('filled')", timeout=15_000)
        seen = statuses(page, first["id"])
        assert seen[0][1] == "planned" and seen[-1][2] == "filled", seen
        assert [s[2] for s in seen].index("filled") > 0  # it was shown before it filled
        page.wait_for_selector("#positions-body td.contract", timeout=5_000)
        assert page.evaluate("window.__noReload") == 1
        assert broker.order_counts() and sum(broker.order_counts().values()) == 1

        # pause from the page (a phone), then a new alert: decided as skipped (paused), nothing reaches the broker
        page.fill("#pause-form input[name=reason]", "checking the fills")
        page.click("#pause-button")  # a form POST, answered by the page again (303)
        page.wait_for_selector("#mode-strip[data-paused='true']", timeout=5_000)
        hook(page)
        paused_alert = whop.publish("BTO 2 SPY 605c 1/15 @ 1.10")
        page.wait_for_selector("#decisions li.decision-skipped a.d-reason:text-is('Execution was paused')",
                               timeout=15_000)  # fmt: skip
        assert statuses(page, paused_alert["id"])[-1][3] == "paused"
        assert sum(broker.order_counts().values()) == 1, broker.order_counts()

        # resume: the next alert is planned and sent again
        page.click("#resume-button")
        page.wait_for_selector("#mode-strip[data-paused='false']", timeout=5_000)
        hook(page)
        broker.set_quote("SPY270115C00610000", "0.95", "1.00")
        resumed = whop.publish("BTO 2 SPY 610c 1/15 @ 1.00")
        wait_until(lambda: any(s[2] == "filled" for s in statuses(page, resumed["id"])), 20,
                   what="the order after resume filled")  # fmt: skip
        assert sum(broker.order_counts().values()) == 2
        assert page.errors == []
    finally:
        context.close()


def test_pause_and_cancel_working_entries_from_the_page(trading, browser):
    whop, broker, server, log_dir = trading
    context, page = open_orders(browser, server)
    try:
        resting = whop.publish("BTO 2 SPY 600c 1/15 @ 1.25")  # no quote: it rests at the broker
        # sent and taken (a plan paused before its send is never sent at all: failed, not canceled)
        page.wait_for_selector("#working-body td.status:text-is('working at the broker')", timeout=15_000)
        page.check("#pause-form input[name=cancel_entries]")
        page.click("#pause-button")
        page.wait_for_selector("#mode-strip[data-paused='true']", timeout=5_000)
        assert "(working entries cancelled)" in page.locator("#strip-paused-text").text_content()
        hook(page)
        page.wait_for_selector("#decisions li .d-status:text-is('canceled')", timeout=15_000)
        page.wait_for_selector("#working-empty:not([hidden])", timeout=5_000)
        cancels = [e for e in read(log_dir, ORDERS) if e.type == "order.cancel_requested"]
        assert [e.data["reason"] for e in cancels] == ["paused"]
        assert sum(broker.order_counts().values()) == 1 and resting["id"]
        assert page.errors == []
    finally:
        context.close()
