"""Tradier's brokerage API behind the Broker interface.

    broker = TradierBroker(token, account_id)                       # sandbox by default
    broker = TradierBroker(token, account_id, base_url=LIVE_URL)    # live

`base_url` includes /v1; market endpoints use the same base. Orders are form-encoded; every request says
Accept: application/json (Tradier answers XML otherwise). The client order id travels as the order's `tag`, which
Tradier does not require to be unique and shows only with includeTags=true. Tradier's JSON quirks are read here:
a single result is an object rather than a list, and "nothing" is the string "null" ({"orders": "null"}).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote as urlquote
from zoneinfo import ZoneInfo

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
from autosig.brokers.errors import AuthRefused, NotFound, OutcomeUnknown, Refused
from autosig.brokers.transport import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    Request,
    RequestsTransport,
    Transport,
)
from autosig.clock import Clock

SANDBOX_URL = "https://sandbox.tradier.com/v1"
LIVE_URL = "https://api.tradier.com/v1"
LIVE_HOST = "api.tradier.com"
PAGE_SIZE = 100
MAX_PAGES = 100  # 10,000 orders in one session is far beyond what AutoSig places
_NAME = "Tradier"
_NEW_YORK = ZoneInfo("America/New_York")
_STATUSES = {"filled": FILLED, "canceled": CANCELED, "expired": EXPIRED, "rejected": REJECTED, "error": REJECTED,
             "partially_filled": PARTIALLY_FILLED}
# Tradier's equity sides, as a side and what it does to a position (None: not said)
_EQUITY_SIDES = {"buy": ("buy", None), "sell": ("sell", None), "sell_short": ("sell", "sell_to_open"),
                 "buy_to_cover": ("buy", "buy_to_close")}


def normalize_status(status: str, filled_quantity: Decimal) -> str:
    """Tradier's order status as one of STATUSES: open, pending and any status not listed as final still work."""
    return _STATUSES.get(status) or working_status(filled_quantity)


def items(value: Any, key: str) -> list[dict[str, Any]]:
    """The objects under `key` in a Tradier container: a list, one object, or none ("null", null, absent)."""
    inner = value.get(key) if isinstance(value, dict) else None
    if isinstance(inner, dict):
        return [inner]
    if isinstance(inner, list):
        return [i for i in inner if isinstance(i, dict)]
    return []


def _equity_side(leg: Leg) -> str:
    if leg.position_intent == "sell_to_open":
        return "sell_short"
    if leg.position_intent == "buy_to_close":
        return "buy_to_cover"
    return leg.side


def _errors(doc: Any) -> str | None:
    if not isinstance(doc, dict) or "errors" not in doc:
        return None
    errors = doc["errors"]
    if isinstance(errors, dict):
        errors = errors.get("error")
    return _http_text(errors) or "errors without a message"


def _http_text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


