"""The worker's heartbeat stream (`worker`) and the webhook inbox (`inbox`)."""

from __future__ import annotations

from typing import Any

from autosig.schema.draft import Draft
from autosig.schema.types import POLL_COMPLETED, POLL_FAILED, WEBHOOK_RECEIVED, WORKER_STARTED, WORKER_STOPPED

# The reason of a poll.failed, exactly one of these.
POLL_FAILURE_REASONS = ("auth", "rate_limited", "http_5xx", "http_4xx", "timeout", "network", "bad_response", "store")


def worker_started(
    *,
    poll_interval_seconds: float,
    stale_after_seconds: float,
    parser_version: str,
    dry_run: bool,
    live_trading: bool,
    channels: list[str],
    **more: Any,
) -> Draft:
    """The worker's effective settings that readers need (never a secret); the web shows these, not its own."""
    data = {
        "poll_interval_seconds": poll_interval_seconds,
        "stale_after_seconds": stale_after_seconds,
        "parser_version": parser_version,
        "dry_run": dry_run,
        "live_trading": live_trading,
        "channels": channels,
        **more,
    }
    return Draft(WORKER_STARTED, data)


def worker_stopped(reason: str) -> Draft:
    """reason: "signal" (SIGTERM/SIGINT) or "exit"."""
    return Draft(WORKER_STOPPED, {"reason": reason})


def poll_completed(
    *,
    new: int,
    edited: int,
    pages: int,
    http_status: int | None,
    duration_ms: float,
    gap: bool,
    initial: bool,
    **more: Any,
) -> Draft:
    data = {
        "new": new,
        "edited": edited,
        "pages": pages,
        "http_status": http_status,
        "duration_ms": duration_ms,
        "gap": gap,
        "initial": initial,
        **more,
    }
    return Draft(POLL_COMPLETED, data)


def poll_failed(*, reason: str, detail: str, http_status: int | None, retry_in_s: float, **more: Any) -> Draft:
    """detail is AutoSig's own words (never a secret, never the HTTP library's text)."""
    if reason not in POLL_FAILURE_REASONS:
        raise ValueError(f"unknown poll failure reason {reason!r}")
    data = {"reason": reason, "detail": detail, "http_status": http_status, "retry_in_s": retry_in_s, **more}
    return Draft(POLL_FAILED, data)


def webhook_key(webhook_id: str) -> str:
    """webhook:<webhook-id>: a redelivery of the same webhook appends nothing."""
    return f"webhook:{webhook_id}"


def webhook_received(*, webhook_id: str, timestamp: str, channel: str, message_id: str) -> Draft:
    """A verified Whop webhook for a followed channel: a wake-up for the worker's poll, never a record of an alert."""
    data = {"webhook_id": webhook_id, "timestamp": timestamp, "channel": channel, "message_id": message_id}
    return Draft(WEBHOOK_RECEIVED, data, None, webhook_key(webhook_id))
