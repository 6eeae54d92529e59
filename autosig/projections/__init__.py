"""Pure projections of the event streams (the README, "The dashboard and web API") and the one object that feeds them all.

    p = Projections(active_version="1")
    p.apply("raw", event); p.apply("parsed", event); p.apply("worker", event)
    p.status(now=time.time())   # the /api/status object
    p.signals.signals(limit=50)

No files, threads or Flask here: the host (autosig.projections.host) tails the store and calls apply() under a lock.
"""

from __future__ import annotations

import sqlite3
import statistics
from collections import deque
from collections.abc import Callable
from typing import Any

from autosig.events.base import Problem
from autosig.events.record import Event
from autosig.projections.banner import banner
from autosig.projections.ingestion import IngestionProjection
from autosig.projections.ledger import Ledger
from autosig.projections.mode import mode_strip
from autosig.projections.orders import OrdersProjection
from autosig.projections.reviews import ReviewsProjection
from autosig.projections.signals import DEFAULT_WINDOW, KINDS, SignalsProjection
from autosig.projections.streams import ProblemsProjection, size_view
from autosig.schema import (
    CONTROL,
    ORDER_PLANNED,
    ORDER_SKIPPED,
    ORDERS,
    PARSED,
    RAW,
    REVIEWS,
    WORKER,
    WORKER_STARTED,
)

RECENT_ORDER_CHANGES = 2_000  # orders events remembered for the live stream's resume
SHOWN_WORKING = 50  # working orders listed in /api/status (all are counted)


