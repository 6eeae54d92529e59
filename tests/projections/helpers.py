"""Synthetic events for projection tests: the schema's constructors, encoded by the real record encoder."""

from __future__ import annotations

from autosig import schema
from autosig.clock import rfc3339
from autosig.events.record import ZERO_HASH, Event, encode
from autosig.schema import Draft

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def ev(seq: int, draft: Draft, at: float = T0) -> Event:
    """The event a store would hold at `seq` for this draft (its own chain aside: projections do not check it)."""
    return encode(seq, f"id-{draft.type}-{seq}", draft.type, draft.key, rfc3339(at), draft.data, {"writer": "test"},
                  ZERO_HASH)  # fmt: skip


def raw(seq: int, source_id: str, text: str | None, *, created: object = None, at: float = T0, edited: bool = False):
    payload = {"id": source_id, "content": text, "created_at": created if created is not None else rfc3339(at - 2)}
    return ev(seq, (schema.alert_edited if edited else schema.alert_received)("chan", payload), at)


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
    result = {"kind": kind, "reason": reason if kind != "signal" else None, "signals": signals}
    return ev(seq, schema.alert_parsed(raw_seq, source_id, version, result), at)


def started(seq: int, *, at: float = T0, poll: float = 30, stale: float | None = 90, version: str = "1",
            dry_run: bool = True, live: bool = False):
    draft = schema.worker_started(poll_interval_seconds=poll, stale_after_seconds=stale, parser_version=version,
                                  dry_run=dry_run, live_trading=live, channels=["chan"])  # fmt: skip
    return ev(seq, draft, at)


def completed(seq: int, *, at: float, gap: bool = False):
    draft = schema.poll_completed(new=1, edited=0, pages=1, http_status=200, duration_ms=12, gap=gap, initial=False)
    return ev(seq, draft, at)


def failed(seq: int, *, at: float, reason: str = "auth", status: int | None = 401, detail: str = "HTTP 401"):
    return ev(seq, schema.poll_failed(reason=reason, detail=detail, http_status=status, retry_in_s=30), at)
