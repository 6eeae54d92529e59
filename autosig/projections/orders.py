"""What AutoSig did with the user's money, from the `orders` and `control` streams alone: the executor's starts, every
decision (planned or skipped, with its reason), each order's state at the broker, AutoSig's own positions (its fills,
never the alerts), realized P&L, today's use of each cap, and whether execution is paused.

Pure: apply(event) and read methods. The executor keeps one to decide (it is rebuilt from the stream on every
start, so caps and positions survive restarts) and each web process keeps one to show it.

    book = OrdersProjection()
    for ev in store.read(ORDERS): book.apply(ev)
    book.positions()        # the current executor's
    book.caps(now)          # today's use of each cap (New York day)

An executor manages only the orders and positions of its own scope (mode, broker, account): the others are kept
apart and shown as orphaned.
"""

from __future__ import annotations

from collections import Counter, deque
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from autosig.events.record import Event
from autosig.projections._order_book import (
    WORKING,
    Book,
    OrderState,
    Scope,
    contract_data,
    contract_from,
)
from autosig.schema import (
    EXECUTION_PAUSED,
    EXECUTION_RESUMED,
    EXECUTOR_STARTED,
    EXECUTOR_STOPPED,
    ORDER_CANCEL_REQUESTED,
    ORDER_FAILED,
    ORDER_PLANNED,
    ORDER_SKIPPED,
    ORDER_SUBMITTED,
    ORDER_UNKNOWN,
    ORDER_UPDATED,
    POSITION_EXPIRED,
    POSITION_RECONCILED,
)
from autosig.times import to_utc

NEW_YORK = ZoneInfo("America/New_York")
# Decisions kept for display (newest first); decisions whose orders are still working are kept whatever their age.
SHOWN_DECISIONS = 500
SHOWN_RECONCILIATIONS = 100
CAPS = ("max_open_positions", "max_trades_per_day", "max_daily_usd", "max_daily_loss_usd")
MAYBE_HELD = frozenset({"unverified", "id_collision"})  # failures after which the order may exist at the broker

__all__ = ["CAPS", "OrderState", "OrdersProjection", "contract_data", "contract_from", "new_york_day"]


def new_york_day(ts: str | float | datetime) -> str:
    """The New York calendar day of a time (caps and daily P&L count by it)."""
    when = ts if isinstance(ts, datetime) else to_utc(ts) or datetime.fromtimestamp(0, UTC)
    return when.astimezone(NEW_YORK).date().isoformat()


class _Day:
    """One scope's entries on one New York day, for the caps."""

    __slots__ = ("trades", "usd", "coids")

    def __init__(self) -> None:
        self.trades = 0
        self.usd = Decimal(0)
        self.coids: set[str] = set()