class TradierBroker(Broker):
    name = "tradier"

    def __init__(
        self,
        access_token: str,
        account_id: str,
        *,
        base_url: str = SANDBOX_URL,
        transport: Transport | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self.live = _http.host_of(self.base_url) == LIVE_HOST
        self._secrets = _http.Secrets(token=access_token)
        self._transport = transport or RequestsTransport(connect_timeout=connect_timeout, read_timeout=read_timeout)
        self._clock = clock or Clock()

    def __repr__(self) -> str:
        return f"TradierBroker(base_url={self.base_url!r}, account=…{self.account_id[-4:]}, live={self.live})"

    def close(self) -> None:
        self._transport.close()

    @property
    def _account_path(self) -> str:
        return f"/accounts/{urlquote(self.account_id, safe='')}"

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        form: Sequence[tuple[str, str]] | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self._secrets['token']}", "Accept": "application/json"}
        request = Request(method, self.base_url + path, headers, tuple(params), None,
                          None if form is None else tuple(form))
        resp = _http.send(self._transport, request, _NAME, self._clock.now)
        what = f"{method} {path.replace(self.account_id, '…' + self.account_id[-4:])}"
        if 200 <= resp.status < 300:
            doc = _http.read_json(resp, _NAME)
            refusal = _errors(doc)
            if refusal is not None:  # Tradier may answer 200 and still refuse
                raise Refused(f"Tradier refused {what} (HTTP {resp.status} with errors)", http_status=resp.status,
                              broker_message=self._secrets.scrub(refusal))
            return doc
        try:
            body = _http.read_json(resp, _NAME)
        except OutcomeUnknown:
            body = None
        message = _errors(body) or resp.body[:200].decode("utf-8", "replace")
        message = self._secrets.scrub(message)
        if resp.status in (401, 403):
            raise AuthRefused(
                f"Tradier refused the access token for this account (HTTP {resp.status}); check "
                "TRADIER_ACCESS_TOKEN and TRADIER_ACCOUNT_ID",
                http_status=resp.status,
                broker_message=message,
            )
        if resp.status == 404:
            raise NotFound(f"Tradier has no such resource for {what} (HTTP 404)", http_status=404,
                           broker_message=message)
        raise Refused(f"Tradier refused {what} (HTTP {resp.status})", http_status=resp.status,
                      broker_message=message)

    # --- orders -----------------------------------------------------------------------------------------------

    @staticmethod
    def order_form(order: OrderRequest) -> list[tuple[str, str]]:
        """The form fields Tradier's POST /accounts/{id}/orders takes for this order."""
        first = order.leg
        occ = parse_occ(first.symbol)
        underlying = order.underlying or (occ.underlying if occ else first.symbol)
        form = [("symbol", underlying), ("duration", order.time_in_force), ("price", _http.plain(order.limit_price)),
                ("tag", order.client_order_id)]
        if order.instrument == "stock":
            return [("class", "equity"), ("side", _equity_side(first)), ("quantity", str(order.quantity)),
                    ("type", "limit"), *form]
        if order.instrument == "option":
            return [("class", "option"), ("option_symbol", first.symbol), ("side", str(first.position_intent)),
                    ("quantity", str(order.quantity)), ("type", "limit"), *form]
        fields = [("class", "multileg"), ("type", str(order.price_effect)), *form]
        for i, leg in enumerate(order.legs):
            fields += [(f"option_symbol[{i}]", leg.symbol), (f"side[{i}]", str(leg.position_intent)),
                       (f"quantity[{i}]", str(order.quantity * leg.ratio))]
        return fields

    def submit(self, order: OrderRequest) -> Order:
        doc = self._call("POST", f"{self._account_path}/orders", form=self.order_form(order))
        placed = _http.mapping(_http.mapping(doc).get("order"))
        if placed.get("id") in (None, ""):
            raise OutcomeUnknown("Tradier answered the order without an order id", http_status=200)
        status = str(placed.get("status") or "")
        return Order(
            broker_order_id=str(placed["id"]),
            client_order_id=order.client_order_id,
            status=normalize_status("open" if status == "ok" else status, Decimal(0)),
            broker_status=status,
            filled_quantity=Decimal(0),
            average_fill_price=None,
            quantity=Decimal(order.quantity),
            limit_price=order.limit_price,
            legs=order.legs,
            response=_http.mapping(doc),
            price_effect=order.price_effect,
            instrument=order.instrument,
        )

    def session_orders(self) -> list[Order]:
        """Every order of the account's current session (what Tradier lists), with tags. Raises when any page
        cannot be read: an absent order is only ever concluded from a complete list."""
        seen: dict[str, Order] = {}
        for page in range(1, MAX_PAGES + 1):
            doc = self._call("GET", f"{self._account_path}/orders",
                             params=[("includeTags", "true"), ("page", str(page)), ("limit", str(PAGE_SIZE))])
            batch = items(_http.mapping(doc).get("orders"), "order")
            new = [o for o in (self._order(b) for b in batch) if o.broker_order_id not in seen]
            for order in new:
                seen[order.broker_order_id] = order
            # the end: a short page, or a page with nothing new (an API that ignores paging repeats the list)
            if len(batch) < PAGE_SIZE or not new:
                return list(seen.values())
        raise OutcomeUnknown(f"Tradier listed more than {MAX_PAGES} pages of orders; the lookup is incomplete")

    def find(self, client_order_id: str) -> Order | None:
        """The session's order tagged with this id (the earliest, should there be several). Tradier lists only the
        current session and may show a new order late: the executor asks twice, some seconds apart."""
        matches = [o for o in self.session_orders() if o.client_order_id == client_order_id]
        if not matches:
            return None
        return min(matches, key=lambda o: (str(o.response.get("create_date") or ""), _as_int(o.broker_order_id)))

    def get_order(self, broker_order_id: str) -> Order:
        doc = self._call("GET", f"{self._account_path}/orders/{urlquote(broker_order_id, safe='')}",
                         params=[("includeTags", "true")])
        found = _http.mapping(_http.mapping(doc).get("order"))
        if not found:
            raise NotFound("Tradier answered the order lookup without an order", http_status=200)
        return self._order(found)

    def cancel(self, broker_order_id: str) -> bool:
        try:
            self._call("DELETE", f"{self._account_path}/orders/{urlquote(broker_order_id, safe='')}")
        except Refused as exc:
            if self.get_order(broker_order_id).final:
                return False
            raise exc from None
        return True

    def _order(self, doc: Mapping[str, Any]) -> Order:
        klass = str(doc.get("class") or "")
        legs_doc = items(doc, "leg")
        if klass == "multileg" and legs_doc:
            sizes = [_http.dec(leg.get("quantity")) or Decimal(0) for leg in legs_doc]
            units = Decimal(math.gcd(*(int(s) for s in sizes))) if all(s == int(s) and s > 0 for s in sizes) else None
            legs = tuple(_leg(leg, int(s / units) if units else 1) for leg, s in zip(legs_doc, sizes, strict=True))
            quantity = units
        else:
            legs = (_leg(doc, 1),)
            quantity = _http.dec(doc.get("quantity"))
        filled = _http.dec(doc.get("exec_quantity")) or Decimal(0)
        average = _http.dec(doc.get("avg_fill_price"))
        status = str(doc.get("status") or "")
        effect = str(doc.get("type")) if doc.get("type") in ("debit", "credit") else None
        return Order(
            broker_order_id=str(doc.get("id")),
            client_order_id=doc.get("tag") or None,
            status=normalize_status(status, filled),
            broker_status=status,
            filled_quantity=filled,
            average_fill_price=abs(average) if average and filled > 0 else None,
            quantity=quantity,
            limit_price=abs(p) if (p := _http.dec(doc.get("price"))) is not None else None,
            legs=legs,
            response=dict(doc),
            price_effect=effect,
            instrument={"equity": "stock", "option": "option", "multileg": "spread"}.get(klass),
        )

    # --- account, clock, positions ----------------------------------------------------------------------------

    def account(self) -> Account:
        profile = _http.mapping(_http.mapping(self._call("GET", "/user/profile")).get("profile"))
        mine = [a for a in items(profile, "account") if str(a.get("account_number")) == self.account_id]
        if not mine:
            raise AuthRefused(f"the Tradier token does not give access to account …{self.account_id[-4:]}; "
                              "check TRADIER_ACCOUNT_ID")
        acct = mine[0]
        balances = _http.mapping(_http.mapping(self._call("GET", f"{self._account_path}/balances")).get("balances"))
        kind = str(balances.get("account_type") or acct.get("type") or "")
        section = _http.mapping(balances.get(kind)) if kind in ("margin", "pdt", "cash") else {}
        power = section.get("cash_available") if kind == "cash" else section.get("stock_buying_power")
        level = acct.get("option_level")
        return Account(
            number=self.account_id,
            paper=not self.live,
            equity=_http.dec(balances.get("total_equity")),
            buying_power=_http.dec(power),
            options_level=level if isinstance(level, int) and not isinstance(level, bool) else None,
            status=str(acct.get("status") or ""),
            response={"profile": profile, "balances": balances},
        )

    def clock(self) -> MarketClock:
        doc = _http.mapping(_http.mapping(self._call("GET", "/markets/clock")).get("clock"))
        stamp = doc.get("timestamp")
        if not isinstance(stamp, int | float) or isinstance(stamp, bool):
            raise OutcomeUnknown("Tradier's clock answer has no timestamp", http_status=200)
        now = datetime.fromtimestamp(stamp, UTC)
        state, next_state = doc.get("state"), doc.get("next_state")
        change = _next_change(now, str(doc.get("next_change") or ""))
        next_open = change if next_state == "open" else None
        next_close = change if state == "open" else None
        return MarketClock(now, state == "open", next_open, next_close)

    def positions(self) -> list[Position]:
        doc = self._call("GET", f"{self._account_path}/positions")
        result = []
        for pos in items(_http.mapping(doc).get("positions"), "position"):
            symbol = str(pos.get("symbol") or "")
            qty = _http.dec(pos.get("quantity")) or Decimal(0)
            if not symbol or not qty:
                continue
            option = parse_occ(symbol) is not None
            cost = _http.dec(pos.get("cost_basis"))
            average = abs(cost / (qty * (100 if option else 1))) if cost is not None else None
            result.append(Position(symbol, qty, average, "option" if option else "stock", pos))
        return result

    # --- market data ------------------------------------------------------------------------------------------

    def _quote_docs(self, symbols: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(symbols))
        for start in range(0, len(unique), 100):
            chunk = unique[start : start + 100]
            doc = self._call("GET", "/markets/quotes", params=[("symbols", ",".join(chunk)), ("greeks", "false")])
            for q in items(_http.mapping(doc).get("quotes"), "quote"):
                if q.get("symbol"):
                    found[str(q["symbol"])] = q
        return found

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        docs = self._quote_docs(symbols)
        result = {}
        for symbol in symbols:
            q = docs.get(symbol)
            if q is None:
                result[symbol] = Quote(symbol, None, None, None)
                continue
            ask = _http.dec(q.get("ask"))
            stamps = [v for v in (q.get("bid_date"), q.get("ask_date")) if isinstance(v, int | float) and v > 0]
            when = datetime.fromtimestamp(min(stamps) / 1000, UTC) if stamps else None
            result[symbol] = Quote(symbol, _http.dec(q.get("bid")), ask if ask else None, when)
        return result

    def contract(self, symbol: str) -> Contract | None:
        if parse_occ(symbol) is None:
            return None
        q = self._quote_docs([symbol]).get(symbol)
        return _contract(q) if q is not None and q.get("type") == "option" else None

    def contracts(self, underlying: str, expiration: date, right: str, strike: Decimal) -> list[Contract]:
        doc = self._call("GET", "/markets/options/chains",
                         params=[("symbol", underlying), ("expiration", expiration.isoformat()), ("greeks", "false")])
        found = []
        for item in items(_http.mapping(doc).get("options"), "option"):
            contract = _contract(item)
            if contract and contract.right == right and contract.strike == strike and contract.expiration == expiration:
                found.append(contract)
        return found


