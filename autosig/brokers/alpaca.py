"""Alpaca's REST API (trading v2 and market data) behind the Broker interface.

    broker = AlpacaBroker(key_id, secret_key)                      # paper by default
    broker = AlpacaBroker(key_id, secret_key, base_url=LIVE_URL)   # live
    broker.submit(OrderRequest(...))                               # one POST /v2/orders, never retried here

`base_url` is Alpaca's host root, to which /v2/... paths are added; `data_url` likewise for market data (stocks under
/v2, options under /v1beta1). Keys travel only in the APCA-API-KEY-ID / APCA-API-SECRET-KEY headers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote as urlquote

from autosig.brokers import _http
from autosig.brokers._occ import parse_occ
from autosig.brokers.base import (
    CANCELED,
    EXPIRED,
    FILLED,
    PARTIALLY_FILLED,
    REJECTED,
    Account,
    Broker,
    Contract,
    Leg,
    MarketClock,
    Order,
    OrderRequest,
    Position,
    Quote,
    working_status,
)
from autosig.brokers.errors import AuthRefused, DuplicateClientOrderId, NotFound, OutcomeUnknown, Refused
from autosig.brokers.transport import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    Request,
    RequestsTransport,
    Response,
    Transport,
)
from autosig.clock import Clock

PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"
LIVE_HOST = "api.alpaca.markets"
_NAME = "Alpaca"
_NAMED = {"partially_filled": PARTIALLY_FILLED, "filled": FILLED, "canceled": CANCELED, "expired": EXPIRED, "rejected": REJECTED, "replaced": CANCELED}
_ASSET_CLASSES = {"us_option": "option", "us_equity": "stock"}


def normalize_status(status: str, filled_quantity: Decimal) -> str:
    """Alpaca's order status as one of STATUSES. Every other status Alpaca lists (new, pending_new, accepted,
    held, pending_cancel, done_for_day, calculated, …) and any it may add is still working; "replaced" ends this
    order (AutoSig never replaces, so only a hand edit at the broker does it)."""
    return _NAMED.get(status) or working_status(filled_quantity)


def _is_duplicate(body: Mapping[str, Any], text: str) -> bool:
    # by the message: Alpaca's code 40010001 is its code for every invalid request, not only this one
    message = str(body.get("message") or text).lower().replace("_", " ")
    return "client order id must be unique" in message


class AlpacaBroker(Broker):
    name = "alpaca"

    def __init__(
        self,
        key_id: str,
        secret_key: str,
        *,
        base_url: str = PAPER_URL,
        data_url: str = DATA_URL,
        transport: Transport | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.data_url = data_url.rstrip("/")
        self.live = _http.host_of(self.base_url) == LIVE_HOST
        self._secrets = _http.Secrets(key_id=key_id, secret_key=secret_key)
        self._transport = transport or RequestsTransport(connect_timeout=connect_timeout, read_timeout=read_timeout)
        self._clock = clock or Clock()

    def __repr__(self) -> str:
        return f"AlpacaBroker(base_url={self.base_url!r}, live={self.live})"

    def close(self) -> None:
        self._transport.close()

    # --- requests ---------------------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        json: Any = None,
        data: bool = False,
    ) -> tuple[Response, Any]:
        headers = {
            "APCA-API-KEY-ID": self._secrets["key_id"],
            "APCA-API-SECRET-KEY": self._secrets["secret_key"],
            "Accept": "application/json",
        }
        url = (self.data_url if data else self.base_url) + path
        request = Request(method, url, headers, tuple(params), json)
        resp = _http.send(self._transport, request, _NAME, self._clock.now)
        if 200 <= resp.status < 300:
            return resp, _http.read_json(resp, _NAME)
        self._raise(resp, f"{method} {path.split('?')[0]}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise(self, resp: Response, what: str) -> None:
        try:
            body = _http.read_json(resp, _NAME)
        except OutcomeUnknown:
            body = None
        doc = _http.mapping(body)
        text = self._secrets.scrub(resp.body[:300].decode("utf-8", "replace"))
        message = self._secrets.scrub(str(doc.get("message") or (text if not doc else "")))
        code = doc.get("code")
        status = resp.status
        if _is_duplicate(doc, text) and status in (400, 409, 422):
            raise DuplicateClientOrderId(
                f"Alpaca already has an order with this client_order_id (HTTP {status})",
                http_status=status,
                broker_message=message,
            )
        # 403 also refuses orders (40310000: insufficient buying power or quantity); only a 403 without an order
        # error code is about the keys.
        if status == 401 or (status == 403 and not isinstance(code, int)):
            raise AuthRefused(
                f"Alpaca refused the API keys (HTTP {status}); check APCA_API_KEY_ID and APCA_API_SECRET_KEY",
                http_status=status,
                broker_message=message,
            )
        if status == 404:
            raise NotFound(f"Alpaca has no such resource for {what} (HTTP 404)", http_status=status,
                           broker_message=message)
        raise Refused(
            f"Alpaca refused {what} (HTTP {status})",
            http_status=status,
            broker_message=message,
            code=None if code is None else str(code),
        )

    # --- orders -----------------------------------------------------------------------------------------------

    @staticmethod
    def order_body(order: OrderRequest) -> dict[str, Any]:
        """The JSON Alpaca's POST /v2/orders takes for this order."""
        body: dict[str, Any] = {
            "qty": str(order.quantity),
            "type": "limit",
            "time_in_force": order.time_in_force,
            "client_order_id": order.client_order_id,
        }
        if order.instrument == "spread":
            signed = order.limit_price if order.price_effect == "debit" else -order.limit_price
            body["order_class"] = "mleg"
            body["limit_price"] = _http.plain(signed)
            body["legs"] = [
                {"symbol": leg.symbol, "ratio_qty": str(leg.ratio), "side": leg.side,
                 "position_intent": leg.position_intent}
                for leg in order.legs
            ]
            return body
        leg = order.leg
        body.update(symbol=leg.symbol, side=leg.side, limit_price=_http.plain(order.limit_price))
        if order.instrument == "option":
            body["position_intent"] = leg.position_intent
        return body

    def submit(self, order: OrderRequest) -> Order:
        _, body = self._call("POST", "/v2/orders", json=self.order_body(order))
        return self._order(body, "POST /v2/orders")

    def find(self, client_order_id: str) -> Order | None:
        try:
            _, body = self._call(
                "GET", "/v2/orders:by_client_order_id", params=[("client_order_id", client_order_id)]
            )
        except NotFound:
            return None
        return self._order(body, "the order lookup")

    def get_order(self, broker_order_id: str) -> Order:
        _, body = self._call("GET", f"/v2/orders/{urlquote(broker_order_id, safe='')}", params=[("nested", "true")])
        return self._order(body, "the order")

    def cancel(self, broker_order_id: str) -> bool:
        try:
            self._call("DELETE", f"/v2/orders/{urlquote(broker_order_id, safe='')}")
        except Refused as exc:
            # 422 "order is not cancelable": already final (filled, canceled, expired) or about to be
            if self.get_order(broker_order_id).final:
                return False
            raise exc from None
        return True

    def _order(self, body: Any, what: str) -> Order:
        doc = _http.mapping(body)
        if not doc.get("id"):
            raise OutcomeUnknown(f"Alpaca answered {what} without an order id", http_status=200)
        legs_doc = [leg for leg in doc.get("legs") or [] if isinstance(leg, dict)]
        mleg = doc.get("order_class") == "mleg"
        if mleg:
            legs = tuple(_leg(leg) for leg in legs_doc)
        else:
            legs = (_leg(doc),)
        filled = _http.dec(doc.get("filled_qty")) or Decimal(0)
        limit = _http.dec(doc.get("limit_price"))
        average = _http.dec(doc.get("filled_avg_price"))
        effect = None
        if mleg and limit is not None:
            effect = "credit" if limit < 0 else "debit"
        asset = _ASSET_CLASSES.get(str(doc.get("asset_class") or ""))
        status = str(doc.get("status") or "")
        return Order(
            broker_order_id=str(doc["id"]),
            client_order_id=doc.get("client_order_id"),
            status=normalize_status(status, filled),
            broker_status=status,
            filled_quantity=filled,
            average_fill_price=abs(average) if average is not None and (filled > 0 or average != 0) else None,
            quantity=_http.dec(doc.get("qty")),
            limit_price=abs(limit) if limit is not None else None,
            legs=legs,
            response=doc,
            price_effect=effect,
            instrument="spread" if mleg else asset,
        )

    # --- account, clock, positions ----------------------------------------------------------------------------

    def account(self) -> Account:
        _, body = self._call("GET", "/v2/account")
        doc = _http.mapping(body)
        level = doc.get("options_trading_level", doc.get("options_approved_level"))
        return Account(
            number=str(doc.get("account_number") or ""),
            paper=not self.live,
            equity=_http.dec(doc.get("equity")),
            buying_power=_http.dec(doc.get("buying_power")),
            options_level=level if isinstance(level, int) and not isinstance(level, bool) else None,
            status=str(doc.get("status") or ""),
            response=doc,
        )

    def clock(self) -> MarketClock:
        _, body = self._call("GET", "/v2/clock")
        doc = _http.mapping(body)
        stamp = _http.parse_time(doc.get("timestamp"))
        if stamp is None or not isinstance(doc.get("is_open"), bool):
            raise OutcomeUnknown("Alpaca's clock answer has no timestamp or is_open", http_status=200)
        return MarketClock(
            stamp, doc["is_open"], _http.parse_time(doc.get("next_open")), _http.parse_time(doc.get("next_close"))
        )

    def positions(self) -> list[Position]:
        _, body = self._call("GET", "/v2/positions")
        result = []
        for doc in body if isinstance(body, list) else []:
            if not isinstance(doc, dict) or not doc.get("symbol"):
                continue
            qty = abs(_http.dec(doc.get("qty")) or Decimal(0))
            if doc.get("side") == "short":
                qty = -qty
            asset = _ASSET_CLASSES.get(str(doc.get("asset_class"))) or (
                "option" if parse_occ(doc["symbol"]) else "stock"
            )
            result.append(Position(doc["symbol"], qty, _http.dec(doc.get("avg_entry_price")), asset, doc))
        return result

    # --- market data ------------------------------------------------------------------------------------------

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        options = [s for s in symbols if parse_occ(s)]
        stocks = [s for s in symbols if not parse_occ(s)]
        found: dict[str, Quote] = {}
        for group, path in ((stocks, "/v2/stocks/quotes/latest"), (options, "/v1beta1/options/quotes/latest")):
            if not group:
                continue
            _, body = self._call("GET", path, params=[("symbols", ",".join(group))], data=True)
            for symbol, q in _http.mapping(_http.mapping(body).get("quotes")).items():
                if isinstance(q, dict):
                    found[symbol] = _quote(symbol, q)
        return {s: found.get(s) or Quote(s, None, None, None) for s in symbols}

    def contract(self, symbol: str) -> Contract | None:
        if parse_occ(symbol) is None:
            return None
        try:
            _, body = self._call("GET", f"/v2/options/contracts/{urlquote(symbol, safe='')}")
        except NotFound:
            return None
        found = _contract(_http.mapping(body))
        return found if found is not None and found.symbol == symbol else None

    def contracts(self, underlying: str, expiration: date, right: str, strike: Decimal) -> list[Contract]:
        params = [
            ("underlying_symbols", underlying),
            ("expiration_date", expiration.isoformat()),
            ("type", right),
            ("strike_price_gte", _http.plain(strike)),
            ("strike_price_lte", _http.plain(strike)),
            ("status", "active"),
            ("limit", "1000"),
        ]
        result: list[Contract] = []
        token: str | None = None
        for _ in range(50):  # a bound on paging through one strike's contracts, far above any real count
            _, body = self._call("GET", "/v2/options/contracts", params=params + ([("page_token", token)] if token else []))
            doc = _http.mapping(body)
            for item in doc.get("option_contracts") or []:
                found = _contract(_http.mapping(item))
                if found is not None and found.strike == strike and found.expiration == expiration:
                    result.append(found)
            token = doc.get("next_page_token") or None
            if not token:
                break
        return result


