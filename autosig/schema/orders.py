"""The executor's stream (`orders`) and the pause switch (`control`).

Keys make every step idempotent, so a restarted executor finishes what a killed one began without doing anything
twice: a message is decided once (`order:<channel>:<source_id>:<i>`, one per signal of its first considered parse),
and each later step of an order is keyed by its client order id.
"""

from __future__ import annotations

import hashlib
from typing import Any

from autosig.schema.draft import Draft
from autosig.schema.types import (
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

MODES = ("dry_run", "paper", "live")
# Every broker status maps to one of these; the last four are final.
ORDER_STATUSES = ("accepted", "partially_filled", "filled", "canceled", "expired", "rejected")
FINAL_STATUSES = frozenset({"filled", "canceled", "expired", "rejected"})
# The reason of an order.skipped: the first gate that refused (caps are "cap:<name>").
SKIP_REASONS = (
    "paused",
    "entries_off",
    "exits_off",
    "stale_alert",
    "clock_skew",
    "ingestion_stale",
    "author_not_followed",
    "low_confidence",
    "unsupported",
    "ticker_not_allowed",
    "no_price",
    "too_cheap",
    "market_closed",
    "unknown_contract",
    "already_open",
    "no_position",
    "ambiguous",
    "price_moved",
    "price_mismatch",
    "cap:max_open_positions",
    "cap:max_trades_per_day",
    "cap:max_daily_usd",
    "cap:max_daily_loss_usd",
    "too_small",
)
CANCEL_REASONS = ("timeout", "exit", "edited", "paused")
FAILURE_REASONS = ("refused", "expired_unsent", "unverified", "paused", "id_collision")
# detail texts are AutoSig's own words, at most this long
MAX_DETAIL = 1024


def _detail(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


# --- keys ------------------------------------------------------------------------------------------------------------


def order_prefix(channel: str, source_id: str) -> str:
    """The key prefix of every decision about one message: its presence ends consideration of the message for good."""
    return f"order:{channel}:{source_id}:"


def order_key(channel: str, source_id: str, signal_index: int) -> str:
    return f"{order_prefix(channel, source_id)}{signal_index}"


def client_order_id(store_id: str, channel: str, source_id: str, signal_index: int) -> str:
    """as- + 24 hex of sha256(<store id>:<channel>:<source_id>:<i>): stable across restarts, unique per store, valid as
    an Alpaca client_order_id (≤ 128 characters) and as a Tradier tag."""
    digest = hashlib.sha256(f"{store_id}:{channel}:{source_id}:{signal_index}".encode("utf-8", "surrogatepass"))
    return "as-" + digest.hexdigest()[:24]


def submitted_key(coid: str) -> str:
    return f"submitted:{coid}"


def updated_key(coid: str, status: str, filled_quantity: float) -> str:
    return f"updated:{coid}:{status}:{filled_quantity:g}"


def cancel_key(coid: str) -> str:
    return f"cancel:{coid}"


def unknown_key(coid: str, n: int) -> str:
    return f"unknown:{coid}:{n}"


def failed_key(coid: str) -> str:
    return f"failed:{coid}"


def recon_key(n: int) -> str:
    return f"recon:{n}"


def expired_key(contract: str, day: str) -> str:
    return f"expired:{contract}:{day}"


# --- the executor's lifecycle ----------------------------------------------------------------------------------------


def executor_started(
    *,
    mode: str,
    broker: str,
    account: str | None,
    parser_version: str,
    from_parsed_seq: int,
    host: str,
    pid: int,
    **more: Any,
) -> Draft:
    """Appended on taking the executor lease. `account` is shown by its last 4 characters only."""
    if mode not in MODES:
        raise ValueError(f"unknown execution mode {mode!r}")
    data = {
        "mode": mode,
        "broker": broker,
        "account": account[-4:] if account else account,
        "parser_version": parser_version,
        "from_parsed_seq": from_parsed_seq,
        "host": host,
        "pid": pid,
        **more,
    }
    return Draft(EXECUTOR_STARTED, data)


def executor_stopped(reason: str) -> Draft:
    return Draft(EXECUTOR_STOPPED, {"reason": reason})


# --- decisions -------------------------------------------------------------------------------------------------------


def _about(raw_seq: int, parsed_seq: int, channel: str, source_id: str, signal_index: int) -> dict[str, Any]:
    """What every decision says of the signal it decides."""
    return {"raw_seq": raw_seq, "parsed_seq": parsed_seq, "channel": channel, "source_id": source_id,
            "signal_index": signal_index}  # fmt: skip


def order_planned(
    *,
    raw_seq: int | None,
    parsed_seq: int | None,
    channel: str,
    source_id: str,
    signal_index: int,
    mode: str,
    broker: str,
    account: str | None,
    client_order_id: str,
    instrument: str,
    legs: list[dict[str, Any]],
    quantity: int,
    limit_price: float,
    time_in_force: str,
    sizing: dict[str, Any],
    checks: dict[str, Any],
    **more: Any,
) -> Draft:
    """A decision to send (in dry_run: to record, final, never sent). legs: {symbol, side, position_intent, ratio}."""
    data = {
        **_about(raw_seq, parsed_seq, channel, source_id, signal_index),
        "mode": mode,
        "broker": broker,
        "account": account[-4:] if account else account,
        "client_order_id": client_order_id,
        "instrument": instrument,
        "legs": legs,
        "quantity": quantity,
        "limit_price": limit_price,
        "time_in_force": time_in_force,
        "sizing": sizing,
        "checks": checks,
        **more,
    }
    return Draft(ORDER_PLANNED, data, None, order_key(channel, source_id, signal_index))


def order_skipped(
    *,
    raw_seq: int | None,
    parsed_seq: int | None,
    channel: str,
    source_id: str,
    signal_index: int,
    reason: str,
    detail: str,
    **more: Any,
) -> Draft:
    """A decision not to trade a signal, with the first gate that refused it."""
    if reason not in SKIP_REASONS:
        raise ValueError(f"unknown skip reason {reason!r}")
    data = {
        **_about(raw_seq, parsed_seq, channel, source_id, signal_index),
        "reason": reason,
        "detail": _detail(detail),
        **more,
    }
    return Draft(ORDER_SKIPPED, data, None, order_key(channel, source_id, signal_index))


# --- what the broker said --------------------------------------------------------------------------------------------


def order_submitted(*, client_order_id: str, broker_order_id: str, status: str, response: Any, **more: Any) -> Draft:
    """The broker took the order (a 2xx, or found by reconciliation). response: the broker's body, verbatim."""
    data = {
        "client_order_id": client_order_id,
        "broker_order_id": broker_order_id,
        "status": status,
        "response": response,
        **more,
    }
    return Draft(ORDER_SUBMITTED, data, None, submitted_key(client_order_id))


def order_updated(
    *,
    client_order_id: str,
    status: str,
    filled_quantity: float,
    average_fill_price: float | None,
    response: Any,
    **more: Any,
) -> Draft:
    """A change of an open order's status or filled quantity."""
    if status not in ORDER_STATUSES:
        raise ValueError(f"unknown order status {status!r}")
    data = {
        "client_order_id": client_order_id,
        "status": status,
        "filled_quantity": filled_quantity,
        "average_fill_price": average_fill_price,
        "response": response,
        **more,
    }
    return Draft(ORDER_UPDATED, data, None, updated_key(client_order_id, status, filled_quantity))


def order_cancel_requested(*, client_order_id: str, reason: str, **more: Any) -> Draft:
    if reason not in CANCEL_REASONS:
        raise ValueError(f"unknown cancel reason {reason!r}")
    data = {"client_order_id": client_order_id, "reason": reason, **more}
    return Draft(ORDER_CANCEL_REQUESTED, data, None, cancel_key(client_order_id))


def order_unknown(*, client_order_id: str, attempt: int, detail: str, **more: Any) -> Draft:
    """A send whose outcome is not known (timeout, reset, 5xx): reconciled by client order id, never resent blind."""
    data = {"client_order_id": client_order_id, "detail": _detail(detail), "attempt": attempt, **more}
    return Draft(ORDER_UNKNOWN, data, None, unknown_key(client_order_id, attempt))


def order_failed(*, client_order_id: str, reason: str, detail: str, **more: Any) -> Draft:
    if reason not in FAILURE_REASONS:
        raise ValueError(f"unknown order failure reason {reason!r}")
    data = {"client_order_id": client_order_id, "reason": reason, "detail": _detail(detail), **more}
    return Draft(ORDER_FAILED, data, None, failed_key(client_order_id))


def position_reconciled(
    *, n: int, contract: str, ours: float, brokers: float, change: str, **more: Any
) -> Draft:
    """AutoSig's holding of a contract differs from the broker's (closed by hand, assigned, exercised)."""
    data = {"contract": contract, "ours": ours, "brokers": brokers, "change": change, **more}
    return Draft(POSITION_RECONCILED, data, None, recon_key(n))


def position_expired(*, contract: str, day: str, quantity: float, price: float, **more: Any) -> Draft:
    """An option position past the close of its expiry date (at 0, or at the broker's exercise/assignment)."""
    data = {"contract": contract, "day": day, "quantity": quantity, "price": price, **more}
    return Draft(POSITION_EXPIRED, data, None, expired_key(contract, day))


# --- control ---------------------------------------------------------------------------------------------------------


def execution_paused(*, by: str, reason: str, cancel_entries: bool) -> Draft:
    """by: "dashboard" or "cli"."""
    return Draft(EXECUTION_PAUSED, {"by": by, "reason": _detail(reason), "cancel_entries": cancel_entries})


def execution_resumed(*, by: str, reason: str) -> Draft:
    return Draft(EXECUTION_RESUMED, {"by": by, "reason": _detail(reason), "cancel_entries": False})
