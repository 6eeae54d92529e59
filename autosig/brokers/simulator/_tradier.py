"""The simulator's Tradier dialect (/v1/...): form-encoded orders, JSON only when asked for (XML otherwise), single
results as objects, "null" for nothing, errors as {"errors": {"error": [...]}}, tags shown only with includeTags."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from autosig.brokers._occ import parse_occ
from autosig.brokers.simulator._book import WORKING, Book, SimLeg, SimOrder, money
from autosig.brokers.simulator._server import Answer, Incoming

_NEW_YORK = ZoneInfo("America/New_York")
_EQUITY_SIDES = {"buy": ("buy", None), "sell": ("sell", None), "sell_short": ("sell", "sell_to_open"),
                 "buy_to_cover": ("buy", "buy_to_close")}
_OPTION_SIDES = ("buy_to_open", "buy_to_close", "sell_to_open", "sell_to_close")


def _errors(status: int, *messages: str) -> Answer:
    return Answer(status, {"errors": {"error": list(messages)}})


def _one_or_many(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class TradierDialect:
    def __init__(self, book: Book, token: str) -> None:
        self.book = book
        self.token = token

    @property
    def account(self) -> str:
        return self.book.accounts["tradier"].number

    def route(self, req: Incoming) -> Answer:
        if req.headers.get("Authorization") != f"Bearer {self.token}":
            return Answer(401, b"Invalid Access Token", content_type="text/plain")
        if "json" not in (req.headers.get("Accept") or ""):
            return Answer(200, b'<?xml version="1.0" encoding="UTF-8"?><response>the simulator answers XML '
                               b"requests with this placeholder</response>", content_type="application/xml")
        with self.book.lock:
            self.book.match()
            return self._route(req)

    def _route(self, req: Incoming) -> Answer:
        path, method = req.path, req.method
        if path == "/v1/user/profile":
            return Answer(200, self.profile())
        if path == "/v1/markets/clock":
            return Answer(200, self.clock())
        if path == "/v1/markets/quotes":
            symbols = req.arg("symbols") or (req.form().get("symbols") or [""])[0]
            return Answer(200, self.quotes([s for s in symbols.split(",") if s]))
        if path == "/v1/markets/options/chains":
            return self.chain(req)
        prefix = f"/v1/accounts/{self.account}"
        if path.startswith("/v1/accounts/") and not path.startswith(prefix + "/"):
            return Answer(401, b"Unauthorized Account", content_type="text/plain")
        rest = path[len(prefix):]
        if rest == "/balances":
            return Answer(200, self.balances())
        if rest == "/positions":
            positions = [self.position(s, p) for s, p in sorted(self.book.accounts["tradier"].positions.items())]
            return Answer(200, {"positions": {"position": _one_or_many(positions)} if positions else "null"})
        if rest == "/orders" and method == "POST":
            return self.submit(req)
        if rest == "/orders" and method == "GET":
            return self.list_orders(req)
        if rest.startswith("/orders/"):
            order = next((o for o in self._orders() if o.id == rest[len("/orders/"):]), None)
            if order is None:
                return _errors(404, "Order not found")
            if method == "GET":
                return Answer(200, {"order": self.render(order, req.arg("includeTags") == "true")})
            if method == "DELETE":
                if not self.book.cancel(order):
                    return _errors(400, f"Order {order.id} is not in a cancelable state")
                return Answer(200, {"order": {"id": int(order.id), "status": "ok"}})
        return _errors(404, "Resource not found")

    # --- orders -------------------------------------------------------------------------------------------

    def _orders(self) -> list[SimOrder]:
        return [o for o in self.book.orders if o.dialect == "tradier"]

    def submit(self, req: Incoming) -> Answer:
        form = {k: v[0] for k, v in req.form().items()}
        klass, symbol = form.get("class"), form.get("symbol") or ""
        try:
            price = Decimal(form.get("price") or "")
        except InvalidOperation:
            return _errors(400, "A price is required for limit, debit and credit orders")
        if form.get("duration") not in ("day", "gtc"):
            return _errors(400, "Invalid duration")
        if not symbol:
            return _errors(400, "Symbol is required")
        if klass == "multileg":
            if form.get("type") not in ("debit", "credit"):
                return _errors(400, "The simulator takes debit and credit multileg orders only")
            legs, sizes = [], []
            i = 0
            while f"option_symbol[{i}]" in form:
                side = form.get(f"side[{i}]", "")
                if side not in _OPTION_SIDES:
                    return _errors(400, f"Invalid side for leg {i}")
                try:
                    sizes.append(int(form.get(f"quantity[{i}]", "")))
                except ValueError:
                    return _errors(400, f"Invalid quantity for leg {i}")
                legs.append(SimLeg(form[f"option_symbol[{i}]"], side.split("_")[0], side))
                i += 1
            if not 2 <= len(legs) <= 4 or min(sizes) < 1:
                return _errors(400, "A multileg order needs 2 to 4 legs")
            units = min(sizes)
            for leg, size in zip(legs, sizes, strict=True):
                leg.ratio = size // units
            instrument, effect, qty = "spread", str(form["type"]), Decimal(units)
        else:
            try:
                qty = Decimal(int(form.get("quantity") or ""))
            except ValueError:
                return _errors(400, "Invalid quantity")
            if form.get("type") != "limit":
                return _errors(400, "The simulator takes limit orders only")
            side = form.get("side", "")
            if klass == "equity" and side in _EQUITY_SIDES:
                plain, intent = _EQUITY_SIDES[side]
                legs, instrument = [SimLeg(symbol, plain, intent)], "stock"
            elif klass == "option" and side in _OPTION_SIDES and form.get("option_symbol"):
                legs, instrument = [SimLeg(form["option_symbol"], side.split("_")[0], side)], "option"
            else:
                return _errors(400, "Invalid class, side or option_symbol")
            effect = "debit" if legs[0].side == "buy" else "credit"
        if qty <= 0 or price <= 0:
            return _errors(400, "Quantity and price must be positive")
        for leg in legs:
            if not self.book.listed(leg.symbol, allow_stock=True):
                return _errors(400, f"Invalid symbol: {leg.symbol}")
            if instrument != "stock" and self.book.underlying_of(leg.symbol) != symbol:
                return _errors(400, f"Option symbol {leg.symbol} does not belong to {symbol}")
        cost = qty * price * (100 if instrument != "stock" else 1)
        if effect == "debit" and cost > self.book.accounts["tradier"].cash:
            return _errors(400, "You do not have enough buying power for this trade.")
        order = self.book.place("tradier", form.get("tag") or "", instrument, legs, qty, price, effect,
                                form["duration"], underlying=symbol)
        return Answer(200, {"order": {"id": int(order.id), "status": "ok",
                                      "partner_id": "3a8bbee1-5184-4ffe-8a0c-294fbad1aee9"}}, placed=order)

    def list_orders(self, req: Incoming) -> Answer:
        tags = req.arg("includeTags") == "true"
        try:
            page = max(1, int(req.arg("page") or 1))
            limit = max(1, min(500, int(req.arg("limit") or 25)))
        except ValueError:
            return _errors(400, "Invalid page or limit")
        orders = self._orders()[(page - 1) * limit : page * limit]
        if not orders:
            return Answer(200, {"orders": "null"})
        return Answer(200, {"orders": {"order": _one_or_many([self.render(o, tags) for o in orders])}})

    def render(self, order: SimOrder, tags: bool) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": int(order.id),
            "type": order.effect if order.instrument == "spread" else "limit",
            "symbol": order.underlying if order.instrument != "stock" else order.legs[0].symbol,
            "side": self._side(order, 0) if order.instrument != "spread" else order.legs[0].side,
            "quantity": float(order.quantity),
            "status": order.status,
            "duration": order.time_in_force,
            "price": float(order.limit),
            "avg_fill_price": float(order.average or 0),
            "exec_quantity": float(order.filled),
            "last_fill_price": float(order.last_fill_price),
            "last_fill_quantity": float(order.last_fill_quantity),
            "remaining_quantity": float(order.quantity - order.filled if order.status in WORKING else 0),
            "create_date": _iso(order.created_at),
            "transaction_date": _iso(order.updated_at),
            "class": {"stock": "equity", "option": "option", "spread": "multileg"}[order.instrument],
        }
        if order.instrument == "option":
            doc["option_symbol"] = order.legs[0].symbol
        if order.reject_reason:
            doc["reason_description"] = order.reject_reason
        if order.instrument == "spread":
            doc["num_legs"] = len(order.legs)
            doc["strategy"] = "spread"
            doc["leg"] = [self._leg(order, i) for i in range(len(order.legs))]
        if tags and order.client_order_id:
            doc["tag"] = order.client_order_id
        return doc

    def _side(self, order: SimOrder, i: int) -> str:
        leg = order.legs[i]
        if order.instrument == "stock":
            return {"sell_to_open": "sell_short", "buy_to_close": "buy_to_cover"}.get(leg.intent or "", leg.side)
        return leg.intent or f"{leg.side}_to_open"

    def _leg(self, order: SimOrder, i: int) -> dict[str, Any]:
        leg = order.legs[i]
        qty = order.quantity * leg.ratio
        filled = order.filled * leg.ratio
        return {
            "id": int(order.id) + i + 1, "type": order.effect, "symbol": order.underlying, "side": self._side(order, i),
            "quantity": float(qty), "status": order.status, "duration": order.time_in_force,
            "price": float(order.limit), "avg_fill_price": float(order.leg_fills.get(i, 0)),
            "exec_quantity": float(filled), "last_fill_price": float(order.leg_fills.get(i, 0)),
            "last_fill_quantity": float(filled),
            "remaining_quantity": float(qty - filled if order.status in WORKING else 0),
            "create_date": _iso(order.created_at), "transaction_date": _iso(order.updated_at), "class": "option",
            "option_symbol": leg.symbol,
        }

    # --- account, market ----------------------------------------------------------------------------------

    def profile(self) -> dict[str, Any]:
        return {"profile": {"id": "id-simulator", "name": "AutoSig Simulator", "account": {
            "account_number": self.account, "classification": "individual", "date_created": "2024-01-02T14:30:00.000Z",
            "day_trader": False, "option_level": 6, "status": "active", "type": "margin",
            "last_update_date": "2024-01-02T14:30:00.000Z"}}}

    def balances(self) -> dict[str, Any]:
        acct = self.book.accounts["tradier"]
        value = self.book.market_value("tradier")
        cash = float(money(acct.cash))
        pending = sum(1 for o in self._orders() if o.status in WORKING)
        return {"balances": {
            "option_short_value": 0, "total_equity": float(money(acct.cash + value)), "account_number": self.account,
            "account_type": "margin", "close_pl": 0, "current_requirement": 0, "equity": 0,
            "long_market_value": float(max(value, Decimal(0))), "market_value": float(value), "open_pl": 0,
            "option_long_value": 0, "option_requirement": 0, "pending_orders_count": pending,
            "short_market_value": float(min(value, Decimal(0))), "stock_long_value": 0, "total_cash": cash,
            "uncleared_funds": 0, "pending_cash": 0,
            "margin": {"fed_call": 0, "maintenance_call": 0, "option_buying_power": cash,
                       "stock_buying_power": cash, "stock_short_value": 0, "sweep": 0},
        }}

    def position(self, symbol: str, pos: Any) -> dict[str, Any]:
        multiplier = 100 if parse_occ(symbol) else 1
        return {"cost_basis": float(money(pos.quantity * pos.average * multiplier)),
                "date_acquired": "2024-01-02T14:30:00.000Z", "id": abs(hash(symbol)) % 10**6,
                "quantity": float(pos.quantity), "symbol": symbol}

    def clock(self) -> dict[str, Any]:
        now, is_open, nxt_open, nxt_close = self.book.clock()
        change = (nxt_close if is_open else nxt_open).astimezone(_NEW_YORK)
        local = now.astimezone(_NEW_YORK)
        return {"clock": {
            "date": local.date().isoformat(),
            "description": "Market is open from 09:30 to 16:00" if is_open else "Market is closed",
            "state": "open" if is_open else "closed", "timestamp": int(now.timestamp()),
            "next_change": change.strftime("%H:%M"), "next_state": "postmarket" if is_open else "open"}}

    def quote_doc(self, symbol: str) -> dict[str, Any] | None:
        occ = parse_occ(symbol)
        q = self.book.quote(symbol)
        if q is None and (occ is None or not self.book.listed(symbol)):
            return None
        if occ is not None and not self.book.listed(symbol):
            return None
        bid, ask, stamp = q if q is not None else (None, None, self.book.now())
        doc: dict[str, Any] = {
            "symbol": symbol, "description": symbol, "exch": "Q", "type": "option" if occ else "stock",
            "last": None, "change": None, "volume": 0, "open": None, "high": None, "low": None, "close": None,
            "bid": float(bid) if bid is not None else 0.0, "ask": float(ask) if ask is not None else 0.0,
            "change_percentage": None, "average_volume": 0, "last_volume": 0, "trade_date": 0, "prevclose": None,
            "week_52_high": 0.0, "week_52_low": 0.0, "bidsize": 1 if bid else 0, "bidexch": "Q",
            "bid_date": _ms(stamp) if q is not None else 0, "asksize": 1 if ask else 0, "askexch": "Q",
            "ask_date": _ms(stamp) if q is not None else 0,
        }
        if occ is None:
            doc["root_symbols"] = symbol
        else:
            doc.update(underlying=occ.underlying, strike=float(occ.strike), open_interest=0, contract_size=100,
                       expiration_date=occ.expiration.isoformat(),
                       expiration_type="weeklys" if occ.root != occ.underlying else "standard",
                       option_type=occ.right, root_symbol=occ.root)
        return doc

    def quotes(self, symbols: list[str]) -> dict[str, Any]:
        found = [d for d in (self.quote_doc(s) for s in symbols) if d is not None]
        missing = [s for s in symbols if s not in {d["symbol"] for d in found}]
        body: dict[str, Any] = {}
        if found:
            body["quote"] = _one_or_many(found)
        if missing:
            body["unmatched_symbols"] = {"symbol": _one_or_many(missing)}
        return {"quotes": body}

    def chain(self, req: Incoming) -> Answer:
        try:
            expiry = date.fromisoformat(req.arg("expiration") or "")
        except ValueError:
            return _errors(400, "expiration is required")
        symbols = self.book.chain(req.arg("symbol") or "", expiry)
        docs = [d for d in (self.quote_doc(s) for s in symbols) if d is not None]
        return Answer(200, {"options": {"option": _one_or_many(docs)} if docs else None})