class OrdersProjection:
    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []  # every executor.started, with seq and ts
        self.stopped: dict[str, Any] | None = None  # the latest executor.stopped after the latest start
        self.control: dict[str, Any] = {"paused": False, "by": None, "reason": None, "at": None,
                                        "cancel_entries": False, "seq": 0}  # fmt: skip
        self.decided: set[str] = set()  # "<channel>:<source_id>" of every decided message
        self.decisions: dict[str, dict[str, Any]] = {}  # order key -> entry (the shown and the working ones)
        self._shown: deque[str] = deque()  # keys, oldest first
        self.orders: dict[str, OrderState] = {}  # client order id -> state (working ones, and those shown)
        self.books: dict[Scope, Book] = {}
        self.days: dict[tuple[Scope, str], _Day] = {}
        self.reconciled: deque[dict[str, Any]] = deque(maxlen=SHOWN_RECONCILIATIONS)
        self.outcomes: Counter[str] = Counter()
        # the analyst's open quantity per (scope, contract), as their alerts state it (None: a size was not stated)
        self.analyst: dict[tuple[Scope, Any], Decimal | None] = {}
        self.last_seq = 0
        self.last_decision_at: str | None = None

    # --- applying ------------------------------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        handler = self._handlers.get(event.type)
        if handler is not None:
            try:
                handler(self, event, data)
            except (KeyError, TypeError, ValueError, ArithmeticError):
                self.outcomes["unreadable"] += 1  # a damaged body never stops the projection
        if event.type not in _CONTROL_TYPES:
            self.last_seq = event.seq  # of the orders stream (control is a stream of its own)

    def _started(self, event: Event, data: dict[str, Any]) -> None:
        self.starts.append({**data, "seq": event.seq, "at": event.ts})
        self.stopped = None

    def _stopped(self, event: Event, data: dict[str, Any]) -> None:
        self.stopped = {**data, "seq": event.seq, "at": event.ts}

    def _control(self, event: Event, data: dict[str, Any]) -> None:
        paused = event.type == EXECUTION_PAUSED
        self.control = {"paused": paused, "by": data.get("by"), "reason": data.get("reason"), "at": event.ts,
                        "cancel_entries": bool(data.get("cancel_entries")) and paused, "seq": event.seq}  # fmt: skip

    def _decision(self, event: Event, data: dict[str, Any]) -> None:
        self.decided.add(f"{data['channel']}:{data['source_id']}")
        planned = event.type == ORDER_PLANNED
        entry = {
            "seq": event.seq,
            "decision": "planned" if planned else "skipped",
            "at": event.ts,
            **{k: data.get(k) for k in _DECISION_FIELDS},
            "reason": None if planned else data.get("reason"),
            "detail": data.get("detail"),
            "status": None,
            "filled_quantity": 0.0 if planned else None,
            "average_fill_price": None,
        }
        self.last_decision_at = event.ts
        self.outcomes["planned" if planned else "skipped"] += 1
        if not planned:
            self.outcomes[f"skipped:{data.get('reason')}"] += 1
            self._show(event.key or f"seq:{event.seq}", entry)
            return
        scope: Scope = (data["mode"], data["broker"], data.get("account"))
        contract = contract_from(data.get("contract_key"))
        pieces = data.get("pieces") or [{"client_order_id": data["client_order_id"], "quantity": data["quantity"]}]
        day = new_york_day(event.ts)
        for piece in pieces:
            order = OrderState(
                client_order_id=piece["client_order_id"],
                key=event.key or "",
                scope=scope,
                effect=data.get("effect") or "entry",
                contract=contract,
                direction=int(data.get("direction") or 1),
                quantity=int(piece["quantity"]),
                limit_price=data.get("limit_price"),
                planned_seq=event.seq,
                planned_at=event.ts,
                legs=list(data.get("legs") or []),
                instrument=data.get("instrument") or "option",
                price_effect=data.get("price_effect"),
                underlying=data.get("underlying"),
                created_at=data.get("created_at"),
            )
            self.orders[order.client_order_id] = order
            if order.effect == "entry":
                d = self.days.setdefault((scope, day), _Day())
                d.trades += 1
                d.usd += Decimal(str(data.get("cost") or 0))
                d.coids.add(order.client_order_id)
            if scope[0] == "dry_run":
                # Final at once, and followed as if filled at its limit: dry run holds what it would have bought.
                order.status = "dry_run"
                if order.limit_price is not None:
                    self._fill(order, order.quantity, float(order.limit_price), event.ts, data.get("contract"))
        self._follow_analyst(scope, contract, data.get("action"), data.get("alert_quantity"))
        entry["status"] = "dry_run" if scope[0] == "dry_run" else "planned"
        self._show(event.key or f"seq:{event.seq}", entry)

    def _follow_analyst(self, scope: Scope, contract: Any, action: Any, quantity: Any) -> None:
        """What the analyst holds of a contract by their own alerts: opens and adds add, trims take away."""
        key = (scope, contract)
        stated = Decimal(str(quantity)) if isinstance(quantity, int | float) and quantity > 0 else None
        if action == "open":
            self.analyst[key] = stated
        elif action == "add":
            before = self.analyst.get(key)
            self.analyst[key] = None if before is None or stated is None else before + stated
        elif action == "trim":
            before = self.analyst.get(key)
            self.analyst[key] = None if before is None or stated is None else max(Decimal(0), before - stated)
        elif action == "close":
            self.analyst.pop(key, None)

    def _show(self, key: str, entry: dict[str, Any]) -> None:
        if key not in self.decisions:
            self._shown.append(key)
        self.decisions[key] = entry
        while len(self._shown) > SHOWN_DECISIONS:
            old = self._shown.popleft()
            if any(o.key == old and not o.final for o in self._orders_of(old)):
                self._shown.append(old)  # still working: keep it
                break
            self.decisions.pop(old, None)
            for o in list(self._orders_of(old)):
                del self.orders[o.client_order_id]

    def _orders_of(self, key: str) -> list[OrderState]:
        return [o for o in self.orders.values() if o.key == key]

    def _order_event(self, event: Event, data: dict[str, Any]) -> None:
        order = self.orders.get(data.get("client_order_id"))
        if order is None:
            return  # an order whose decision is no longer kept (final long ago)
        t = event.type
        if t == ORDER_SUBMITTED:
            order.broker_order_id = data.get("broker_order_id")
            order.submitted_at = order.submitted_at or event.ts
            self.outcomes["submitted"] += 1
            if not order.final:
                # what became of it (filled at once, say) comes in the order.updated that follows
                order.status = "partially_filled" if data.get("status") == "partially_filled" else "accepted"
        elif t == ORDER_UPDATED:
            self._updated(order, event, data)
        elif t == ORDER_CANCEL_REQUESTED:
            order.cancel_requested = data.get("reason")
        elif t == ORDER_UNKNOWN:
            order.unknown_attempts += 1
            order.detail = data.get("detail")
            self.outcomes["unknown"] += 1
            if order.status == "planned":
                order.status = "unknown"
        elif t == ORDER_FAILED:
            order.status, order.failure, order.detail = "failed", data.get("reason"), data.get("detail")
            self.outcomes[f"failed:{data.get('reason')}"] += 1
        order.updated_at = event.ts
        self._sync(order)
        if t in (ORDER_UPDATED, ORDER_FAILED):
            self._unfilled(order)

    def _updated(self, order: OrderState, event: Event, data: dict[str, Any]) -> None:
        status = data.get("status") or order.status
        filled = float(data.get("filled_quantity") or 0.0)
        average = data.get("average_fill_price")
        if filled > order.filled_quantity and average is not None:
            # what the added units cost, from the cumulative averages
            before = Decimal(str(order.average_fill_price or 0)) * Decimal(str(order.filled_quantity))
            added = Decimal(str(filled)) - Decimal(str(order.filled_quantity))
            price = (Decimal(str(average)) * Decimal(str(filled)) - before) / added
            order.fills.append({"quantity": float(added), "price": float(price), "at": event.ts})
            self._fill(order, float(added), float(price), event.ts, self._label(order))
            order.filled_quantity, order.average_fill_price = filled, float(average)
            self.outcomes["filled" if status == "filled" else "partially_filled"] += 1
        if status in ("canceled", "expired", "rejected") and status != order.status:
            self.outcomes[status] += 1
        order.status = status

    def _label(self, order: OrderState) -> str | None:
        entry = self.decisions.get(order.key)
        return entry.get("contract") if entry else None

    def _fill(self, order: OrderState, quantity: float, price: float, at: str, label: str | None) -> None:
        book = self.books.setdefault(order.scope, Book())
        name = label or (order.contract.label if order.contract else "?")
        book.fill(order, quantity, price, at, new_york_day(at), name)

    def _sync(self, order: OrderState) -> None:
        """The decision entry shows its (first) order's state."""
        entry = self.decisions.get(order.key)
        if entry is None or entry.get("client_order_id") not in (order.client_order_id, None):
            return
        entry.update(status=order.status, filled_quantity=order.filled_quantity,
                     average_fill_price=order.average_fill_price, broker_order_id=order.broker_order_id,
                     failure=order.failure, order_detail=order.detail, fills=list(order.fills),
                     submitted_at=order.submitted_at, updated_at=order.updated_at)  # fmt: skip

    def _unfilled(self, order: OrderState) -> None:
        if order.final and order.effect == "entry" and order.filled_quantity == 0 and order.failure not in MAYBE_HELD:
            # an entry that never filled does not count against the day's trades or dollars; one whose outcome could
            # not be verified might still be at the broker, so it keeps counting
            d = self.days.get((order.scope, new_york_day(order.planned_at)))
            if d is not None and order.client_order_id in d.coids:
                d.coids.discard(order.client_order_id)
                d.trades -= 1
                cost = Decimal(str(order.quantity)) * Decimal(str(order.limit_price or 0))
                d.usd -= cost * (order.contract.multiplier if order.contract else 1)

    def _position_event(self, event: Event, data: dict[str, Any]) -> None:
        scope: Scope = (data.get("mode"), data.get("broker"), data.get("account"))
        contract = contract_from(data.get("contract_key"))
        book = self.books.setdefault(scope, Book())
        if event.type == POSITION_EXPIRED:
            if contract is not None:
                book.expire(contract, float(data.get("price") or 0.0), new_york_day(event.ts))
            self.outcomes["expired"] += 1
            return
        self.reconciled.appendleft({**data, "seq": event.seq, "at": event.ts})
        self.outcomes["reconciled"] += 1
        holding = book.holdings.get(contract) if contract is not None else None
        if holding is not None:
            holding.broker_quantity = data.get("brokers")

    # --- reads ---------------------------------------------------------------------------------------------------

    def executor(self) -> dict[str, Any] | None:
        """The latest executor.started, with whether it still runs."""
        if not self.starts:
            return None
        latest = self.starts[-1]
        return {**latest, "running": self.stopped is None, "started_at": latest["at"],
                "stopped_at": self.stopped["at"] if self.stopped else None}  # fmt: skip

    def scope(self) -> Scope | None:
        """The current executor's (mode, broker, account)."""
        latest = self.starts[-1] if self.starts else None
        return (latest.get("mode"), latest.get("broker"), latest.get("account")) if latest else None

    def paused(self) -> dict[str, Any]:
        return dict(self.control)

    def is_decided(self, channel: str, source_id: str) -> bool:
        return f"{channel}:{source_id}" in self.decided

    def decisions_view(self, limit: int = 50, status: str | None = None, after_seq: int = 0) -> list[dict[str, Any]]:
        """Decisions newest first; `status` filters by decision ("planned", "skipped") or order status."""
        out = []
        for key in reversed(self._shown):
            entry = self.decisions[key]
            if entry["seq"] <= after_seq:
                continue
            if status and status not in (entry["decision"], entry.get("status")):
                continue
            out.append(dict(entry))
            if len(out) >= limit:
                break
        return out

    def working(self, scope: Scope | None = None) -> list[OrderState]:
        """Orders not yet final (sent or not), oldest first."""
        scope = scope or self.scope()
        return sorted((o for o in self.orders.values() if o.status in WORKING and o.scope == scope),
                      key=lambda o: o.planned_seq)  # fmt: skip

    def holdings(self, scope: Scope | None = None) -> dict[Any, Any]:
        """contract -> Holding of AutoSig's own open positions in a scope (default: the current executor's)."""
        scope = scope or self.scope()
        book = self.books.get(scope) if scope else None
        return dict(book.holdings) if book else {}

    def positions(self, scope: Scope | None = None) -> list[dict[str, Any]]:
        return [h.view() for h in self.holdings(scope).values()]

    def orphaned(self) -> list[dict[str, Any]]:
        """Positions of other scopes (an earlier paper account, dry run before paper): shown, never touched."""
        current = self.scope()
        return [{**h.view(), "scope": list(s)} for s, b in self.books.items() if s != current
                for h in b.holdings.values()]  # fmt: skip

    def available(self, contract: Any, scope: Scope | None = None) -> int:
        """What an exit may sell of a contract: AutoSig's filled holding less its working exits, and never more
        than the broker reported at the last reconciliation that found a difference."""
        holding = self.holdings(scope).get(contract)
        if holding is None:
            return 0
        working = sum(o.remaining for o in self.working(scope) if o.effect == "exit" and o.contract == contract)
        free = holding.position.quantity - int(working)
        if holding.broker_quantity is not None:
            free = min(free, int(holding.broker_quantity))
        return max(0, free)

    def entering(self, contract: Any, scope: Scope | None = None) -> bool:
        """Whether AutoSig holds the contract or has an entry of it working."""
        held = self.holdings(scope).get(contract)
        return (held is not None and held.position.quantity > 0) or any(
            o.effect == "entry" and o.contract == contract for o in self.working(scope)
        )

    def analyst_open(self, contract: Any, scope: Scope | None = None) -> float | None:
        """The analyst's open quantity of a contract as their alerts stated it; None when a size was not stated."""
        value = self.analyst.get((scope or self.scope(), contract))
        return None if value is None else float(value)

    def realized(self, now: float | str, scope: Scope | None = None) -> dict[str, float]:
        scope = scope or self.scope()
        book = self.books.get(scope) if scope else None
        if book is None:
            return {"total": 0.0, "today": 0.0}
        return {"total": float(book.realized_total), "today": float(book.realized_by_day.get(new_york_day(now), 0))}

    def caps(self, now: float | str, limits: dict[str, float] | None = None, scope: Scope | None = None) -> dict:
        """Today's use of each cap, beside its limit (from the executor's start unless given)."""
        scope = scope or self.scope()
        latest = self.starts[-1] if self.starts else {}
        limits = limits or latest.get("limits") or {}
        day = self.days.get((scope, new_york_day(now))) if scope else None
        open_contracts = set(self.holdings(scope)) | {o.contract for o in self.working(scope) if o.effect == "entry"}
        realized_today = self.realized(now, scope)["today"]
        used = {
            "max_open_positions": len(open_contracts),
            "max_trades_per_day": day.trades if day else 0,
            "max_daily_usd": float(day.usd) if day else 0.0,
            "max_daily_loss_usd": max(0.0, -realized_today),
        }
        return {name: {"used": used[name], "limit": limits.get(name)} for name in CAPS}

    def counts(self) -> dict[str, int]:
        return dict(self.outcomes)

    def reconciliations(self) -> list[dict[str, Any]]:
        return list(self.reconciled)

    _handlers = {
        EXECUTOR_STARTED: _started,
        EXECUTOR_STOPPED: _stopped,
        EXECUTION_PAUSED: _control,
        EXECUTION_RESUMED: _control,
        ORDER_PLANNED: _decision,
        ORDER_SKIPPED: _decision,
        ORDER_SUBMITTED: _order_event,
        ORDER_UPDATED: _order_event,
        ORDER_CANCEL_REQUESTED: _order_event,
        ORDER_UNKNOWN: _order_event,
        ORDER_FAILED: _order_event,
        POSITION_RECONCILED: _position_event,
        POSITION_EXPIRED: _position_event,
    }


_CONTROL_TYPES = frozenset({EXECUTION_PAUSED, EXECUTION_RESUMED})
# What every decision entry carries from its event (the fields /api/orders shows, and what the page needs).
_DECISION_FIELDS = (
    "raw_seq", "parsed_seq", "channel", "source_id", "signal_index", "client_order_id", "quantity", "limit_price",
    "action", "effect", "contract", "ticker", "instrument", "mode", "broker", "account", "legs", "sizing", "checks",
    "created_at", "exit_missed",
)  # fmt: skip