class Projections:
    def __init__(
        self,
        active_version: str,
        *,
        window: int = DEFAULT_WINDOW,
        poll_interval_seconds: float = 30.0,
        stale_after_seconds: float = 90.0,
        dry_run: bool = True,
        live_trading: bool = False,
    ) -> None:
        self.web_parser_version = active_version
        self.signals = SignalsProjection(active_version, window)
        self.ingestion = IngestionProjection(
            poll_interval_seconds=poll_interval_seconds,
            stale_after_seconds=stale_after_seconds,
            parser_version=None,
            dry_run=dry_run,
            live_trading=live_trading,
        )
        self.problems = ProblemsProjection()
        # the paper ledger (follows the active parser version); None after skip_ledger()
        self.ledger: Ledger | None = Ledger(active_version)
        self.ledger_error: str | None = None  # why the ledger was last dropped (see _feed_ledger)
        self.reviews = ReviewsProjection()
        # what AutoSig did with the user's money (the executor's `orders` stream and the pause switch in `control`)
        self.orders = OrdersProjection()
        self.last_orders: Event | None = None
        self.last_control: Event | None = None
        # (orders seq, decision key) of the newest changes, for the live stream's `event: order`
        self.order_changes: deque[tuple[int, str]] = deque(maxlen=RECENT_ORDER_CHANGES)
        # What the host calls per event, one bound method per stream (bound methods, so that a copy of this object
        # applies to its own parts): the cold start applies every event ever written, so keep this path short.
        self.appliers: dict[str, Callable[[Event], None]] = {
            RAW: self._apply_raw,
            PARSED: self._apply_parsed,
            WORKER: self._apply_worker,
            REVIEWS: self.reviews.apply,
            ORDERS: self._apply_orders,
            CONTROL: self._apply_control,
        }

    def apply(self, stream: str, event: Event) -> None:
        applier = self.appliers.get(stream)
        if applier is not None:
            applier(event)

    def skip_ledger(self) -> None:
        """Leaves the paper ledger out (`ledger` becomes None) and off the apply path. Recording every alert (in
        its temporary database) and replaying them takes longer than all the other projections together, so a web
        process builds it only once a ledger view is asked for (Host.want_ledger)."""
        self.ledger = None
        self.appliers[RAW] = self.signals.apply_raw
        self.appliers[PARSED] = self.signals.apply_parsed

    def new_ledger(self) -> Ledger:
        """An empty paper ledger following this state's active parser version (to be fed and then use_ledger'd)."""
        return Ledger(self.active_version())

    def use_ledger(self, ledger: Ledger) -> None:
        """Takes `ledger` — fed every raw and parsed event this state has applied, no more — and feeds it from now
        on (after skip_ledger, or in place of a ledger that would have to replay the whole history)."""
        self.ledger = ledger
        self.appliers[RAW] = self._apply_raw
        self.appliers[PARSED] = self._apply_parsed

    def _apply_raw(self, event: Event) -> None:
        self.signals.apply_raw(event)
        self._feed_ledger(event)

    def _apply_parsed(self, event: Event) -> None:
        self.signals.apply_parsed(event)
        self._feed_ledger(event)

    def _feed_ledger(self, event: Event) -> None:
        try:
            self.ledger.apply(event)
        except sqlite3.Error as exc:
            # The ledger's temporary database failed (its disk is full, most likely). Everything else must keep
            # following the streams: the ledger is dropped, and the next ledger request builds it again.
            self.drop_ledger(exc)

    def drop_ledger(self, exc: Exception) -> None:
        """Leaves out a ledger that failed (see skip_ledger), saying why in `ledger_error`."""
        self.ledger_error = f"{type(exc).__name__}: {exc}"
        self.skip_ledger()

    def _apply_worker(self, event: Event) -> None:
        self.ingestion.apply(event)
        if event.type == WORKER_STARTED:
            self.signals.active_version = self.active_version()
            if self.ledger is not None:
                self.ledger.parser_version = self.active_version()

    def _apply_orders(self, event: Event) -> None:
        self.orders.apply(event)
        self.last_orders = event
        key = _decision_key(self.orders, event)
        if key is not None:
            self.order_changes.append((event.seq, key))

    def waits_for(self, stream: str, event: Event) -> tuple[str, int] | None:
        """The (stream, seq) that should be applied before `event` when streams are followed each on its own: a
        decision shows its alert's text, so it comes after its raw event. None when nothing is missing."""
        if stream != ORDERS or not isinstance(event.data, dict):
            return None
        raw_seq = event.data.get("raw_seq")
        if type(raw_seq) is int and raw_seq > self.last_seq(RAW):
            return RAW, raw_seq
        return None

    def _apply_control(self, event: Event) -> None:
        self.orders.apply(event)
        self.last_control = event

    def orders_since(self, seq: int) -> list[tuple[int, dict[str, Any]]]:
        """(orders seq of its latest change, entry) of every decision changed after orders seq `seq`, oldest change
        first — what the live stream sends. Bounded by the newest RECENT_ORDER_CHANGES changes."""
        latest: dict[str, int] = {}
        for changed, key in self.order_changes:
            if changed > seq:
                latest[key] = changed
        out = []
        for key, changed in sorted(latest.items(), key=lambda kv: kv[1]):
            entry = self.orders.decisions.get(key)
            if entry is not None:
                out.append((changed, dict(entry)))
        return out

    def warm(self) -> None:
        """Builds what the first reads would otherwise build (the ledger's book: a replay of every alert)."""
        if self.ledger is not None:
            self.ledger.positions()

    def problem(self, problem: Problem) -> None:
        self.problems.problem(problem)

    def last_events(self) -> dict[str, Event | None]:
        return {RAW: self.signals.last_raw, PARSED: self.signals.last_parsed, WORKER: self.ingestion.last_event,
                REVIEWS: self.reviews.last_event, ORDERS: self.last_orders, CONTROL: self.last_control}

    def last_seq(self, stream: str) -> int:
        event = self.last_events().get(stream)
        return event.seq if event is not None else 0

    def active_version(self) -> str:
        """The worker's parser version (from its latest worker.started), else the web's own."""
        return str(self.ingestion.settings.get("parser_version") or self.web_parser_version)

    def status(self, now: float) -> dict[str, Any]:
        """The /api/status object (the README, "The dashboard and web API"), plus a few fields the dashboard needs (marked below)."""
        ing = self.ingestion
        poll_age, success_age = ing.ages(now)
        latencies = self.signals.recent_latencies()
        status: dict[str, Any] = {
            "worker": ing.worker_view(),
            "streams": size_view({s: e for s, e in self.last_events().items() if s in (RAW, PARSED, WORKER)}),
            "lag": {
                "poll_age_seconds": poll_age,
                "success_age_seconds": success_age,
                "parse_backlog": self.signals.parse_backlog(self.active_version()),
                # beyond the contract: created_at -> receipt over the newest 100 new alerts
                "alert_latency_seconds": {
                    "median": round(statistics.median(latencies), 3) if latencies else None,
                    "max": round(max(latencies), 3) if latencies else None,
                    "samples": len(latencies),
                },
            },
            "stale": ing.stale(now),
            "mode": self.mode(),
            "parser_version": self.active_version(),
            "problems": self.problems.view(),
            "execution": self.execution(now),
        }
        status["banner"] = banner(status, now)  # beyond the contract
        status["execution"]["strip"] = mode_strip(status["execution"])  # beyond the contract
        return status

    def mode(self) -> dict[str, bool]:
        """What the executor's latest start says (dry run, or live trading); before any, the worker's settings."""
        executor = self.orders.executor()
        if executor is not None:
            return {"dry_run": executor.get("mode") == "dry_run", "live_trading": executor.get("mode") == "live"}
        ing = self.ingestion
        return {"dry_run": bool(ing.settings["dry_run"]), "live_trading": bool(ing.settings["live_trading"])}

    def execution(self, now: float) -> dict[str, Any]:
        """The executor's state for /api/status: its mode, broker and account from its latest start (None before
        any), whether it runs and is paused, its last decision, its open orders and today's use of each cap."""
        book = self.orders
        executor = book.executor() or {}
        pause = book.paused()
        decisions = book.decisions_view(limit=1)
        last = decisions[0] if decisions else None
        working = book.working() if executor else []
        return {
            "mode": executor.get("mode"),
            "broker": executor.get("broker"),
            "account": executor.get("account"),
            "started": bool(executor),
            "running": bool(executor.get("running")),
            "started_at": executor.get("started_at"),
            "stopped_at": executor.get("stopped_at"),
            "paused": bool(pause["paused"]),
            "pause": {k: pause.get(k) for k in ("by", "reason", "at", "cancel_entries", "seq")},
            "last_decision": None if last is None else {
                k: last.get(k) for k in ("seq", "decision", "reason", "status", "at", "contract", "action")
            },
            "orders_seq": self.last_seq(ORDERS),
            "control_seq": self.last_seq(CONTROL),
            "open_orders": len(working),
            "working": [_working_view(book, order) for order in working[:SHOWN_WORKING]],
            "caps": book.caps(now) if executor else {},
            "realized": book.realized(now) if executor else {"total": 0.0, "today": 0.0},
        }

    def parse_stats(self) -> dict[str, dict[str, int]]:
        out = {}
        for version in sorted(self.signals.parse_counts, key=lambda v: (len(v), v)):
            counts = self.signals.parse_counts[version]
            row = {kind: counts.get(kind, 0) for kind in KINDS}
            row["total"] = sum(counts.values())
            out[version] = row
        return out

    def stats(self) -> dict[str, Any]:
        """Parse statistics per version, event counts per stream and type, alerts per hour (window)."""
        hourly = self.signals.hourly_counts()
        return {
            "parse_stats": self.parse_stats(),
            "types": {**self.signals.types(), WORKER: dict(self.ingestion.types)},
            "alerts_per_hour": [{"hour": h + ":00:00Z", "count": hourly[h]} for h in sorted(hourly)],
            "problem_count": self.problems.problem_count,
            "window": self.signals.window,
        }


def _working_view(book: OrdersProjection, order: Any) -> dict[str, Any]:
    """A working order as /api/status lists it (its age counts from `submitted_at`, else `planned_at`)."""
    decision = book.decisions.get(order.key) or {}
    return {
        "client_order_id": order.client_order_id,
        "decision_seq": decision.get("seq"),
        "contract": decision.get("contract") or (order.contract.label if order.contract else None),
        "action": decision.get("action"),
        "effect": order.effect,
        "status": order.status,
        "quantity": order.quantity,
        "filled_quantity": order.filled_quantity,
        "limit_price": order.limit_price,
        "planned_at": order.planned_at,
        "submitted_at": order.submitted_at,
        "cancel_requested": order.cancel_requested,
    }


def _decision_key(book: OrdersProjection, event: Event) -> str | None:
    """The key of the decision an orders event changes (a decision's own key, or its order's), None for the rest."""
    if event.type in (ORDER_PLANNED, ORDER_SKIPPED):
        return event.key or f"seq:{event.seq}"
    data = event.data if isinstance(event.data, dict) else {}
    coid = data.get("client_order_id")
    order = book.orders.get(coid) if isinstance(coid, str) else None
    return order.key if order is not None else None


__all__ = ["Projections"]
