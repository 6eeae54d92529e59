"""The Alpaca adapter: the broker contract over HTTP against the simulator's Alpaca dialect, then what only
Alpaca does (unique client order ids, its request shapes)."""

from __future__ import annotations

import json

from autosig.brokers import AlpacaBroker, DuplicateClientOrderId, OrderRequest
from autosig.brokers.simulator import Simulator
from brokers.contract import BUY_CALL, SELL_CALL_HIGH, BrokerContract, spread, stock

KEY_ID = "PKSIMULATEDKEY0001"
SECRET = "simulated-secret-key-9f8e7d6c"


def alpaca(sim_url: str, **kwargs) -> AlpacaBroker:
    wrong = kwargs.pop("wrong_keys", False)
    return AlpacaBroker(KEY_ID, "not-the-secret" if wrong else SECRET, base_url=sim_url, data_url=sim_url,
                        **kwargs)


class TestAlpacaContract(BrokerContract):
    dialect = "alpaca"
    order_path = "/v2/orders"
    secrets = (KEY_ID, SECRET, "not-the-secret")

    def make_broker(self, sim, **kwargs):
        return alpaca(sim.url, **kwargs)

    def sim_factory(self):
        return Simulator(key_id=KEY_ID, secret_key=SECRET)

    def test_a_repeated_client_order_id_is_refused_as_a_duplicate(self, sim, broker):
        broker.submit(stock("as-dup"))
        exc = self.raises(DuplicateClientOrderId, broker.submit, stock("as-dup"))
        assert exc.http_status == 422
        assert sim.order_count("as-dup") == 1

    def test_insufficient_buying_power_is_a_refusal_not_an_auth_failure(self, broker):
        from autosig.brokers import Refused

        exc = self.raises(Refused, broker.submit, stock("as-big", qty=1000))
        assert exc.http_status == 403 and exc.code == "40310000"


def test_order_bodies_follow_alpacas_documented_shapes():
    body = AlpacaBroker.order_body(spread("as-s"))
    assert body == {"qty": "1", "type": "limit", "time_in_force": "day", "client_order_id": "as-s",
                    "order_class": "mleg", "limit_price": "0.60",
                    "legs": [{"symbol": BUY_CALL.symbol, "ratio_qty": "1", "side": "buy",
                              "position_intent": "buy_to_open"},
                             {"symbol": SELL_CALL_HIGH.symbol, "ratio_qty": "1", "side": "sell",
                              "position_intent": "sell_to_open"}]}
    credit = OrderRequest("as-c", "spread", (BUY_CALL, SELL_CALL_HIGH), 2, spread("x").limit_price,
                          price_effect="credit")
    assert AlpacaBroker.order_body(credit)["limit_price"] == "-0.60"  # Alpaca: negative is a credit
    single = AlpacaBroker.order_body(OrderRequest("as-o", "option", (BUY_CALL,), 3, spread("x").limit_price))
    assert single["symbol"] == BUY_CALL.symbol and single["position_intent"] == "buy_to_open"
    assert json.dumps(AlpacaBroker.order_body(stock("as-t")))