def _as_int(value: str) -> int:
    return int(value) if value.isdigit() else 0


def _leg(doc: Mapping[str, Any], ratio: int) -> Leg:
    side = str(doc.get("side") or "")
    symbol = str(doc.get("option_symbol") or doc.get("symbol") or "")
    if side in _EQUITY_SIDES and doc.get("class") != "option":
        plain_side, intent = _EQUITY_SIDES[side]
        return Leg(symbol, plain_side, intent, max(ratio, 1))
    if side in ("buy_to_open", "buy_to_close", "sell_to_open", "sell_to_close"):
        return Leg(symbol, side.split("_")[0], side, max(ratio, 1))
    return Leg(symbol, "sell" if side.startswith("sell") else "buy", None, max(ratio, 1))


def _contract(doc: Mapping[str, Any]) -> Contract | None:
    symbol = str(doc.get("symbol") or "")
    occ = parse_occ(symbol)
    if occ is None:
        return None
    size = _http.dec(doc.get("contract_size"))
    return Contract(
        symbol=symbol,
        root=str(doc.get("root_symbol") or occ.root),
        underlying=str(doc.get("underlying") or occ.underlying),
        expiration=occ.expiration,
        right=occ.right,
        strike=occ.strike,
        multiplier=int(size) if size else 100,
    )


def _next_change(now: datetime, hhmm: str) -> datetime | None:
    """Tradier's next_change (HH:MM, New York time) as the first such moment after now."""
    try:
        hours, minutes = (int(p) for p in hhmm.split(":"))
        local = now.astimezone(_NEW_YORK)
        when = datetime.combine(local.date(), time(hours % 24, minutes), _NEW_YORK) + timedelta(days=hours // 24)
    except ValueError:
        return None
    if when <= local:
        when += timedelta(days=1)
    return when.astimezone(UTC)
