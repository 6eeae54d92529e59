"""Synthetic events for projection tests, built with the real record encoder."""

from __future__ import annotations

from autosig.clock import rfc3339
from autosig.events.record import ZERO_HASH, Event, encode

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def ev(seq: int, type: str, data: dict, at: float = T0) -> Event:
    return encode(seq, f"id-{type}-{seq}", type, None, rfc3339(at), data, {"writer": "test"}, ZERO_HASH)


def raw(seq: int, source_id: str, text: str | None, *, created: object = None, at: float = T0, edited: bool = False):
    payload = {"id": source_id, "content": text, "created_at": created if created is not None else rfc3339(at - 2)}
    data = {"source": "whop", "channel": "chan", "source_id": source_id, "payload": payload}
    return ev(seq, "alert.edited" if edited else "alert.received", data, at)


def signal(ticker: str = "SPY", action: str = "open", price: float = 1.25) -> dict:
    return {
        "action": action,
        "instrument": "option",
        "ticker": ticker,
        "legs": [{"side": "buy", "ratio": 1, "right": "C", "strike": 600.0, "expiry": "2027-01-17"}],
        "price": price,
        "targets": [],
        "tags": [],
    }


def parsed(seq: int, raw_seq: int, source_id: str, *, version: str = "1", kind: str = "signal", signals=None,
           reason=None, at: float = T0):
    if signals is None:
        signals = [signal()] if kind == "signal" else []
    data = {"raw_seq": raw_seq, "source_id": source_id, "parser_version": version, "kind": kind,
            "reason": reason if kind != "signal" else None, "signals": signals}
    return ev(seq, "alert.parsed", data, at)


def started(seq: int, *, at: float = T0, poll: float = 30, stale: float | None = 90, version: str = "1",
            dry_run: bool = True, live: bool = False):
    data = {"poll_interval_seconds": poll, "stale_after_seconds": stale, "parser_version": version,
            "dry_run": dry_run, "live_trading": live, "channels": ["chan"]}
    return ev(seq, "worker.started", data, at)


def completed(seq: int, *, at: float, gap: bool = False):
    data = {"new": 1, "edited": 0, "pages": 1, "http_status": 200, "duration_ms": 12, "gap": gap, "initial": False}
    return ev(seq, "poll.completed", data, at)


def failed(seq: int, *, at: float, reason: str = "auth", status: int | None = 401, detail: str = "HTTP 401"):
    data = {"reason": reason, "detail": detail, "http_status": status, "retry_in_s": 30}
    return ev(seq, "poll.failed", data, at)
