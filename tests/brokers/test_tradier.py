"""The Tradier adapter: the broker contract over HTTP against the simulator's Tradier dialect, then what only
Tradier does (tags that may repeat, a 200 that carries errors, form fields, its JSON quirks)."""

from __future__ import annotations

import json

import autosig.brokers.tradier as tradier_module
from autosig.brokers import AuthRefused, Leg, MockTransport, OrderRequest, OutcomeUnknown, Refused, Response
from autosig.brokers.simulator import Simulator
from autosig.brokers.tradier import TradierBroker, items, normalize_status
from brokers.contract import BUY_CALL, SELL_CALL_HIGH, BrokerContract, option, spread, stock

TOKEN = "simulated-tradier-token-5e4d3c2b1a"
ACCOUNT = "VA12345678"


class TestTradierContract(BrokerContract):
    dialect = "tradier"
    order_path = f"/v1/accounts/{ACCOUNT}/orders"
    secrets = (TOKEN, "not-the-token")

    def sim_factory(self):
        return Simulator(tradier_token=TOKEN, tradier_account=ACCOUNT)

    def make_broker(self, sim, **kwargs):
        token = "not-the-token" if kwargs.pop("wrong_keys", False) else TOKEN
        return TradierBroker(token, ACCOUNT, base_url=sim.url + "/v1", **kwargs)

    def test_a_200_carrying_errors_is_a_refusal(self, sim, broker):
        sim.fault(200, body={"errors": {"error": ["Backoffice rejected override of the order."]}}, method="POST",
                  path=self.order_path)
        exc = self.raises(Refused, broker.submit, stock("as-200err"))
        assert exc.http_status == 200 and "Backoffice rejected" in exc.broker_message
        assert sim.order_count("as-200err", dialect="tradier") == 0

    def test_a_repeated_tag_is_not_refused_and_find_gives_the_first(self, sim, broker):
        first = broker.submit(option("as-twice", limit="1.00"))
        broker.submit(option("as-twice", limit="1.00"))
        assert sim.order_count("as-twice", dialect="tradier") == 2
        assert broker.find("as-twice").broker_order_id == first.broker_order_id

    def test_find_reads_every_page_of_the_session(self, sim, broker, monkeypatch):
        for i in range(7):
            broker.submit(option(f"as-page-{i}", limit="1.00"))
        monkeypatch.setattr(tradier_module, "PAGE_SIZE", 3)
        assert broker.find("as-page-6") is not None and broker.find("as-page-0") is not None
        assert len(broker.session_orders()) == 7

    def test_a_failed_page_is_never_taken_for_absence(self, sim, broker):
        sim.fault(502, method="GET", path=self.order_path)
        self.raises(OutcomeUnknown, broker.find, "as-nothing")

    def test_the_account_must_belong_to_the_token(self, sim):
        broker = TradierBroker(TOKEN, "VA99999999", base_url=sim.url + "/v1")
        self.raises(AuthRefused, broker.account)
        self.raises(AuthRefused, broker.positions)

    def test_xml_is_what_tradier_sends_without_accept_json(self, sim):
        import requests

        resp = requests.get(sim.url + "/v1/markets/clock", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert resp.headers["Content-Type"].startswith("application/xml")


def test_order_forms_follow_tradiers_documented_fields():
    form = dict(TradierBroker.order_form(spread("as-s")))
    assert form == {"class": "multileg", "type": "debit", "symbol": "SPY", "duration": "day", "price": "0.60",
                    "tag": "as-s", "option_symbol[0]": BUY_CALL.symbol, "side[0]": "buy_to_open", "quantity[0]": "1",
                    "option_symbol[1]": SELL_CALL_HIGH.symbol, "side[1]": "sell_to_open", "quantity[1]": "1"}
    single = dict(TradierBroker.order_form(option("as-o")))
    assert single["class"] == "option" and single["option_symbol"] == BUY_CALL.symbol and single["symbol"] == "SPY"
    assert single["side"] == "buy_to_open" and single["type"] == "limit"
    spx = OrderRequest("as-x", "option", (Leg("SPXW261218C06000000", "buy", "buy_to_open"),), 1,
                       option("x").limit_price)
    assert dict(TradierBroker.order_form(spx))["symbol"] == "SPX"  # SPXW options trade under the index
    short = OrderRequest("as-ss", "stock", (Leg("SPY", "sell", "sell_to_open"),), 5,
                         option("x").limit_price)
    assert dict(TradierBroker.order_form(short))["side"] == "sell_short"


def test_tradier_json_quirks():
    assert items({"orders": "null"}, "orders") == []
    assert items({"order": {"id": 1}}, "order") == [{"id": 1}]
    assert items({"order": [{"id": 1}, {"id": 2}]}, "order") == [{"id": 1}, {"id": 2}]
    assert items({"options": None}, "options") == []
    for status, expected in [("open", "accepted"), ("pending", "accepted"), ("partially_filled", "partially_filled"),
                             ("filled", "filled"), ("canceled", "canceled"), ("expired", "expired"),
                             ("rejected", "rejected"), ("error", "rejected"), ("calculated", "accepted")]:
        assert normalize_status(status, 0) == expected, status


def test_every_request_asks_for_json_with_the_token_in_the_header_only():
    seen = []

    def handler(request):
        seen.append(request)
        return Response(200, {"Content-Type": "application/json"}, json.dumps({"orders": "null"}).encode())

    broker = TradierBroker(TOKEN, ACCOUNT, transport=MockTransport(handler))
    assert broker.find("as-x") is None
    request = seen[0]
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in request.url and all(TOKEN not in v for _, v in request.params)
    assert request.url.startswith("https://sandbox.tradier.com/v1/accounts/")
    assert ("includeTags", "true") in request.params
