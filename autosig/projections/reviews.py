"""Reviews: a person's reading of an alert the parser did not parse, or parsed with low confidence.

Each review is a `review.recorded` event in the `reviews` stream:

    {"raw_seq": 12, "source_id": "msg_…", "parser_version": "1", "parser_kind": "unparseable",
     "expect": {"kind": "signal", "reason": null, "signals": [ … ]}, "note": "…"}

keyed `review:<raw_seq>:<sha256 of the canonical body, 16 hex>` so that recording the same reading twice is one event.
The newest review of an alert is the one shown (a reviewer may correct an earlier review: both stay in the log).

Pure: apply(event) and read methods; building and validating a review body is here too, so the web and the tests
share one definition.
"""

from __future__ import annotations

import json
import math
from typing import Any

from autosig.events.record import Event
from autosig.parsing.model import ACTIONS, INSTRUMENTS, KINDS, SIGNAL_FIELDS, new_leg, new_signal
from autosig.schema import REVIEW_RECORDED

# Signals below this confidence are queued for review, as are alerts that did not parse at all.
LOW_CONFIDENCE = 0.7
MAX_NOTE = 2_000
MAX_SIGNALS = 20


class ReviewError(ValueError):
    """A review body that cannot be recorded; the message says what to fix."""


class ReviewsProjection:
    """The reviews recorded so far, by raw seq (newest wins) and in recording order."""

    def __init__(self) -> None:
        self._by_raw: dict[int, dict[str, Any]] = {}
        self.count = 0
        self.last_event: Event | None = None

    def apply(self, event: Event) -> None:
        self.last_event = event
        if event.type != REVIEW_RECORDED or not isinstance(event.data, dict):
            return
        raw_seq = event.data.get("raw_seq")
        if type(raw_seq) is not int:
            return
        self.count += 1
        self._by_raw[raw_seq] = {**event.data, "seq": event.seq, "recorded_at": event.ts}

    def review(self, raw_seq: int) -> dict[str, Any] | None:
        """The newest review of this raw alert (a copy), or None."""
        found = self._by_raw.get(raw_seq)
        return json.loads(json.dumps(found)) if found is not None else None

    def reviews(self) -> list[dict[str, Any]]:
        """The newest review of each reviewed alert, in raw seq order."""
        return [json.loads(json.dumps(self._by_raw[s])) for s in sorted(self._by_raw)]

    def reviewed(self, raw_seq: int) -> bool:
        return raw_seq in self._by_raw


def needs_review(kind: str | None, signals: Any, threshold: float = LOW_CONFIDENCE) -> str | None:
    """Why a parse belongs in the review queue ("unparseable", "low confidence 0.55"), or None."""
    if kind == "unparseable":
        return "unparseable"
    if kind != "signal":
        return None
    lowest = None
    for signal in signals or ():
        value = signal.get("confidence") if isinstance(signal, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            lowest = value if lowest is None else min(lowest, value)
    if lowest is not None and lowest < threshold:
        return f"low confidence {lowest:g}"
    return None


# --- building a review from a form or JSON ------------------------------------------------------------------------


def _number(value: Any, name: str, positive: bool = False) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ReviewError(f"{name} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ReviewError(f"{name} must be a number") from None
    if not math.isfinite(number) or (positive and number <= 0):
        raise ReviewError(f"{name} must be a {'positive ' if positive else ''}finite number")
    return number


def _word(value: Any, name: str, allowed: tuple[str, ...] | None = None, max_len: int = 20) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ReviewError(f"{name} must be text")
    text = value.strip()
    if not text:
        return None
    if len(text) > max_len:
        raise ReviewError(f"{name} is too long")
    if allowed is not None and text not in allowed:
        raise ReviewError(f"{name} must be one of {', '.join(allowed)}")
    return text


def signal_from_form(form: dict[str, Any]) -> dict[str, Any]:
    """One signal from the small form: action, instrument, ticker, one leg (side, right, strike, expiry), price,
    quantity. Missing values stay null, as the parser leaves them."""
    action = _word(form.get("action"), "action", ACTIONS)
    if action is None:
        raise ReviewError("action is required for a signal")
    instrument = _word(form.get("instrument"), "instrument", INSTRUMENTS)
    ticker = _word(form.get("ticker"), "ticker", max_len=12)
    legs = []
    right = _word(form.get("right"), "right", ("C", "P", "c", "p"))
    strike = _number(form.get("strike"), "strike", positive=True)
    expiry = _word(form.get("expiry"), "expiry", max_len=10)
    if right or strike is not None or expiry:
        side = _word(form.get("side"), "side", ("buy", "sell")) or ("sell" if action in ("trim", "close") else "buy")
        legs.append(new_leg(side, right.upper() if right else None, strike, expiry))  # type: ignore[arg-type]
        instrument = instrument or "option"
    quantity = _number(form.get("quantity"), "quantity", positive=True)
    return new_signal(
        action=action,
        instrument=instrument,
        ticker=ticker.upper() if ticker else None,
        legs=legs,
        price=_number(form.get("price"), "price"),
        quantity=int(quantity) if quantity is not None and quantity.is_integer() else quantity,
        fraction=_number(form.get("fraction"), "fraction", positive=True),
    )


def signals_from_json(text: str) -> list[dict[str, Any]]:
    """Signals given as JSON: one signal object or a list of them; unknown fields are refused."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ReviewError(f"signals JSON does not parse: {exc}") from None
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > MAX_SIGNALS:
        raise ReviewError(f"give between 1 and {MAX_SIGNALS} signals")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise ReviewError("each signal must be a JSON object")
        try:
            signal = new_signal(**item)
        except KeyError as exc:
            raise ReviewError(f"unknown signal fields: {exc.args[0]}") from None
        if signal["action"] not in ACTIONS:
            raise ReviewError(f"action must be one of {', '.join(ACTIONS)}")
        if signal["instrument"] is not None and signal["instrument"] not in INSTRUMENTS:
            raise ReviewError(f"instrument must be one of {', '.join(INSTRUMENTS)}")
        if not isinstance(signal["legs"], list) or not all(isinstance(leg, dict) for leg in signal["legs"]):
            raise ReviewError("legs must be a list of objects")
        out.append({k: signal[k] for k in SIGNAL_FIELDS})
    return out


def build_review(form: dict[str, Any], alert: dict[str, Any]) -> dict[str, Any]:
    """The data of a review.recorded event from the form fields and the alert being reviewed (an /api/alerts-like
    entry with raw_seq, source_id, kind and parser_version)."""
    kind = _word(form.get("kind"), "kind", KINDS)
    if kind is None:
        raise ReviewError("kind is required")
    reason = _word(form.get("reason"), "reason", max_len=200)
    signals: list[dict[str, Any]] = []
    if kind == "signal":
        text = form.get("signals_json")
        signals = signals_from_json(text) if isinstance(text, str) and text.strip() else [signal_from_form(form)]
        reason = None
    note = form.get("note") if isinstance(form.get("note"), str) else ""
    if len(note) > MAX_NOTE:
        raise ReviewError("note is too long")
    return {
        "raw_seq": alert["raw_seq"],
        "source_id": alert["source_id"],
        "parser_version": alert.get("parser_version"),
        "parser_kind": alert.get("kind"),
        "expect": {"kind": kind, "reason": reason, "signals": signals},
        "note": note.strip(),
    }


__all__ = [
    "LOW_CONFIDENCE",
    "ReviewError",
    "ReviewsProjection",
    "build_review",
    "needs_review",
]
