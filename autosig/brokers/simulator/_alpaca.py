"""The simulator's Alpaca dialect: trading /v2/... and market data (/v2/stocks/..., /v1beta1/options/...), with
Alpaca's field names, string numbers, error bodies ({"code", "message"}) and statuses."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

from autosig.brokers._occ import parse_occ
from autosig.brokers.simulator._book import WORKING, Book, SimLeg, SimOrder, money
from autosig.brokers.simulator._server import Answer, Incoming

INVALID = 40010001
_NS = uuid.UUID("6f1d3c1e-5b1a-4a8e-9d4e-0c2b7a9e5f10")
_STATUS = {"open": "new", "pending": "pending_new"}


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _asset_id(symbol: str) -> str:
    return str(uuid.uuid5(_NS, symbol))


def _error(status: int, message: str, code: int = INVALID, **extra: Any) -> Answer:
    return Answer(status, {"code": code, "message": message, **extra})


class AlpacaDialect:
    def __init__(self, book: Book, key_id: str, secret_key: str) -> None:
        self.book = book
        self.key_id = key_id
        self.secret_key = secret_key
        self.account_id = str(uuid.uuid5(_NS, "account"))

    def auth(self, req: Incoming) -> Answer | None:
        key, secret = req.headers.get("APCA-API-KEY-ID"), req.headers.get("APCA-API-SECRET-KEY")
        if not key or not secret:
            return _error(401, "request is not authorized", 40110000)
        if key != self.key_id or secret != self.secret_key:
            return Answer(403, {"message": "forbidden."})
        return None

    def route(self, req: Incoming) -> Answer:
        denied = self.auth(req)
        if denied is not None:
            return denied
        with self.book.lock:
            self.book.match()
            return self._route(req)

    def _route(self, req: Incoming) -> Answer:
        path, method = req.path, req.method
        if path == "/v2/orders" and method == "POST":
            return self.submit(req)
        if path == "/v2/orders" and method == "GET":
            return self.list_orders(req)
        if path == "/v2/orders:by_client_order_id" and method == "GET":
            cid = req.arg("client_order_id") or ""
            found = [o for o in self._orders() if o.client_order_id == cid]
            return Answer(200, self.render(found[-1])) if found else _error(404, "order not found", 40410000)
        if path.startswith("/v2/orders/"):
            order = self._by_id(unquote(path[len("/v2/orders/"):]))
            if order is None:
                return _error(404, "order not found", 40410000)
            if method == "GET":
                return Answer(200, self.render(order))
            if method == "DELETE":
                if not self.book.cancel(order):
                    return _error(422, f"order is not cancelable (status {self._status(order)})", 42210000)
                return Answer(204, b"")
        if path == "/v2/account" and method == "GET":
            return Answer(200, self.account())
        if path == "/v2/clock" and method == "GET":
            now, is_open, nxt_open, nxt_close = self.book.clock()
            return Answer(200, {"timestamp": _et(now), "is_open": is_open, "next_open": _et(nxt_open),
                                "next_close": _et(nxt_close)})
        if path == "/v2/positions" and method == "GET":
            return Answer(200, [self.position(s, p) for s, p in sorted(self.book.accounts["alpaca"].positions.items())])
        if path == "/v2/options/contracts" and method == "GET":
            return self.contracts(req)
        if path.startswith("/v2/options/contracts/") and method == "GET":
            symbol = unquote(path[len("/v2/options/contracts/"):])
            if parse_occ(symbol) is None or not self.book.listed(symbol):
                return _error(404, "option contract not found", 40410000)
            return Answer(200, self.contract(symbol))
        if path in ("/v2/stocks/quotes/latest", "/v1beta1/options/quotes/latest") and method == "GET":
            return self.latest_quotes(req, options=path.startswith("/v1beta1"))
        return _error(404, "endpoint not found", 40410000)

    # --- orders -------------------------------------------------------------------------------------------

    def _orders(self) -> list[SimOrder]:
        return [o for o in self.book.orders if o.dialect == "alpaca"]

    def _by_id(self, oid: str) -> SimOrder | None:
        return next((o for o in self._orders() if o.id == oid), None)

    def submit(self, req: Incoming) -> Answer:
        body = req.json()
        if not isinstance(body, dict):
            return _error(400, "request body format is invalid", 40010000)
        cid = str(body.get("client_order_id") or uuid.uuid4())
        if len(cid) > 128:
            return _error(422, "client_order_id must be no more than 128 characters")
        try:
            qty = Decimal(str(body.get("qty")))
            limit = Decimal(str(body.get("limit_price")))
        except InvalidOperation:
            return _error(422, "qty and limit_price are required for a limit order")
        if body.get("type") != "limit":
            return _error(422, "the simulator takes limit orders only")
        if body.get("time_in_force") not in ("day", "gtc"):
            return _error(422, "invalid time_in_force")
        if qty <= 0 or qty != qty.to_integral_value():
            return _error(422, "qty must be a positive whole number")
        if body.get("order_class") == "mleg":
            raw_legs = body.get("legs")
            if not isinstance(raw_legs, list) or not 2 <= len(raw_legs) <= 4:
                return _error(422, "mleg orders need 2 to 4 legs")
            legs = []
            for raw in raw_legs:
                if not isinstance(raw, dict) or raw.get("side") not in ("buy", "sell") or not raw.get("symbol"):
                    return _error(422, "each leg needs a symbol and a side")
                legs.append(SimLeg(str(raw["symbol"]), raw["side"], raw.get("position_intent"),
                                   int(Decimal(str(raw.get("ratio_qty") or "1")))))
            instrument, effect, limit = "spread", "debit" if limit >= 0 else "credit", abs(limit)
        else:
            if body.get("side") not in ("buy", "sell") or not body.get("symbol"):
                return _error(422, "symbol and side are required")
            legs = [SimLeg(str(body["symbol"]), body["side"], body.get("position_intent"))]
            instrument = "option" if parse_occ(legs[0].symbol) else "stock"
            effect = "debit" if body["side"] == "buy" else "credit"
        if limit <= 0:
            return _error(422, "limit_price must be > 0")
        for leg in legs:
            if not self.book.listed(leg.symbol, allow_stock=True):
                return _error(422, f"asset \"{leg.symbol}\" not found")
        if any(o.client_order_id == cid for o in self._orders()):
            return _error(422, "client_order_id must be unique")
        units = qty * limit * (100 if instrument != "stock" else 1)
        if effect == "debit" and units > self.book.accounts["alpaca"].cash:
            return _error(403, "insufficient buying power", 40310000)
        order = self.book.place("alpaca", cid, instrument, legs, qty, limit, effect, str(body["time_in_force"]))
        doc = self.render(order)
        if doc["status"] == "new":
            doc["status"] = "pending_new"  # answered before it is routed, as Alpaca does
        return Answer(200, doc, placed=order)

    def list_orders(self, req: Incoming) -> Answer:
        status = req.arg("status", "open")
        orders = self._orders()
        if status == "open":
            orders = [o for o in orders if o.status in WORKING]
        elif status == "closed":
            orders = [o for o in orders if o.status not in WORKING]
        after, until = _parse_ts(req.arg("after")), _parse_ts(req.arg("until"))
        if after is not None:
            orders = [o for o in orders if o.created_at > after]
        if until is not None:
            orders = [o for o in orders if o.created_at < until]
        if req.arg("symbols"):
            wanted = set((req.arg("symbols") or "").split(","))
            orders = [o for o in orders if any(leg.symbol in wanted for leg in o.legs)]
        if req.arg("side"):
            orders = [o for o in orders if o.instrument != "spread" and o.legs[0].side == req.arg("side")]
        orders.sort(key=lambda o: o.seq, reverse=req.arg("direction", "desc") != "asc")
        try:
            limit = max(1, min(500, int(req.arg("limit") or 50)))
        except ValueError:
            return _error(422, "invalid limit")
        return Answer(200, [self.render(o) for o in orders[:limit]])

    def _status(self, order: SimOrder) -> str:
        return _STATUS.get(order.status, order.status)

    def render(self, order: SimOrder) -> dict[str, Any]:
        mleg = order.instrument == "spread"
        leg = order.legs[0]
        signed = order.limit if order.effect == "debit" or not mleg else -order.limit
        average = order.average
        if mleg and average is not None and order.effect == "credit":
            average = -average
        doc = self._base(order, order.id, self._status(order))
        doc.update(
            client_order_id=order.client_order_id,
            asset_id="" if mleg else _asset_id(leg.symbol),
            symbol="" if mleg else leg.symbol,
            asset_class="" if mleg else ("us_option" if order.instrument == "option" else "us_equity"),
            qty=_num(order.quantity),
            filled_qty=_num(order.filled),
            filled_avg_price=_num(average),
            order_class="mleg" if mleg else "simple",
            order_type="limit",
            type="limit",
            side="" if mleg else leg.side,
            position_intent="" if mleg else (leg.intent or ("buy_to_open" if leg.side == "buy" else "sell_to_close")),
            limit_price=_num(signed),
            legs=[self._leg(order, i) for i in range(len(order.legs))] if mleg else None,
            ratio_qty=None,
        )
        return doc

    def _base(self, order: SimOrder, oid: str, status: str) -> dict[str, Any]:
        return {
            "id": oid,
            "created_at": _iso(order.created_at),
            "updated_at": _iso(order.updated_at),
            "submitted_at": _iso(order.created_at),
            "filled_at": _iso(order.filled_at),
            "expired_at": _iso(order.expired_at),
            "expires_at": None,
            "canceled_at": _iso(order.canceled_at),
            "failed_at": _iso(order.updated_at) if order.status == "rejected" else None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "notional": None,
            "time_in_force": order.time_in_force,
            "stop_price": None,
            "status": status,
            "extended_hours": False,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "subtag": None,
            "source": None,
        }

    def _leg(self, order: SimOrder, i: int) -> dict[str, Any]:
        leg = order.legs[i]
        filled = order.filled * leg.ratio
        doc = self._base(order, str(uuid.uuid5(_NS, f"{order.id}:{i}")), self._status(order))
        doc.update(
            client_order_id=str(uuid.uuid5(_NS, f"{order.client_order_id}:{i}")),
            asset_id=_asset_id(leg.symbol),
            symbol=leg.symbol,
            asset_class="us_option",
            qty=_num(order.quantity * leg.ratio),
            filled_qty=_num(filled),
            filled_avg_price=_num(order.leg_fills.get(i)),
            order_class="mleg",
            order_type="",
            type="",
            side=leg.side,
            position_intent=leg.intent or "",
            limit_price=None,
            legs=None,
            ratio_qty=str(leg.ratio),
        )
        return doc

    # --- account, positions, market data ------------------------------------------------------------------

    def account(self) -> dict[str, Any]:
        acct = self.book.accounts["alpaca"]
        value = self.book.market_value("alpaca")
        equity = money(acct.cash + value)
        cash = _num(money(acct.cash))
        return {
            "id": self.account_id, "account_number": acct.number, "status": "ACTIVE", "crypto_status": "ACTIVE",
            "currency": "USD", "buying_power": cash, "regt_buying_power": cash,
            "non_marginable_buying_power": cash, "options_buying_power": cash, "cash": cash, "accrued_fees": "0",
            "pending_transfer_in": "0", "pending_transfer_out": "0", "portfolio_value": _num(equity),
            "trading_blocked": False, "transfers_blocked": False, "account_blocked": False,
            "created_at": "2024-01-02T14:30:00.000000Z", "trade_suspended_by_user": False, "multiplier": "1",
            "shorting_enabled": False, "equity": _num(equity), "last_equity": _num(equity),
            "long_market_value": _num(max(value, Decimal(0))), "short_market_value": _num(min(value, Decimal(0))),
            "initial_margin": "0", "maintenance_margin": "0", "last_maintenance_margin": "0", "sma": "0",
            "options_approved_level": 3, "options_trading_level": 3, "balance_asof": date.today().isoformat(),
        }

    def position(self, symbol: str, pos: Any) -> dict[str, Any]:
        option = parse_occ(symbol) is not None
        multiplier = 100 if option else 1
        q = self.book.quote(symbol)
        mark = (q[0] + q[1]) / 2 if q and q[0] is not None and q[1] is not None else pos.average
        cost = money(pos.quantity * pos.average * multiplier)
        value = money(pos.quantity * mark * multiplier)
        pl = value - cost
        return {
            "asset_id": _asset_id(symbol), "symbol": symbol, "exchange": "" if option else "NASDAQ",
            "asset_class": "us_option" if option else "us_equity", "asset_marginable": not option,
            "avg_entry_price": _num(pos.average), "qty": _num(pos.quantity),
            "side": "long" if pos.quantity > 0 else "short", "market_value": _num(value), "cost_basis": _num(cost),
            "unrealized_pl": _num(pl), "unrealized_plpc": _num(money(pl / cost)) if cost else "0",
            "unrealized_intraday_pl": _num(pl), "unrealized_intraday_plpc": "0", "current_price": _num(money(mark)),
            "lastday_price": _num(money(mark)), "change_today": "0", "qty_available": _num(pos.quantity),
        }

    def contract(self, symbol: str) -> dict[str, Any]:
        occ = parse_occ(symbol)
        assert occ is not None
        index = occ.underlying in ("SPX", "NDX", "RUT", "VIX", "DJX", "XSP")
        return {
            "id": str(uuid.uuid5(_NS, symbol)), "symbol": symbol,
            "name": f"{occ.underlying} {occ.expiration:%b %d %Y} {_num(occ.strike)} {occ.right.title()}",
            "status": "active", "tradable": True, "expiration_date": occ.expiration.isoformat(),
            "root_symbol": occ.root, "underlying_symbol": occ.underlying,
            "underlying_asset_id": _asset_id(occ.underlying), "type": occ.right,
            "style": "european" if index else "american", "strike_price": _num(occ.strike), "multiplier": "100",
            "size": "100", "open_interest": None, "open_interest_date": None, "close_price": None,
            "close_price_date": None,
        }

    def contracts(self, req: Incoming) -> Answer:
        underlyings = [u for u in (req.arg("underlying_symbols") or "").split(",") if u]
        if not underlyings:
            return _error(422, "underlying_symbols is required in the simulator")
        expiry = _parse_date(req.arg("expiration_date"))
        if expiry is None:
            return _error(422, "expiration_date is required in the simulator")
        rights = (req.arg("type"),) if req.arg("type") in ("call", "put") else ("call", "put")
        try:
            low = Decimal(req.arg("strike_price_gte")) if req.arg("strike_price_gte") else None
            high = Decimal(req.arg("strike_price_lte")) if req.arg("strike_price_lte") else None
            limit = max(1, min(10000, int(req.arg("limit") or 100)))
            start = int(req.arg("page_token") or 0)
        except (InvalidOperation, ValueError):
            return _error(422, "invalid strike, limit or page_token")
        symbols = [s for u in underlyings for s in self.book.chain(u, expiry, rights, low, high)]
        if req.arg("root_symbol"):
            symbols = [s for s in symbols if parse_occ(s) and parse_occ(s).root == req.arg("root_symbol")]  # type: ignore[union-attr]
        page = symbols[start : start + limit]
        token = str(start + limit) if start + limit < len(symbols) else None
        return Answer(200, {"option_contracts": [self.contract(s) for s in page], "next_page_token": token})

    def latest_quotes(self, req: Incoming, *, options: bool) -> Answer:
        symbols = [s for s in (req.arg("symbols") or "").split(",") if s]
        if not symbols:
            return _error(400, "symbols is required", 40010000)
        quotes = {}
        for symbol in symbols:
            if (parse_occ(symbol) is not None) != options:
                continue
            q = self.book.quote(symbol)
            if q is None:
                continue
            bid, ask, stamp = q
            exchange = "C" if options else "V"
            quotes[symbol] = {
                "t": _iso(stamp), "ax": exchange, "ap": float(ask or 0), "as": 1 if ask else 0, "bx": exchange,
                "bp": float(bid or 0), "bs": 1 if bid else 0, "c": "A" if options else ["R"],
            }
            if not options:
                quotes[symbol]["z"] = "C"
        return Answer(200, {"quotes": quotes})


def _et(ts: datetime) -> str:
    from zoneinfo import ZoneInfo

    return ts.astimezone(ZoneInfo("America/New_York")).isoformat()


def _parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = datetime.combine(date.fromisoformat(value), datetime.min.time())
        except ValueError:
            return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None
