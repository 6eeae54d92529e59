"""The official alpaca-py SDK reads every answer the simulator gives in the Alpaca dialect: its pydantic models are
the oracle for Alpaca's documented shapes (a field missing, misspelt or of the wrong type fails validation here)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

pytest.importorskip("alpaca")

from alpaca.common.exceptions import APIError  # noqa: E402
from alpaca.data.historical.option import OptionHistoricalDataClient  # noqa: E402
from alpaca.data.historical.stock import StockHistoricalDataClient  # noqa: E402
from alpaca.data.requests import OptionLatestQuoteRequest, StockLatestQuoteRequest  # noqa: E402
from alpaca.trading.client import TradingClient  # noqa: E402
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, QueryOrderStatus, TimeInForce  # noqa: E402
from alpaca.trading.models import Order  # noqa: E402
from alpaca.trading.requests import (  # noqa: E402
    GetOptionContractsRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    OptionLegRequest,
)

from autosig.brokers import AlpacaBroker, Leg, OrderRequest  # noqa: E402
from autosig.brokers.simulator import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, Simulator  # noqa: E402

CALL = "SPY261218C00600000"
CALL_HIGH = "SPY261218C00610000"


@pytest.fixture
def sim():
    with Simulator(seed=7) as sim:
        yield sim


@pytest.fixture
def sdk(sim):
    return TradingClient(DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, url_override=sim.url, raw_data=False)


def _orders_of_every_kind(sim) -> AlpacaBroker:
    broker = AlpacaBroker(DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, base_url=sim.url, data_url=sim.url)
    sim.set_quote("SPY", "599.90", "600.10")
    sim.set_quote(CALL, "1.20", "1.30")
    sim.set_quote(CALL_HIGH, "0.70", "0.80")
    buy = Leg(CALL, "buy", "buy_to_open")
    sell = Leg(CALL_HIGH, "sell", "sell_to_open")
    broker.submit(OrderRequest("as-stock", "stock", (Leg("SPY", "buy"),), 2, Decimal("600.50")))
    broker.submit(OrderRequest("as-option", "option", (buy,), 1, Decimal("1.35")))
    broker.submit(OrderRequest("as-spread", "spread", (buy, sell), 1, Decimal("0.60"), price_effect="debit"))
    broker.submit(OrderRequest("as-credit", "spread", (Leg(CALL, "sell", "sell_to_open"),
                                                       Leg(CALL_HIGH, "buy", "buy_to_open")), 1, Decimal("0.40"),
                               price_effect="credit"))
    resting = broker.submit(OrderRequest("as-resting", "option", (buy,), 1, Decimal("1.00")))
    sim.partial_next(1)
    broker.submit(OrderRequest("as-partial", "stock", (Leg("SPY", "buy"),), 3, Decimal("601")))
    sim.reject_next("simulated rejection")
    broker.submit(OrderRequest("as-rejected", "stock", (Leg("SPY", "buy"),), 1, Decimal("601")))
    broker.get_order(resting.broker_order_id)  # a request: the marketable ones fill
    broker.cancel(resting.broker_order_id)
    return broker


def test_orders_page_through_the_sdk(sim, sdk):
    _orders_of_every_kind(sim)
    seen: list[Order] = []
    until = None
    for _ in range(10):
        page = sdk.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=2, until=until, nested=True))
        assert all(isinstance(o, Order) for o in page)
        if not page:
            break
        seen.extend(page)
        until = page[-1].submitted_at
    assert [o.client_order_id for o in seen] == [
        "as-rejected", "as-partial", "as-resting", "as-credit", "as-spread", "as-option", "as-stock"]
    by_id = {o.client_order_id: o for o in seen}
    assert by_id["as-stock"].status == OrderStatus.FILLED and by_id["as-stock"].filled_qty == "2"
    assert by_id["as-partial"].status == OrderStatus.PARTIALLY_FILLED
    assert by_id["as-resting"].status == OrderStatus.CANCELED
    assert by_id["as-rejected"].status == OrderStatus.REJECTED
    spread = by_id["as-spread"]
    assert spread.order_class == OrderClass.MLEG and spread.symbol is None and len(spread.legs) == 2
    assert {leg.symbol for leg in spread.legs} == {CALL, CALL_HIGH}
    assert float(by_id["as-credit"].limit_price) == -0.40
    open_only = sdk.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))
    assert [o.client_order_id for o in open_only] == ["as-partial"]


def test_single_order_lookups_cancel_and_submit_through_the_sdk(sim, sdk):
    _orders_of_every_kind(sim)
    found = sdk.get_order_by_client_id("as-option")
    assert isinstance(found, Order) and found.symbol == CALL
    assert sdk.get_order_by_id(found.id).client_order_id == "as-option"
    placed = sdk.submit_order(LimitOrderRequest(symbol="SPY", qty=1, side=OrderSide.BUY, limit_price=500,
                                                time_in_force=TimeInForce.DAY, client_order_id="as-sdk"))
    assert placed.status in (OrderStatus.PENDING_NEW, OrderStatus.NEW)
    mleg = sdk.submit_order(LimitOrderRequest(
        qty=1, limit_price=0.1, time_in_force=TimeInForce.DAY, order_class=OrderClass.MLEG,
        client_order_id="as-sdk-mleg",
        legs=[OptionLegRequest(symbol=CALL, ratio_qty=1, side=OrderSide.BUY),
              OptionLegRequest(symbol=CALL_HIGH, ratio_qty=1, side=OrderSide.SELL)]))
    assert mleg.order_class == OrderClass.MLEG
    sdk.cancel_order_by_id(placed.id)
    assert sdk.get_order_by_id(placed.id).status == OrderStatus.CANCELED
    with pytest.raises(APIError) as duplicate:
        sdk.submit_order(LimitOrderRequest(symbol="SPY", qty=1, side=OrderSide.BUY, limit_price=500,
                                           time_in_force=TimeInForce.DAY, client_order_id="as-sdk"))
    assert duplicate.value.status_code == 422 and duplicate.value.message == "client_order_id must be unique"
    with pytest.raises(APIError) as missing:
        sdk.get_order_by_client_id("as-nothing")
    assert missing.value.status_code == 404 and missing.value.code == 40410000


def test_account_positions_and_clock_through_the_sdk(sim, sdk):
    _orders_of_every_kind(sim)
    sim.set_position("AAPL", 10, "190.25")  # held before AutoSig
    sim.set_position("QQQ", -5, "500")
    account = sdk.get_account()
    assert account.account_number == "PA3SIMULATED" and account.options_trading_level == 3
    positions = {p.symbol: p for p in sdk.get_all_positions()}
    assert set(positions) == {"SPY", CALL, "AAPL", "QQQ"}  # the credit spread closed the debit spread's short leg
    assert positions["QQQ"].side.value == "short" and positions["AAPL"].qty == "10"
    assert positions[CALL].asset_class.value == "us_option"
    clock = sdk.get_clock()
    assert clock.is_open is True and clock.next_close > clock.timestamp
    sim.set_clock(False)
    assert sdk.get_clock().is_open is False


def test_option_contracts_through_the_sdk(sim, sdk):
    expiry = date.today() + timedelta(days=(4 - date.today().weekday()) % 7 + 7)
    sim.set_roots("SPX", ["SPXW"])
    listed = sdk.get_option_contracts(GetOptionContractsRequest(underlying_symbols=["SPX"], expiration_date=expiry,
                                                                limit=5))
    assert listed.option_contracts and all(c.root_symbol == "SPXW" for c in listed.option_contracts)
    assert listed.next_page_token is not None
    more = sdk.get_option_contracts(GetOptionContractsRequest(underlying_symbols=["SPX"], expiration_date=expiry,
                                                              limit=5, page_token=listed.next_page_token))
    assert {c.symbol for c in more.option_contracts}.isdisjoint({c.symbol for c in listed.option_contracts})
    one = sdk.get_option_contract(CALL)
    assert one.symbol == CALL and one.strike_price == 600.0 and one.underlying_symbol == "SPY"


def test_latest_quotes_through_the_sdk(sim):
    sim.set_quote("SPY", "599.90", "600.10")
    sim.set_quote(CALL, "1.20", "1.30")
    stocks = StockHistoricalDataClient(DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, url_override=sim.url)
    options = OptionHistoricalDataClient(DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, url_override=sim.url)
    stock = stocks.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols=["SPY"]))["SPY"]
    assert (stock.bid_price, stock.ask_price) == (599.90, 600.10)
    option = options.get_option_latest_quote(OptionLatestQuoteRequest(symbol_or_symbols=[CALL]))[CALL]
    assert (option.bid_price, option.ask_price) == (1.20, 1.30) and option.timestamp is not None
