"""The notification state machine: a pure projection of the worker (and parsed) streams plus the notifications
stream, with a read, `due(now)`, that lists the messages to send and not yet delivered.

What makes a message, and its id (derived from the event that caused it, so every process computes the same one):

- `auth:<seq>`: the first `poll.failed` with reason `auth` after a successful poll (seq of that failure). Further
  auth failures in the same episode add nothing: one message, not one per poll.
- `stale:<seq>`: no successful poll for the worker's stale_after_seconds after the `poll.completed` at `seq`
  (`stale:0` before any successful poll, counted from the worker's first event or from when notifications began).
  Time makes this one, so due(now) raises it; a poll that ends a gap longer than stale_after raises it too, so a
  stale period nobody was elected to report is still reported (late, with its own time) before the recovery.
- `recovered:<seq>`: the `poll.completed` at `seq` that ends a stale period or an auth episode.
- `signal:<seq>` (only with signals on): an `alert.parsed` at `seq` of kind signal, by the active parser version,
  for a raw alert newer than every one parsed before (so `reprocess` of old history pushes nothing).
- `heads:<UTC date>`: once a day; its text (the heads) is filled in by the sender, which can read the store.

The baseline (the first event of the notifications stream) says where notifications began: events up to it are
history. History sets the state (so an ongoing stall or auth failure is still announced) but its finished episodes
and its signals are not pushed — a new installation does not replay a year of alarms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from autosig.clock import rfc3339
from autosig.events.record import Event
from autosig.notify.messages import AUTH_FAILED, HEADS, INGESTION, RECOVERED, SIGNAL, STALE, Message
from autosig.notify.orders import OrderAlarms
from autosig.projections.banner import human_duration, reason_text
from autosig.projections.ingestion import IngestionProjection, epoch
from autosig.schema import CONTROL, NOTIFICATION_DELIVERED, ORDERS, POLL_COMPLETED, POLL_FAILED


@dataclass(frozen=True)
class Baseline:
    worker_seq: int
    parsed_seq: int
    at: float  # epoch seconds
    # where the orders and control streams stood; None in a baseline written before they existed (then their
    # events stamped up to `at` are history)
    orders_seq: int | None = None
    control_seq: int | None = None

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"worker_seq": self.worker_seq, "parsed_seq": self.parsed_seq, "at": rfc3339(self.at)}
        for name in ("orders_seq", "control_seq"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data

    @classmethod
    def from_event(cls, event: Event) -> Baseline:
        d = event.data

        def seq(name: str) -> int | None:
            return int(d[name]) if isinstance(d.get(name), int) else None

        return cls(int(d.get("worker_seq") or 0), int(d.get("parsed_seq") or 0), epoch(d.get("at")) or 0.0,
                   seq("orders_seq"), seq("control_seq"))  # fmt: skip

    def history(self, stream: str, event: Event) -> bool:
        """Whether an orders or control event happened before notifications began."""
        seq = self.orders_seq if stream == ORDERS else self.control_seq
        if seq is not None:
            return event.seq <= seq
        return (epoch(event.ts) or 0.0) <= self.at


class NotifyMachine:
    def __init__(
        self,
        baseline: Baseline,
        *,
        poll_interval_seconds: float = 30.0,
        stale_after_seconds: float = 90.0,
        active_version: str | None = None,
        signals: bool = False,
        daily_heads: bool = True,
    ) -> None:
        self.baseline = baseline
        self.ingestion = IngestionProjection(
            poll_interval_seconds=poll_interval_seconds,
            stale_after_seconds=stale_after_seconds,
            parser_version=active_version,
        )
        self.web_version = active_version
        self.signals = signals
        self.daily_heads = daily_heads
        self.pending: dict[str, Message] = {}  # insertion order is the order of the changes
        self.delivered: set[str] = set()
        self.success_seq = 0  # seq of the latest poll.completed
        self.success_ts: float | None = None
        self.first_worker_ts: float | None = None
        self.auth_since: int | None = None  # seq of the failure that opened the current auth episode
        self.max_raw_seq = 0  # newest raw alert any parse referred to
        self.orders = OrderAlarms()  # fills, refusals, unknown outcomes, missed exits, the pause switch, the loss cap
        self.applied = {"worker": 0, "parsed": 0, "notifications": 0, ORDERS: 0, CONTROL: 0}

    # --- apply ---------------------------------------------------------------------------------------------------

    def apply(self, stream: str, event: Event) -> None:
        if stream == "worker":
            self.apply_worker(event)
        elif stream == "parsed":
            self.apply_parsed(event)
        elif stream == "notifications":
            self.apply_notification(event)
        elif stream in (ORDERS, CONTROL):
            self.apply_orders(stream, event)

    def apply_orders(self, stream: str, event: Event) -> None:
        """An orders or control event: the alarms it raises are sent unless it is history (state is kept either way)."""
        self.applied[stream] = event.seq
        messages = self.orders.apply(event)
        if not self.baseline.history(stream, event):
            for message in messages:
                self._add(message)

    def apply_notification(self, event: Event) -> None:
        self.applied["notifications"] = event.seq
        if event.type == NOTIFICATION_DELIVERED:
            self.mark_delivered(str(event.data.get("id")))

    def mark_delivered(self, message_id: str) -> None:
        self.delivered.add(message_id)
        self.pending.pop(message_id, None)

    def _add(self, message: Message) -> None:
        if message.id not in self.delivered and message.id not in self.pending:
            self.pending[message.id] = message

    def stale_after(self) -> float:
        return float(self.ingestion.settings["stale_after_seconds"])

    def _reference(self) -> tuple[int, float]:
        """(seq, time) that staleness counts from: the last success, else the worker's first event, else when
        notifications began."""
        if self.success_ts is not None:
            return self.success_seq, self.success_ts
        return 0, self.first_worker_ts if self.first_worker_ts is not None else self.baseline.at

    def _stale_message(self, seq: int, since: float) -> Message:
        after = self.stale_after()
        if seq:
            text = (
                f"AutoSig: ingestion is STALE — no successful poll of Whop for {human_duration(after)} "
                f"(last success {rfc3339(since)})."
            )
        else:
            text = f"AutoSig: ingestion is STALE — the worker has not completed a poll for {human_duration(after)}."
        error = self.ingestion.last_error
        if self.ingestion.consecutive_failures and error:
            text += f" Polls fail: {reason_text(error)}."
        details = {"last_success_seq": seq or None, "last_success_at": rfc3339(since) if seq else None,
                   "stale_after_seconds": after}
        return Message(f"stale:{seq}", INGESTION, STALE, text, rfc3339(since + after), details)

    def apply_worker(self, event: Event) -> None:
        self.applied["worker"] = event.seq
        history = event.seq <= self.baseline.worker_seq
        ts = epoch(event.ts) or 0.0
        if self.first_worker_ts is None:
            self.first_worker_ts = ts
        kind = event.type
        if kind == POLL_COMPLETED:
            ref_seq, ref_ts = self._reference()
            # by the events' own times, or because a stale alarm went out (the web's clock may run ahead of the
            # worker's: a recovery must follow every alarm that was sent)
            stale_id = f"stale:{ref_seq}"
            was_stale = ts - ref_ts > self.stale_after() or stale_id in self.delivered or stale_id in self.pending
            had_auth = self.auth_since is not None
            if history:
                # a finished episode of the past: drop what it raised unless it was delivered
                if had_auth:
                    self.pending.pop(f"auth:{self.auth_since}", None)
                self.pending.pop(f"stale:{ref_seq}", None)
            elif was_stale or had_auth:
                if was_stale:
                    self._add(self._stale_message(ref_seq, ref_ts))
                down = f"after {human_duration(ts - ref_ts)} without a successful poll" if was_stale else (
                    "after Whop rejected the token"
                )
                self._add(
                    Message(
                        f"recovered:{event.seq}",
                        INGESTION,
                        RECOVERED,
                        f"AutoSig: ingestion RECOVERED — polls of Whop succeed again ({down}).",
                        event.ts,
                        {"seq": event.seq, "previous_success_at": rfc3339(ref_ts) if ref_seq else None,
                         "ended": [s for s, on in ((STALE, was_stale), (AUTH_FAILED, had_auth)) if on]},
                    )
                )
            self.auth_since = None
            self.success_seq, self.success_ts = event.seq, ts
        elif kind == POLL_FAILED and event.data.get("reason") == "auth" and self.auth_since is None:
            self.auth_since = event.seq
            status = event.data.get("http_status")
            self._add(
                Message(
                    f"auth:{event.seq}",
                    INGESTION,
                    AUTH_FAILED,
                    f"AutoSig: Whop REJECTS THE TOKEN (HTTP {status or '?'}) — no alerts are being recorded. "
                    "Renew WHOP_ACCESS_TOKEN for the worker.",
                    event.ts,
                    {"seq": event.seq, "http_status": status, "detail": event.data.get("detail")},
                )
            )
        self.ingestion.apply(event)

    def active_version(self) -> str | None:
        return self.ingestion.settings.get("parser_version") or self.web_version

    def apply_parsed(self, event: Event) -> None:
        self.applied["parsed"] = event.seq
        data = event.data
        try:
            raw_seq = int(data.get("raw_seq") or 0)
        except (TypeError, ValueError):
            return
        newer = raw_seq > self.max_raw_seq
        self.max_raw_seq = max(self.max_raw_seq, raw_seq)
        if not self.signals or not newer or event.seq <= self.baseline.parsed_seq:
            return
        if data.get("kind") != "signal" or str(data.get("parser_version")) != str(self.active_version()):
            return
        signals = [s for s in data.get("signals") or [] if isinstance(s, dict)]
        lines = [describe_signal(s) for s in signals] or ["(no details)"]
        text = "AutoSig signal: " + "; ".join(lines)
        self._add(
            Message(
                f"signal:{event.seq}",
                SIGNAL,
                SIGNAL,
                text,
                event.ts,
                {"parsed_seq": event.seq, "raw_seq": raw_seq, "source_id": data.get("source_id"), "signals": signals},
            )
        )

    # --- read ----------------------------------------------------------------------------------------------------

    def stale_now(self, now: float) -> Message | None:
        seq, since = self._reference()
        if now - since > self.stale_after():
            return self._stale_message(seq, since)
        return None

    def due(self, now: float) -> list[Message]:
        """What to send now, oldest change first. Heads messages come with empty text: the sender fills them in."""
        # pending holds each stream's changes in that stream's order; the streams are followed by separate threads,
        # so a stable sort on the event time puts them back in the order they happened
        out = sorted(self.pending.values(), key=lambda m: m.at)
        stale = self.stale_now(now)
        if stale is not None and stale.id not in self.delivered and stale.id not in self.pending:
            out.append(stale)
        if self.daily_heads:
            day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
            heads_id = f"heads:{day}"
            if heads_id not in self.delivered:
                out.append(Message(heads_id, HEADS, HEADS, "", rfc3339(now), {}))
        return out


def describe_signal(s: dict[str, Any]) -> str:
    """One line a trader reads at a glance, e.g. `OPEN SPY 600C 2027-01-17 @ 1.25`."""
    parts = [str(s.get("action") or "?").upper(), str(s.get("ticker") or "?")]
    for leg in s.get("legs") or []:
        if isinstance(leg, dict):
            strike = leg.get("strike")
            strike_text = f"{strike:g}" if isinstance(strike, (int, float)) else str(strike or "")
            parts.append(f"{strike_text}{leg.get('right') or ''} {leg.get('expiry') or ''}".strip())
    if s.get("price") is not None:
        parts.append(f"@ {s['price']}")
    elif s.get("price_range"):
        parts.append(f"@ {s['price_range'][0]}-{s['price_range'][-1]}")
    if s.get("size_text"):
        parts.append(f"({s['size_text']})")
    return " ".join(parts)
