"""An in-memory broker behind the real Broker interface, for driving the execute stage in-process with a
ManualClock: it fills marketable limits at once (or lets them rest, or fills part), counts every order per client
order id, and fails on request exactly as the adapters report failures. The HTTP simulator
(autosig.brokers.simulator) is what the process-level tests use."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from autosig.brokers.base import Account, Broker, Contract, MarketClock, Order, OrderRequest, Position, Quote
from autosig.brokers.errors import DuplicateClientOrderId, NotFound, OutcomeUnknown


class FakeBroker(Broker):
    name = "alpaca"
    live = False

    def __init__(self, clock, *, fill: str = "all", unique_ids: bool = True) -> None:
        self._time = clock
        self.fill = fill  # "all" | "none" (rest) | "half"
        self.unique_ids = unique_ids
        self.orders: dict[str, dict] = {}
        self.by_client: dict[str, list[str]] = {}
        self.counts: Counter[str] = Counter()
        self.faults: dict[str, list[BaseException | str]] = {}
        self.held: Counter[str] = Counter()  # symbol -> quantity (positions the account holds, AutoSig's or not)
        self.is_open = True
        self.quotes_by_symbol: dict[str, Quote] = {}
        self.delisted: set[str] = set()
        self.weekly_roots: dict[str, str] = {}  # underlying -> the only root it is listed under (SPX -> SPXW)
        self.cancels: list[str] = []
        self._ids = itertools.count(1)

    def _fault(self, method: str) -> BaseException | str | None:
        queue = self.faults.get(method)
        return queue.pop(0) if queue else None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._time.time(), UTC)

    def submit(self, order: OrderRequest) -> Order:
        fault = self._fault("submit")
        if isinstance(fault, BaseException):
            raise fault
        if self.unique_ids and order.client_order_id in self.by_client:
            raise DuplicateClientOrderId("an order with this client order id exists", http_status=422)
        oid = f"o{next(self._ids)}"
        record = {"id": oid, "request": order, "status": "accepted", "filled": Decimal(0), "avg": None}
        self.orders[oid] = record
        self.by_client.setdefault(order.client_order_id, []).append(oid)
        self.counts[order.client_order_id] += 1
        if self.fill == "all":
            self._fill(record, Decimal(order.quantity))
        elif self.fill == "half":
            self._fill(record, Decimal(order.quantity // 2 or 1), final=order.quantity == 1)
        if fault == "accept_then_504":
            raise OutcomeUnknown("the broker did not answer in time (HTTP 504)", http_status=504)
        return self._order(record)

    def _fill(self, record: dict, quantity: Decimal, final: bool = True) -> None:
        req: OrderRequest = record["request"]
        record["filled"] = quantity
        record["avg"] = req.limit_price
        record["status"] = "filled" if quantity >= req.quantity else "partially_filled"
        for leg in req.legs:
            sign = 1 if leg.side == "buy" else -1
            self.held[leg.symbol] += sign * int(quantity) * leg.ratio

    def fill_rest(self, client_order_id: str) -> None:
        for oid in self.by_client.get(client_order_id, []):
            record = self.orders[oid]
            req = record["request"]
            before = record["filled"]
            self._fill(record, Decimal(req.quantity))
            for leg in req.legs:  # _fill counted all of it again: take back what was counted before
                self.held[leg.symbol] -= (1 if leg.side == "buy" else -1) * int(before) * leg.ratio

    def _order(self, record: dict) -> Order:
        req: OrderRequest = record["request"]
        return Order(
            broker_order_id=record["id"],
            client_order_id=req.client_order_id,
            status=record["status"],
            broker_status=record["status"],
            filled_quantity=record["filled"],
            average_fill_price=record["avg"],
            quantity=Decimal(req.quantity),
            limit_price=req.limit_price,
            legs=req.legs,
            response={"id": record["id"], "client_order_id": req.client_order_id, "status": record["status"],
                      "filled_qty": str(record["filled"])},  # fmt: skip
            price_effect=req.price_effect,
            instrument=req.instrument,
        )

    def find(self, client_order_id: str) -> Order | None:
        fault = self._fault("find")
        if isinstance(fault, BaseException):
            raise fault
        ids = self.by_client.get(client_order_id)
        return self._order(self.orders[ids[-1]]) if ids else None

    def get_order(self, broker_order_id: str) -> Order:
        record = self.orders.get(broker_order_id)
        if record is None:
            raise NotFound("no such order", http_status=404)
        return self._order(record)

    def cancel(self, broker_order_id: str) -> bool:
        record = self.orders.get(broker_order_id)
        if record is None:
            raise NotFound("no such order", http_status=404)
        self.cancels.append(broker_order_id)
        if record["status"] in ("filled", "canceled", "expired", "rejected"):
            return False
        record["status"] = "canceled"
        return True

    def account(self) -> Account:
        return Account("PA00001234", True, Decimal(100_000), Decimal(100_000), 3, "ACTIVE", {})

    def clock(self) -> MarketClock:  # type: ignore[override]
        return MarketClock(self.now(), self.is_open, None, None)

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        return {s: self.quotes_by_symbol.get(s, Quote(s, None, None, None)) for s in symbols}

    def contract(self, symbol: str) -> Contract | None:
        if symbol in self.delisted or symbol[:-15] in self.weekly_roots:
            return None
        return Contract(symbol, symbol[:-15], symbol[:-15], date(2027, 1, 15), "call", Decimal(1))

    def contracts(self, underlying: str, expiration: date, right: str, strike: Decimal) -> list[Contract]:
        root = self.weekly_roots.get(underlying)
        if root is None:
            return []
        symbol = f"{root}{expiration:%y%m%d}{right[0].upper()}{int(strike * 1000):08d}"
        return [Contract(symbol, root, underlying, expiration, right, strike)]

    def positions(self) -> list[Position]:
        return [Position(s, Decimal(q), None, "option" if len(s) > 10 else "stock") for s, q in self.held.items() if q]