def _leg(doc: Mapping[str, Any]) -> Leg:
    side = doc.get("side") if doc.get("side") in ("buy", "sell") else None
    intent = doc.get("position_intent") or None
    ratio = _http.dec(doc.get("ratio_qty"))
    if side is None or (intent is not None and not str(intent).startswith(side)):
        intent = None
    try:
        return Leg(str(doc.get("symbol") or ""), side or "buy", intent, int(ratio) if ratio and ratio >= 1 else 1)
    except ValueError:
        return Leg(str(doc.get("symbol") or ""), side or "buy", None, 1)


def _quote(symbol: str, q: Mapping[str, Any]) -> Quote:
    bid = _http.dec(q.get("bp"))
    ask = _http.dec(q.get("ap"))
    return Quote(symbol, bid, ask if ask else None, _http.parse_time(q.get("t")))


def _contract(doc: Mapping[str, Any]) -> Contract | None:
    symbol = str(doc.get("symbol") or "")
    occ = parse_occ(symbol)
    if occ is None:
        return None
    size = _http.dec(doc.get("size"))
    return Contract(
        symbol=symbol,
        root=str(doc.get("root_symbol") or occ.root),
        underlying=str(doc.get("underlying_symbol") or occ.underlying),
        expiration=occ.expiration,
        right=occ.right,
        strike=occ.strike,
        tradable=doc.get("tradable") is not False and doc.get("status", "active") == "active",
        multiplier=int(size) if size else 100,
    )
