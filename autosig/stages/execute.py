"""The execute stage: fresh signals in `parsed`, decisions and orders out in `orders` (docs/ARCHITECTURE.md).

It considers the parses appended after `from_parsed_seq` of its first start (it never decides history), by the
active parser version, of kind `signal`. A message is decided once: every signal of its first considered parse gets an
`order.planned` or `order.skipped` in one append, keyed order:<channel>:<source_id>:<i>, and that key ends
consideration of the message for good. Planned orders are sent after their plan is durable (see _execute_orders);
timers follow open orders, cancel entries that did not fill in time, compare AutoSig's positions with the broker's
and retire expired options.

    stage = ExecuteStage(store, settings, broker, clock=clock, stop=stop, holder=...)
    stage.start()                          # under the executor lease: executor.started, reconciliation
    StageRunner(store, stage).follow(stop)
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from autosig.brokers.base import Broker
from autosig.brokers.errors import BrokerError
from autosig.clock import Clock
from autosig.config import Settings
from autosig.events import Event, EventStore
from autosig.projections.orders import OrdersProjection, OrderState, contract_data, contract_from, new_york_day
from autosig.schema import (
    ALERT_EDITED,
    CONTROL,
    ORDER_PLANNED,
    ORDER_SUBMITTED,
    ORDERS,
    PARSED,
    POLL_COMPLETED,
    RAW,
    WORKER,
    WORKER_STARTED,
    Draft,
    client_order_id,
    executor_started,
    executor_stopped,
    order_planned,
    order_skipped,
    payload_of,
    position_expired,
    position_reconciled,
)
from autosig.stages._execute_expiring import CHANNEL as EXPIRING_CHANNEL
from autosig.stages._execute_expiring import due_closes
from autosig.stages._execute_gates import Alert, Context, Plan, Skip, decide, held_position
from autosig.stages._execute_market import BrokerMarket, CalendarMarket, expired_by
from autosig.stages._execute_orders import LeaseLost, OrderDesk, piece_ids
from autosig.stages.runner import Stage
from autosig.times import to_utc
from autosig.trading import read_contract

log = logging.getLogger("autosig.execute")
LEASE = "executor"
POLL_ORDERS_S = 2.0
FAST_POLL_S = 0.1  # open orders are read this often for the first FAST_POLL_FOR_S after their submit
FAST_POLL_FOR_S = 10.0
RECONCILE_EVERY_S = 300.0
_STALE_CONTROL_READ_S = 1.0
RAW_READ_AHEAD = 256


class ExecuteStage(Stage):
    name = "execute"
    input = PARSED
    output = ORDERS
    reads = (RAW, WORKER, CONTROL, ORDERS)
    tick_seconds = 0.1

    def __init__(
        self,
        store: EventStore,
        settings: Settings,
        broker: Broker | None,
        *,
        clock: Clock,
        stop: threading.Event,
        holder: str | None = None,
        account: str | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.x = settings.execution
        self.broker = broker
        self.clock = clock
        self.stop = stop
        self.holder = holder or f"executor pid {os.getpid()} on {socket.gethostname()}"
        self.account = account
        self.scope = (self.x.mode, self.x.broker, account[-4:] if account else None)
        self.book = OrdersProjection()
        self.market = BrokerMarket(broker, clock) if broker is not None else CalendarMarket()
        self.desk = (
            OrderDesk(broker, self.book, self.emit, clock=clock, stop=stop, fence=self.fence,
                      paused=lambda: bool(self._control()["paused"]), fresh=self._fresh)  # fmt: skip
            if broker is not None and self.x.sends
            else None
        )
        self.version = settings.parser_version or ""
        self.from_parsed_seq = 0
        self._control_seq = 0
        self._control_read_at = float("-inf")
        self._raw_ahead: deque[Event] = deque()
        self._worker_seq = 0
        self._last_success: float | None = None
        self._stale_after = settings.stale_after_seconds
        self._next_poll = 0.0
        self._next_reconcile = 0.0
        self._pending: dict[str, Event] = {}  # settling messages (AUTOSIG_SETTLE_SECONDS), by message
        self._store_id: str | None = None

    # --- start ---------------------------------------------------------------------------------------------------

    def start(self, version: str) -> None:
        """Under the lease: reads what it did (the orders stream), says it started, and reconciles every order and
        position of its own before any new decision."""
        self.version = version
        for ev in self.store.read(ORDERS, on_problem=lambda problem: None):
            self.book.apply(ev)
        self._control(at_start=True)
        self._read_worker()
        firsts = [s for s in self.book.starts if isinstance(s.get("from_parsed_seq"), int)]
        self.from_parsed_seq = firsts[0]["from_parsed_seq"] if firsts else self.store.last_seq(PARSED)
        self.emit([executor_started(
            mode=self.x.mode, broker=self.x.broker, account=self.account, parser_version=self.version,
            from_parsed_seq=self.from_parsed_seq, host=socket.gethostname(), pid=os.getpid(),
            limits=self.x.limits(), size=self.x.size, live=self.x.mode == "live",
        )])  # fmt: skip
        if self.x.mode == "live":
            log.warning("LIVE TRADING: real money, %s account ...%s", self.x.broker, (self.account or "")[-4:])
        if self.desk is not None:
            for order in self.book.working(self.scope):
                if order.status in ("planned", "unknown"):
                    self.desk.reconcile(order)
            self.desk.poll(self.book.working(self.scope))
            self.reconcile_positions()

    def stopped(self, reason: str) -> None:
        try:
            self.emit([executor_stopped(reason)])
        except Exception as exc:  # noqa: BLE001 - a stopping executor must not hang on a dead store
            log.warning("could not record executor.stopped: %s", exc)

    def recover(self, store: EventStore) -> int:
        return self.from_parsed_seq

    def output_key(self, event: Event) -> str | None:
        return None  # keyed per signal: order:<channel>:<source_id>:<i>

    # --- the lease and the record --------------------------------------------------------------------------------

    def fence(self) -> None:
        """Confirms the lease with at least twice the broker's timeout left (renewing it), else stops sending."""
        need = 2 * self.x.broker_timeout_seconds
        if self.store.lease_seconds_left(LEASE) >= need:
            return
        holder = self.store.try_acquire_lease(LEASE, self.holder, self.settings.lease_seconds)
        if holder is not None or self.store.lease_seconds_left(LEASE) < need:
            raise LeaseLost(f"the executor lease is not ours with {need:g} s to spare (holder: {holder})")

    def emit(self, drafts: list[Draft]) -> list[Event]:
        """Appends to `orders` now (durable before anything is sent) and applies it to the book."""
        events = self.store.append_many(ORDERS, drafts)
        for ev in events:
            self._record(ev)
        return events

    def _record(self, ev: Event) -> None:
        if ev.seq <= self.book.last_seq:
            return
        self.book.apply(ev)
        if ev.type == ORDER_SUBMITTED:  # its fill comes soon: the next look at open orders is brought forward
            self._next_poll = min(self._next_poll, self.clock.monotonic() + FAST_POLL_S)
        if self.x.mode == "live":
            log.warning("LIVE %s: %s", ev.type, {k: ev.data.get(k) for k in ("client_order_id", "status", "reason",
                        "quantity", "limit_price", "filled_quantity", "average_fill_price") if k in ev.data})  # fmt: skip

    def appended(self, events: list[Event]) -> Sequence[Draft]:
        for ev in events:
            self._record(ev)
        if self.desk is None:
            return ()
        for ev in events:
            if ev.type != ORDER_PLANNED:
                continue
            for piece in ev.data.get("pieces") or []:
                order = self.book.orders.get(piece["client_order_id"])
                if order is not None and order.status == "planned":
                    self.desk.send(order)
        return ()

    # --- reading the other streams, at decision time -------------------------------------------------------------

    def _control(self, at_start: bool = False) -> dict[str, Any]:
        """Reads new pause switches. A pause that asks to cancel working entries is acted on when it is read, or, at
        start (which replays the whole stream), when it is the pause in force: one that a resume has ended since is
        history (a restart must not cancel entries made after it), one still in force may have been missed by a
        crash."""
        asked = False
        for ev in self.store.read(CONTROL, after=self._control_seq, on_problem=lambda problem: None):
            self._control_seq = ev.seq
            self.book.apply(ev)
            asked = asked or bool(ev.data.get("cancel_entries"))
        paused = self.book.paused()
        if at_start:
            asked = bool(paused["paused"] and paused["cancel_entries"])
        if asked and self.desk is not None:
            for order in self.book.working(self.scope):
                if order.effect == "entry":
                    self.desk.cancel(order, "paused")
        return paused

    def _control_for(self, alert: Alert, now: datetime) -> dict[str, Any]:
        """The pause state for a decision: read fresh for every alert that could trade. An alert too old to trade is
        skipped whatever it says; for it a read of the last second will do (a restart's backlog of stale alerts is
        decided at thousands a second), at worst naming stale_alert where a pause of that second would say paused."""
        created = alert.created_at
        stale = created is None or (now - created).total_seconds() > self.x.max_alert_age_seconds
        if stale and self.clock.monotonic() - self._control_read_at < _STALE_CONTROL_READ_S:
            return self.book.paused()
        self._control_read_at = self.clock.monotonic()
        return self._control()

    def _read_worker(self) -> None:
        for ev in self.store.read(WORKER, after=self._worker_seq, on_problem=lambda problem: None):
            self._worker_seq = ev.seq
            data = ev.data if isinstance(ev.data, dict) else {}
            if ev.type == WORKER_STARTED:
                self._stale_after = float(data.get("stale_after_seconds") or self._stale_after)
                if data.get("parser_version"):
                    self.version = str(data["parser_version"])
            elif ev.type == POLL_COMPLETED:
                at = to_utc(ev.ts)
                self._last_success = at.timestamp() if at else None

    def _ingestion_stale(self) -> bool:
        self._read_worker()
        return self._last_success is None or self.clock.time() - self._last_success > self._stale_after

    def _fresh(self, order: OrderState) -> bool:
        created = to_utc(order.created_at)
        return created is not None and self.clock.time() - created.timestamp() <= self.x.max_alert_age_seconds

    # --- deciding ------------------------------------------------------------------------------------------------

    def handle(self, event: Event) -> Sequence[Draft]:
        data = event.data if isinstance(event.data, dict) else {}
        if data.get("kind") != "signal" or str(data.get("parser_version")) != self.version:
            return ()
        raw = self._raw(int(data.get("raw_seq") or 0))
        if raw is None or not isinstance(raw.data, dict):
            return ()
        channel, source_id = str(raw.data.get("channel") or ""), str(raw.data.get("source_id") or "")
        if self.book.is_decided(channel, source_id):
            if raw.type == ALERT_EDITED:
                self._edited(channel, source_id, data)
            return ()
        if self.x.settle_seconds > 0 and not self._settled(raw):
            self._pending[f"{channel}:{source_id}"] = event
            return ()
        return self._decide(event, raw, channel, source_id)

    def _raw(self, seq: int) -> Event | None:
        """A parse's raw event. Parses come in raw order, so reading ahead serves a backlog without a lookup per
        event; anything else is one lookup."""
        ahead = self._raw_ahead
        while ahead and ahead[0].seq < seq:
            ahead.popleft()
        if ahead and ahead[0].seq == seq:
            return ahead.popleft()
        if not ahead and seq > 0:
            chunk = list(self.store.read(RAW, after=seq - 1, limit=RAW_READ_AHEAD, on_problem=lambda problem: None))
            if chunk and chunk[0].seq == seq:
                self._raw_ahead = deque(chunk[1:])
                return chunk[0]
        return self.store.get(RAW, seq)

    def _settled(self, raw: Event) -> bool:
        created = _created_at(raw)
        return created is None or self.clock.time() - created.timestamp() >= self.x.settle_seconds

    def _decide(self, event: Event, raw: Event, channel: str, source_id: str) -> list[Draft]:
        message = _payload(raw)
        alert = Alert(raw.seq, event.seq, channel, source_id, _created_at(raw), _authors(message),
                      message.get("replying_to_message_id"))  # fmt: skip
        return self._emit_decisions(alert, event.data.get("signals") or [],
                                    {"raw_seq": raw.seq, "parsed_seq": event.seq})  # fmt: skip

    def _emit_decisions(self, alert: Alert, signals: list[Any], seqs: dict[str, Any]) -> list[Draft]:
        """One decision per signal of a message. With a plan among them they are appended (and sent) now and []
        is returned; a message of skips only is returned as drafts, for the runner to batch."""
        now = datetime.fromtimestamp(self.clock.time(), UTC)
        ctx = Context(self.x, self.book, self.scope, self.market, now, self._control_for(alert, now),
                      self._ingestion_stale, self.settings.authors, self._replied(alert.channel, alert.refers_to))  # fmt: skip
        if self._store_id is None:
            self._store_id = self.store.store_id() or "store"
        drafts: list[Draft] = []
        for i, signal in enumerate(signals):
            if not isinstance(signal, dict):
                continue
            self._before_exit(signal, ctx)
            try:
                decision = decide(signal, alert, ctx)
            except (BrokerError, ValueError, ArithmeticError) as exc:
                decision = Skip("unsupported", f"could not be decided: {type(exc).__name__}: {exc}")
            base = {**seqs, "channel": alert.channel, "source_id": alert.source_id, "signal_index": i}
            created = alert.created_at.isoformat() if alert.created_at else None
            if isinstance(decision, Skip):
                drafts.append(order_skipped(**base, reason=decision.reason, detail=decision.detail,
                                            action=decision.action, contract=decision.contract,
                                            ticker=decision.ticker, exit_missed=decision.exit_missed,
                                            created_at=created, mode=self.x.mode))  # fmt: skip
                continue
            drafts.append(self._planned(base, decision, created))
        if any(d.type == ORDER_PLANNED for d in drafts) or alert.channel == EXPIRING_CHANNEL:
            # A plan changes what the next decision sees (already_open, caps, what is available) and is sent as soon
            # as it is durable: its message is appended now, whole, rather than batched with a backlog's skips.
            self.appended(self.emit(drafts))
            return []
        return drafts

    def _planned(self, base: dict[str, Any], plan: Plan, created: str | None) -> Draft:
        coid = client_order_id(self._store_id or "store", base["channel"], base["source_id"], base["signal_index"])
        legs = [{"symbol": leg.symbol, "side": leg.side, "position_intent": leg.position_intent, "ratio": leg.ratio}
                for leg in plan.legs]  # fmt: skip
        return order_planned(
            **base, mode=self.x.mode, broker=self.x.broker, account=self.scope[2], client_order_id=coid,
            instrument=plan.instrument, legs=legs, quantity=plan.quantity, limit_price=float(plan.limit_price),
            time_in_force="day", sizing=plan.sizing, checks=plan.checks, action=plan.action, effect=plan.effect,
            contract=plan.contract.label, contract_key=contract_data(plan.contract), ticker=plan.contract.ticker,
            direction=plan.direction, multiplier=plan.contract.multiplier, price_effect=plan.price_effect,
            underlying=plan.underlying, cost=float(plan.cost), created_at=created,
            alert_quantity=plan.sizing.get("alert_quantity"), pieces=piece_ids(coid, plan.pieces),
        )  # fmt: skip

    def _before_exit(self, signal: dict[str, Any], ctx: Context) -> None:
        """An exit first cancels its position's working orders and waits for them (up to 10 s), then learns what the
        broker holds, so that it sizes itself from what is really there."""
        if self.desk is None or signal.get("action") not in ("trim", "close") or ctx.paused.get("paused"):
            return
        held = held_position(ctx, read_contract(signal), str(signal.get("action")))
        if held is None:
            return
        working = [o for o in self.book.working(self.scope) if o.contract == held.position.contract]
        if working:
            self.desk.cancel_and_wait(working, "exit")
        self.reconcile_positions(only=held.position.contract)

    def _replied(self, channel: str, refers_to: Any) -> list[Any]:
        if not refers_to:
            return []
        prefix = f"order:{channel}:{refers_to}:"
        return [c for key, entry in self.book.decisions.items() if key.startswith(prefix)
                and (c := contract_from(entry.get("contract_key"))) is not None]  # fmt: skip

    def _edited(self, channel: str, source_id: str, data: dict[str, Any]) -> None:
        """An edit that changes a decided signal's contract, side or price cancels its working entry; it never
        places an order."""
        if self.desk is None:
            return
        prefix = f"order:{channel}:{source_id}:"
        for order in self.book.working(self.scope):
            if order.key.startswith(prefix) and order.effect == "entry":
                entry = self.book.decisions.get(order.key) or {}
                index = entry.get("signal_index")
                signals = data.get("signals") or []
                now = signals[index] if isinstance(index, int) and index < len(signals) else None
                if now is None or _changed(entry, now):
                    log.warning("alert %s was edited after its entry was placed; cancelling %s", source_id,
                                order.client_order_id)  # fmt: skip
                    self.desk.cancel(order, "edited")

    # --- timers --------------------------------------------------------------------------------------------------

    def tick(self) -> Sequence[Draft]:
        now = self.clock.monotonic()
        if self._pending:
            self._decide_settled()
        if self.desk is None:
            self._expire()
            return ()
        self._control()
        if self.x.close_expiring_at:
            self._close_expiring(self.x.close_expiring_at)
        if now >= self._next_poll:
            self._next_poll = now + self._poll_interval()
            working = self.book.working(self.scope)
            for order in working:
                unconfirmed = order.status in ("planned", "unknown") and order.broker_order_id is None
                if unconfirmed and self.desk.reconcile_due(order):
                    self.desk.reconcile(order)
            self.desk.poll([o for o in self.book.working(self.scope) if o.broker_order_id])
            self._timeouts()
        if now >= self._next_reconcile:
            self._next_reconcile = now + RECONCILE_EVERY_S
            self.reconcile_positions()
        self._expire()
        return ()

    def _close_expiring(self, close_at: str) -> None:
        """Closes the option positions that expire today once it is `close_at` in New York (see _execute_expiring)."""
        now = datetime.fromtimestamp(self.clock.time(), UTC)
        due = [(source_id, signal) for source_id, signal in due_closes(self.book.holdings(self.scope), now, close_at)
               if not self.book.is_decided(EXPIRING_CHANNEL, source_id)]  # fmt: skip
        for source_id, signal in due:
            alert = Alert(0, 0, EXPIRING_CHANNEL, source_id, now, self.settings.authors or frozenset())
            self._emit_decisions(alert, [signal], {"raw_seq": None, "parsed_seq": None})

    def _poll_interval(self) -> float:
        """Fills come in the first seconds after a submit (a marketable limit): read open orders often then, so a
        fill is on the dashboard within a fraction of a second, and every 2 s after."""
        now = self.clock.time()
        for order in self.book.working(self.scope):
            submitted = to_utc(order.submitted_at) if order.submitted_at else None
            if submitted is not None and now - submitted.timestamp() < FAST_POLL_FOR_S:
                return FAST_POLL_S
        return POLL_ORDERS_S

    def _decide_settled(self) -> None:
        for key, event in list(self._pending.items()):
            raw = self.store.get(RAW, int(event.data.get("raw_seq") or 0))
            if raw is None:
                del self._pending[key]
                continue
            if self._settled(raw):
                del self._pending[key]
                channel, _, source_id = key.partition(":")
                if not self.book.is_decided(channel, source_id):
                    self.emit(self._decide(event, raw, channel, source_id))

    def _timeouts(self) -> None:
        limit = self.x.entry_timeout_seconds
        now = self.clock.time()
        for order in self.book.working(self.scope):
            if order.effect != "entry" or order.cancel_requested or order.submitted_at is None:
                continue
            submitted = to_utc(order.submitted_at)
            if submitted is not None and now - submitted.timestamp() > limit:
                log.info("entry %s did not fill within %g s; cancelling", order.client_order_id, limit)
                self.desk.cancel(order, "timeout")  # type: ignore[union-attr]

    def _expire(self) -> None:
        """Options past the close of their expiry date leave AutoSig's positions (at 0)."""
        now = datetime.fromtimestamp(self.clock.time(), UTC)
        for contract, holding in self.book.holdings(self.scope).items():
            if contract.kind == "option" and expired_by(contract.expiry, now):
                day = contract.expiry.isoformat() if contract.expiry else new_york_day(now)
                self.emit([position_expired(contract=holding.label, day=day, quantity=holding.position.quantity,
                                            price=0.0, contract_key=contract_data(contract), mode=self.scope[0],
                                            broker=self.scope[1], account=self.scope[2])])  # fmt: skip

    def reconcile_positions(self, only: Any = None) -> None:
        """Compares AutoSig's positions with the broker's; a shortfall (closed by hand, assigned, exercised) is
        recorded and limits exits. Shares or contracts the account held before AutoSig are never counted as its."""
        if self.broker is None or not self.x.sends:
            return
        holdings = self.book.holdings(self.scope)
        if not holdings:
            return
        try:
            theirs = {p.symbol: p.quantity for p in self.broker.positions()}
        except BrokerError as exc:
            log.warning("the broker's positions could not be read: %s", exc)
            return
        working = {o.contract for o in self.book.working(self.scope)}
        for contract, holding in holdings.items():
            if only is not None and contract != only:
                continue
            if only is None and contract in working:
                continue  # a fill the broker made and AutoSig has not read yet is not a difference
            legs = holding.opening_legs or []
            held = [abs(float(theirs.get(leg["symbol"], 0))) / max(1, int(leg.get("ratio") or 1)) for leg in legs]
            broker_quantity = min(held) if held else 0.0
            ours = holding.position.quantity
            last = holding.broker_quantity
            if last is not None and last < ours <= broker_quantity:
                change = "the broker holds what AutoSig's fills say again: exits are no longer limited"
            elif broker_quantity < ours and broker_quantity != last:
                change = ("the broker holds less than AutoSig's fills (closed by hand, assigned or exercised): exits "
                          "are limited to what it holds")  # fmt: skip
            else:
                continue
            self.emit([position_reconciled(
                n=self.book.outcomes.get("reconciled", 0) + 1, contract=holding.label, ours=ours,
                brokers=broker_quantity, change=change, contract_key=contract_data(contract), mode=self.scope[0],
                broker=self.scope[1], account=self.scope[2],
            )])  # fmt: skip


def _payload(raw: Event) -> dict[str, Any]:
    try:
        message = payload_of(raw.data)
    except (KeyError, TypeError, ValueError):
        return {}
    return message if isinstance(message, dict) else {}


def _created_at(raw: Event) -> datetime | None:
    return to_utc(_payload(raw).get("created_at"))


def _authors(message: dict[str, Any]) -> frozenset[str]:
    user = message.get("user") if isinstance(message.get("user"), dict) else {}
    return frozenset(str(v).lower() for v in (user.get("id"), user.get("username")) if v is not None)


def _changed(entry: dict[str, Any], signal: dict[str, Any]) -> bool:
    """Whether an edited signal names another contract, side or price than the decided one."""
    if contract_from(entry.get("contract_key")) != read_contract(signal):
        return True
    sides_before = sorted(str(leg.get("side")) for leg in entry.get("legs") or [])
    sides_now = sorted(str(leg.get("side")) for leg in signal.get("legs") or [])
    if signal.get("legs") and sides_before != sides_now:
        return True
    price_before = (entry.get("sizing") or {}).get("price")
    price_now = signal.get("price") if signal.get("price") is not None else max(signal.get("price_range") or [0])
    return price_before is not None and bool(price_now) and float(price_now) != float(price_before)
