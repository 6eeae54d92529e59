"""Sending an order at most once, and knowing what became of it: the executor's protocol with the broker.

1. The plan is appended and fsynced before anything is sent; its client order id is derived from the store and the
   message, so a restarted executor sends the same id. Nothing below retries an order POST.
2. 2xx: `order.submitted`. 429: wait as told and send again (the broker did not take it). A timeout, reset or 5xx:
   `order.unknown`, then reconcile. Another 4xx: one lookup confirms it before `order.failed refused`; Alpaca's
   "client_order_id must be unique" means the order exists: reconcile.
3. Reconcile = look the order up by client order id. Found: `order.submitted` (or `order.failed id_collision` when it
   is not the order planned). Absent at Alpaca (which refuses a repeated id): send again while the alert is fresh,
   else `order.failed expired_unsent`. Absent at Tradier (tags are not unique; lists cover the session): look again
   at least 5 s later; still absent: `order.failed unverified`, never sent again.
4. Open orders are read every 2 s (every 0.1 s in the first 10 s after a submit, when fills come); every change is
   an `order.updated`; a cancel requested before the broker's id was known is sent once it is. Before sending,
   resending or cancelling, the executor confirms it still holds its lease with at least twice the broker's timeout
   left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from autosig.brokers.base import Broker, Order, OrderRequest
from autosig.brokers.base import Leg as OrderLeg
from autosig.brokers.errors import (
    AuthRefused,
    BrokerError,
    DuplicateClientOrderId,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Refused,
)
from autosig.clock import Clock
from autosig.events import Event
from autosig.projections.orders import OrdersProjection, OrderState
from autosig.schema import (
    Draft,
    order_cancel_requested,
    order_failed,
    order_submitted,
    order_unknown,
    order_updated,
)

log = logging.getLogger("autosig.execute")

RATE_LIMIT_DEFAULT_S = 1.0
RATE_LIMIT_MAX_S = 60.0
TRADIER_SECOND_LOOK_S = 5.0
CANCEL_WAIT_S = 10.0
CANCEL_AGAIN_S = 10.0  # a cancel the broker has not acted on is asked again this often
MAX_SENDS = 5  # sends of one client order id at most (each after the broker said it has none)


class LeaseLost(Exception):
    """The executor could not confirm its lease: nothing more may reach the broker from this process."""


def request_of(order: OrderState) -> OrderRequest:
    """The request a planned order sends, rebuilt from the plan (the same after a restart)."""
    legs = tuple(OrderLeg(leg["symbol"], leg["side"], leg.get("position_intent"), int(leg.get("ratio") or 1))
                 for leg in order.legs)  # fmt: skip
    return OrderRequest(
        client_order_id=order.client_order_id,
        instrument=order.instrument,
        legs=legs,
        quantity=order.quantity,
        limit_price=Decimal(str(order.limit_price)),
        time_in_force="day",
        price_effect=order.price_effect,
        underlying=order.underlying,
    )


class OrderDesk:
    """The protocol above, for one executor: `emit` appends drafts to `orders` (and applies them to `book`)."""

    def __init__(
        self,
        broker: Broker,
        book: OrdersProjection,
        emit: Callable[[list[Draft]], list[Event]],
        *,
        clock: Clock,
        stop: threading.Event,
        fence: Callable[[], None],
        paused: Callable[[], bool],
        fresh: Callable[[OrderState], bool],
    ) -> None:
        self.broker = broker
        self.book = book
        self.emit = emit
        self.clock = clock
        self.stop = stop
        self.fence = fence
        self.paused = paused
        self.fresh = fresh
        self.tags_unique = broker.name != "tradier"  # Alpaca refuses a repeated client order id; Tradier does not
        self._first_miss: dict[str, float] = {}  # client order id -> when a Tradier lookup first missed it
        self._cancel_asked: dict[str, float] = {}  # client order id -> when its cancel last reached the broker

    # --- sending -------------------------------------------------------------------------------------------------

    def send(self, order: OrderState) -> None:
        """Sends a planned order once (and again only where the protocol says the broker did not take it)."""
        sends = 0
        while not self.stop.is_set():
            self.fence()
            if self.paused():
                self.emit([order_failed(client_order_id=order.client_order_id, reason="paused",
                                        detail="execution was paused before the order was sent")])  # fmt: skip
                return
            sends += 1
            try:
                placed = self.broker.submit(request_of(order))
            except RateLimited as exc:
                wait = min(RATE_LIMIT_MAX_S, exc.retry_after if exc.retry_after is not None else RATE_LIMIT_DEFAULT_S)
                log.warning("the broker is rate-limiting; sending %s again in %.1f s", order.client_order_id, wait)
                if self.clock.sleep(wait, self.stop):
                    return
                continue
            except DuplicateClientOrderId:
                self.reconcile(order, after_send=True)
                return
            except OutcomeUnknown as exc:
                self.emit([order_unknown(client_order_id=order.client_order_id, attempt=order.unknown_attempts + 1,
                                         detail=f"the outcome of the send is unknown: {exc}")])  # fmt: skip
                if self.reconcile(order, after_send=True) == "resend" and sends < MAX_SENDS:
                    continue
                return
            except (Refused, AuthRefused) as exc:
                self._confirm_refusal(order, exc)
                return
            self._submitted(order, placed)
            return

    def _confirm_refusal(self, order: OrderState, exc: BrokerError) -> None:
        """A 4xx is confirmed by one lookup before it is taken for a refusal."""
        try:
            found = self.broker.find(order.client_order_id)
        except BrokerError as lookup:
            self.emit([order_unknown(client_order_id=order.client_order_id, attempt=order.unknown_attempts + 1,
                                     detail=f"refused ({exc}), and the lookup that confirms it failed: {lookup}")])  # fmt: skip
            return
        if found is not None:
            self._found(order, found)
            return
        self.emit([order_failed(client_order_id=order.client_order_id, reason="refused",
                                detail=f"the broker refused the order: {exc}")])  # fmt: skip

    def reconcile_due(self, order: OrderState) -> bool:
        """Whether the timers should look this unconfirmed order up now (a Tradier second look waits 5 s)."""
        first = self._first_miss.get(order.client_order_id)
        return first is None or self.clock.monotonic() - first >= TRADIER_SECOND_LOOK_S

    def reconcile(self, order: OrderState, *, after_send: bool = False) -> str:
        """Looks the order up by client order id. Returns "found", "failed", "resend" (the caller sends again) or
        "later" (the broker could not be read: the order stays unknown and is looked up again)."""
        try:
            found = self.broker.find(order.client_order_id)
        except BrokerError as exc:
            log.warning("order %s could not be looked up: %s (tried again later)", order.client_order_id, exc)
            return "later"
        if found is not None:
            self._found(order, found)
            return "found"
        if not self.tags_unique:
            # Tradier lists one session's orders and accepts repeated tags: absent twice, at least 5 s apart, is
            # unverified. The second look is the timers' (reconcile_due), so no decision waits for it.
            first = self._first_miss.setdefault(order.client_order_id, self.clock.monotonic())
            if self.clock.monotonic() - first < TRADIER_SECOND_LOOK_S:
                return "later"
            self._first_miss.pop(order.client_order_id, None)
            self.emit([order_failed(client_order_id=order.client_order_id, reason="unverified",
                                    detail="the broker lists no order with this tag after two looks 5 s apart; "
                                    "it is never sent again (check the account)")])  # fmt: skip
            return "failed"
        if self.fresh(order) and not self.paused():
            if not after_send:
                self.send(order)
            return "resend"
        self.emit([order_failed(client_order_id=order.client_order_id, reason="expired_unsent",
                                detail="the broker has no such order and the alert is no longer fresh")])  # fmt: skip
        return "failed"

    def _found(self, order: OrderState, found: Order) -> None:
        self._first_miss.pop(order.client_order_id, None)
        mismatch = _mismatch(order, found)
        if mismatch:
            self.emit([order_failed(client_order_id=order.client_order_id, reason="id_collision",
                                    detail=f"the broker's order with this id is not the one planned: {mismatch}")])  # fmt: skip
            return
        self._submitted(order, found)

    def _submitted(self, order: OrderState, placed: Order) -> None:
        drafts = [order_submitted(client_order_id=order.client_order_id, broker_order_id=placed.broker_order_id,
                                  status=placed.status, response=dict(placed.response))]  # fmt: skip
        if placed.filled_quantity > 0 or placed.final:
            drafts.append(_updated(order, placed))
        self.emit(drafts)
        if order.cancel_requested is not None and not order.final:
            # cancelled (an exit, a timeout, a pause, an edit) while its outcome was unknown: the cancel that could
            # not be sent then is sent now that the broker's id is known
            self._ask_cancel(order)

    # --- following ------------------------------------------------------------------------------------------------

    def poll(self, orders: list[OrderState]) -> None:
        """Reads each sent, working order and records every change of status or filled quantity."""
        for order in orders:
            if self.stop.is_set():
                return
            if order.broker_order_id is None:
                continue
            try:
                now = self.broker.get_order(order.broker_order_id)
            except NotFound:
                log.error("the broker no longer knows order %s (%s)", order.broker_order_id, order.client_order_id)
                continue
            except BrokerError as exc:
                log.warning("order %s could not be read: %s", order.client_order_id, exc)
                continue
            if now.status != order.status or float(now.filled_quantity) != order.filled_quantity:
                self.emit([_updated(order, now)])
            if order.cancel_requested is not None and not order.final:
                self._ask_cancel(order, again_after=CANCEL_AGAIN_S)

    def cancel(self, order: OrderState, reason: str) -> None:
        """Asks the broker to cancel (recorded first, once); the next poll records the final status."""
        self.fence()
        if order.cancel_requested is None:
            self.emit([order_cancel_requested(client_order_id=order.client_order_id, reason=reason)])
        if order.broker_order_id is None:
            return  # sent when the order is found (see _submitted)
        self._ask_cancel(order)

    def _ask_cancel(self, order: OrderState, again_after: float = 0.0) -> None:
        asked = self._cancel_asked.get(order.client_order_id)
        if asked is not None and self.clock.monotonic() - asked < again_after:
            return
        self.fence()
        self._cancel_asked[order.client_order_id] = self.clock.monotonic()
        try:
            self.broker.cancel(order.broker_order_id or "")
        except NotFound:
            log.error("cancel: the broker does not know order %s", order.client_order_id)
        except BrokerError as exc:
            log.warning("cancel of %s failed: %s (asked again on a later check)", order.client_order_id, exc)

    def cancel_and_wait(self, orders: list[OrderState], reason: str, seconds: float = CANCEL_WAIT_S) -> None:
        """Cancels, then reads them until final or `seconds` passed (an exit waits for the position's working
        orders before it sizes itself)."""
        for order in orders:
            self.cancel(order, reason)
        deadline = self.clock.monotonic() + seconds
        while any(not o.final for o in orders) and self.clock.monotonic() < deadline:
            self.poll([o for o in orders if not o.final])
            if all(o.final for o in orders) or self.clock.sleep(0.25, self.stop):
                return


def _updated(order: OrderState, now: Order) -> Draft:
    return order_updated(
        client_order_id=order.client_order_id,
        status=now.status,
        filled_quantity=float(now.filled_quantity),
        average_fill_price=None if now.average_fill_price is None else float(now.average_fill_price),
        response=dict(now.response),
    )


def _mismatch(order: OrderState, found: Order) -> str | None:
    """What differs between the plan and the broker's order with its id (symbol, side, quantity, limit)."""
    planned = sorted((leg["symbol"], leg["side"]) for leg in order.legs)
    theirs = sorted((leg.symbol, leg.side) for leg in found.legs)
    if theirs and planned != theirs:
        return f"legs {theirs} against {planned}"
    if found.quantity is not None and Decimal(str(found.quantity)) != Decimal(order.quantity):
        return f"quantity {found.quantity} against {order.quantity}"
    if found.limit_price is not None and order.limit_price is not None:
        if abs(Decimal(str(found.limit_price)) - Decimal(str(order.limit_price))) > Decimal("0.0001"):
            return f"limit {found.limit_price} against {order.limit_price}"
    return None


def piece_ids(client_order_id: str, pieces: list[int]) -> list[dict[str, Any]]:
    """One client order id per piece of an exit: the decision's id, then -2, -3, ..."""
    return [{"client_order_id": client_order_id if i == 0 else f"{client_order_id}-{i + 1}", "quantity": q}
            for i, q in enumerate(pieces)]  # fmt: skip
