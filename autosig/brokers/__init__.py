"""Broker adapters behind one interface, and the broker simulator (see the README, "Brokers").

    from autosig.brokers import AlpacaBroker, OrderRequest, Leg
    broker = AlpacaBroker(key_id, secret_key)                 # paper; base_url=alpaca.LIVE_URL for live
    broker = TradierBroker(token, account_id)                 # sandbox; base_url=tradier.LIVE_URL for live
    order = broker.submit(OrderRequest("as-…", "option", (Leg("SPY261218C00600000", "buy", "buy_to_open"),),
                                       quantity=1, limit_price=Decimal("1.25")))
    broker.find("as-…")                                      # by client order id: Order or None

Order POSTs are sent once per submit() call: nothing here retries them. Failures are the kinds in
autosig.brokers.errors. This package imports only leaves (the standard library, requests, autosig.clock): callers
pass URLs, keys and timeouts.
"""

from autosig.brokers.alpaca import AlpacaBroker
from autosig.brokers.base import (
    ACCEPTED,
    CANCELED,
    EXPIRED,
    FILLED,
    FINAL_STATUSES,
    PARTIALLY_FILLED,
    REJECTED,
    STATUSES,
    Account,
    Broker,
    Contract,
    Leg,
    MarketClock,
    Order,
    OrderRequest,
    Position,
    Quote,
    net_quote,
)
from autosig.brokers.errors import (
    AuthRefused,
    BrokerError,
    DuplicateClientOrderId,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Refused,
)
from autosig.brokers.tradier import TradierBroker
from autosig.brokers.transport import MockTransport, Request, RequestsTransport, Response, Transport, TransportError

__all__ = [
    "ACCEPTED", "CANCELED", "EXPIRED", "FILLED", "FINAL_STATUSES", "PARTIALLY_FILLED", "REJECTED", "STATUSES",
    "Account", "AlpacaBroker", "AuthRefused", "Broker", "BrokerError", "Contract", "DuplicateClientOrderId", "Leg",
    "MarketClock", "MockTransport", "NotFound", "Order", "OrderRequest", "OutcomeUnknown", "Position", "Quote",
    "RateLimited", "Refused", "Request", "RequestsTransport", "Response", "TradierBroker", "Transport",
    "TransportError", "net_quote",
]
