"""The signal model (the README, "Parsing alerts"): plain dicts with exactly these keys, in this order (they are serialized as-is
into `alert.parsed` events and `autosig parse` output)."""

from __future__ import annotations

from typing import Any

ACTIONS = ("open", "close", "trim", "add", "update")
INSTRUMENTS = ("stock", "option", "spread", "future")
KINDS = ("signal", "non_signal", "unparseable")
TAGS = ("lotto", "0dte", "swing", "high_risk")

SIGNAL_FIELDS = (
    "action", "instrument", "ticker", "legs", "price", "price_range", "quantity", "size_pct", "fraction", "stop",
    "targets", "tags", "size_text", "limit_kind", "entry_price", "confidence", "refers_to",
)  # fmt: skip
LEG_FIELDS = ("side", "ratio", "right", "strike", "expiry")


def new_signal(**values: Any) -> dict[str, Any]:
    """A signal with every field present: unknown scalars null, lists empty."""
    unknown = set(values) - set(SIGNAL_FIELDS)
    if unknown:
        raise KeyError(f"not signal fields: {sorted(unknown)}")
    signal: dict[str, Any] = {name: None for name in SIGNAL_FIELDS}
    signal["legs"], signal["targets"], signal["tags"] = [], [], []
    signal.update(values)
    return signal


def new_leg(side: str, right: str, strike: float | None, expiry: str | None, ratio: int = 1) -> dict[str, Any]:
    return {"side": side, "ratio": ratio, "right": right, "strike": strike, "expiry": expiry}


def result(kind: str, reason: str | None = None, signals: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One parse result: {"kind", "reason", "signals"}; reason is null for signals."""
    return {"kind": kind, "reason": None if kind == "signal" else reason, "signals": signals or []}


def non_signal(reason: str) -> dict[str, Any]:
    return result("non_signal", reason)


def unparseable(reason: str) -> dict[str, Any]:
    return result("unparseable", reason)
