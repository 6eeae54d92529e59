"""Ingestion status from the worker stream: is the worker polling, succeeding, and since when is it not.

Judged by the worker's own settings from its latest `worker.started` (the web may be configured differently), with
the web's settings only as a fallback before the worker ever started. Ages are computed at read time from the `now`
the caller passes, so the same state reads as fresh now and stale later without any event arriving.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from autosig.events.record import Event
from autosig.schema import POLL_COMPLETED, POLL_FAILED, WORKER_STARTED, WORKER_STOPPED


def epoch(ts: str | None) -> float | None:
    """An RFC 3339 event time as epoch seconds."""
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts).timestamp()
    except ValueError:
        return None


class IngestionProjection:
    def __init__(
        self,
        *,
        poll_interval_seconds: float = 30.0,
        stale_after_seconds: float = 90.0,
        parser_version: str | None = None,
        dry_run: bool = True,
        live_trading: bool = False,
    ) -> None:
        # fallbacks until a worker.started says otherwise
        self.settings: dict[str, Any] = {
            "poll_interval_seconds": poll_interval_seconds,
            "stale_after_seconds": stale_after_seconds,
            "parser_version": parser_version,
            "dry_run": dry_run,
            "live_trading": live_trading,
            "channels": [],
        }
        self.settings_from_worker = False
        self.started_at: str | None = None
        self.stopped_at: str | None = None
        self.last_poll_at: str | None = None
        self.last_success_at: str | None = None
        self.last_error: dict[str, Any] | None = None
        self.failing_since: str | None = None
        self.consecutive_failures = 0
        self.last_gap_at: str | None = None
        self.last_poll_gap = False
        self.polls_completed = 0
        self.polls_failed = 0
        self.last_poll: dict[str, Any] | None = None  # data of the latest poll.completed
        self.last_event: Event | None = None
        self.types: dict[str, int] = {}

    def apply(self, event: Event) -> None:
        self.last_event = event
        kind = event.type
        self.types[kind] = self.types.get(kind, 0) + 1
        data = event.data
        if kind == POLL_COMPLETED:
            self.last_poll_at = self.last_success_at = event.ts
            self.consecutive_failures = 0
            self.failing_since = None
            self.polls_completed += 1
            self.last_poll = data
            self.last_poll_gap = bool(data.get("gap"))
            if self.last_poll_gap:
                self.last_gap_at = event.ts
        elif kind == POLL_FAILED:
            self.last_poll_at = event.ts
            self.consecutive_failures += 1
            self.polls_failed += 1
            if self.failing_since is None:
                self.failing_since = event.ts
            self.last_error = {
                "reason": data.get("reason"),
                "detail": data.get("detail"),
                "http_status": data.get("http_status"),
                "at": event.ts,
            }
        elif kind == WORKER_STARTED:
            for name in ("poll_interval_seconds", "stale_after_seconds", "parser_version", "dry_run", "live_trading"):
                if data.get(name) is not None:
                    self.settings[name] = data[name]
            if data.get("stale_after_seconds") is None and data.get("poll_interval_seconds"):
                self.settings["stale_after_seconds"] = 3 * float(data["poll_interval_seconds"])
            self.settings["channels"] = list(data.get("channels") or [])
            self.settings_from_worker = True
            self.started_at = event.ts
            self.stopped_at = None
        elif kind == WORKER_STOPPED:
            self.stopped_at = event.ts

    def state(self) -> str:
        if self.started_at is None and self.last_poll_at is None:
            return "never_started"
        return "stopped" if self.stopped_at is not None else "running"

    def ages(self, now: float) -> tuple[float | None, float | None]:
        poll = epoch(self.last_poll_at)
        success = epoch(self.last_success_at)
        return (
            round(max(0.0, now - poll), 3) if poll is not None else None,
            round(max(0.0, now - success), 3) if success is not None else None,
        )

    def stale(self, now: float) -> bool:
        """No successful poll for stale_after_seconds, or none yet."""
        _, success_age = self.ages(now)
        return success_age is None or success_age > float(self.settings["stale_after_seconds"])

    def worker_view(self) -> dict[str, Any]:
        return {
            "last_poll_at": self.last_poll_at,
            "last_success_at": self.last_success_at,
            "last_error": self.last_error,
            "failing_since": self.failing_since,
            "consecutive_failures": self.consecutive_failures,
            # beyond the contract: what the dashboard needs to explain the state
            "state": self.state(),
            "started_at": self.started_at,
            "stopped_at": self.stopped_at,
            "last_gap_at": self.last_gap_at,
            "last_poll_gap": self.last_poll_gap,
            "poll_interval_seconds": self.settings["poll_interval_seconds"],
            "stale_after_seconds": self.settings["stale_after_seconds"],
            "channels": self.settings["channels"],
            "settings_from_worker": self.settings_from_worker,
        }
