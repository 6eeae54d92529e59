"""The broker simulator itself: the process form and its control client, walking quotes, the clock closing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from autosig.brokers import (
    AlpacaBroker,
    DuplicateClientOrderId,
    Leg,
    OrderRequest,
    OutcomeUnknown,
    RateLimited,
    TradierBroker,
)
from autosig.brokers.simulator import (
    DEFAULT_KEY_ID,
    DEFAULT_SECRET_KEY,
    DEFAULT_TRADIER_TOKEN,
    Simulator,
    SimulatorControl,
)

ROOT = Path(__file__).resolve().parents[2]
CALL = "SPY261218C00600000"


def test_the_process_serves_both_dialects_and_obeys_its_control_client():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APCA_", "TRADIER_"))}
    proc = subprocess.Popen([sys.executable, "-m", "autosig.brokers.simulator", "--port", "0", "--walk", "2.50",
                             "--seed", "1"], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        url = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert url.startswith("http://127.0.0.1:")
        control = SimulatorControl(url)
        control.set_quote("SPY", "599.90", "600.10")
        alpaca = AlpacaBroker(DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, base_url=url, data_url=url)
        placed = alpaca.submit(OrderRequest("as-proc", "stock", (Leg("SPY", "buy"),), 1, Decimal("601")))
        assert alpaca.get_order(placed.broker_order_id).status == "filled"
        assert control.order_count("as-proc") == 1 and control.order_counts() == {"as-proc": 1}
        walked = alpaca.quote(CALL)  # an unknown listed symbol walks around the demo's price
        assert walked.bid is not None and Decimal("1.20") <= walked.bid <= Decimal("3.80")
        tradier = TradierBroker(DEFAULT_TRADIER_TOKEN, "VA000001", base_url=url + "/v1")
        assert tradier.account().number == "VA000001"
        control.fault(503, path="/v1/markets/clock")
        assert control.fault_counts() == {}
        with pytest.raises(OutcomeUnknown):
            tradier.clock()
        assert control.fault_counts() == {"http_503": 1}
        with pytest.raises(RuntimeError, match="unknown action"):
            control.control("no_such_action")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_a_walking_quote_moves_and_stays_near_its_price():
    with Simulator(seed=5) as sim:
        sim.walk(CALL, "2.00", spread_pct=5, step_pct=2)
        broker = AlpacaBroker(DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, base_url=sim.url, data_url=sim.url)
        asks = [broker.quote(CALL).ask for _ in range(40)]
        assert len(set(asks)) > 5
        assert all(a is not None and Decimal("1.00") <= a <= Decimal("3.10") for a in asks)
        bid = broker.quote(CALL)
        assert bid.bid is not None and bid.ask is not None and bid.bid < bid.ask


def test_the_close_expires_working_day_orders_and_nothing_fills_while_closed():
    with Simulator() as sim:
        sim.set_quote(CALL, "1.20", "1.30")
        broker = AlpacaBroker(DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, base_url=sim.url, data_url=sim.url)
        resting = broker.submit(OrderRequest("as-day", "option", (Leg(CALL, "buy", "buy_to_open"),), 1,
                                             Decimal("1.00")))
        sim.set_clock(False)
        assert broker.get_order(resting.broker_order_id).status == "expired"
        queued = broker.submit(OrderRequest("as-closed", "option", (Leg(CALL, "buy", "buy_to_open"),), 1,
                                            Decimal("1.40")))
        assert broker.get_order(queued.broker_order_id).status == "accepted"
        sim.set_clock(True)
        assert broker.get_order(queued.broker_order_id).status == "filled"


def test_the_control_endpoint_refuses_nonsense():
    with Simulator() as sim:
        assert requests.get(sim.url + "/_control", timeout=5).status_code == 405
        bad = requests.post(sim.url + "/_control", data=b"{not json", timeout=5)
        assert bad.status_code == 400
        assert requests.get(sim.url + "/health", timeout=5).json() == {"ok": True}


def test_random_faults_never_make_two_orders_of_one_client_order_id():
    """A short soak of the exactly-once protocol over random faults: send; on 429 send again; on an unknown
    outcome look the id up and send again only when Alpaca has no such order; a duplicate means it exists."""
    with Simulator(seed=11) as sim:
        sim.set_quote("SPY", "599.90", "600.10")
        sim.random_faults({"rate_limited": 0.1, "http_5xx": 0.1, "accept_then_504": 0.15, "reset": 0.1,
                           "accept_then_reset": 0.1}, seed=4, method="POST", path="/v2/orders")
        broker = AlpacaBroker(DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, base_url=sim.url, data_url=sim.url)
        for i in range(40):
            order = OrderRequest(f"as-soak-{i}", "stock", (Leg("SPY", "buy"),), 1, Decimal("601"))
            for _ in range(20):
                try:
                    broker.submit(order)
                    break
                except RateLimited:
                    continue
                except DuplicateClientOrderId:
                    break
                except OutcomeUnknown:
                    if broker.find(order.client_order_id) is not None:
                        break
        counts = sim.order_counts()
        assert counts == {f"as-soak-{i}": 1 for i in range(40)}
        seen = sim.fault_counts()
        assert seen["accept_then_504"] and seen["reset"] and seen["rate_limited"]


def test_a_restart_asked_through_the_control_client_keeps_the_orders():
    with Simulator() as sim:
        broker = AlpacaBroker(DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, base_url=sim.url, data_url=sim.url)
        placed = broker.submit(OrderRequest("as-kept", "option", (Leg(CALL, "buy", "buy_to_open"),), 1,
                                            Decimal("0.50")))
        SimulatorControl(sim.url).restart_later(down_for=0.5)
        deadline = time.monotonic() + 5
        went_down = False
        while True:
            try:
                found = broker.find("as-kept")
                if went_down:
                    break
            except OutcomeUnknown as exc:
                went_down = True
                assert exc.maybe_sent is False  # refused while it was down: nothing was sent
            assert time.monotonic() < deadline, "the simulator never went down and came back"
            time.sleep(0.02)
        assert found is not None and found.broker_order_id == placed.broker_order_id
