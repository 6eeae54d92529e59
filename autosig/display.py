"""Short readable texts of signals, shared by the dashboard, the commands and the notifications. A leaf."""

from __future__ import annotations

from typing import Any


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) >= 1000 else f"{value:g}"
    return str(value)


def contract(signal: dict[str, Any]) -> str:
    """A short readable contract: "600C 2027-01-17", "450/455C 2026-12-29 debit", "stock", "/ES future"."""
    legs = signal.get("legs") or []
    if legs:
        parts = []
        for leg in legs:
            strike = leg.get("strike")
            right = leg.get("right") or ""
            text = (_num(strike) if strike is not None else "?") + right
            if leg.get("expiry"):
                text += " " + str(leg["expiry"])
            if len(legs) > 1:
                text = f"{leg.get('side') or ''} {text}".strip()
            parts.append(text)
        out = " / ".join(parts)
        if signal.get("limit_kind"):
            out += f" ({signal['limit_kind']})"
        return out
    return str(signal.get("instrument") or "")


def price(signal: dict[str, Any]) -> str:
    if signal.get("price") is not None:
        return _num(signal["price"])
    rng = signal.get("price_range")
    if rng:
        return "–".join(_num(v) for v in rng)
    return ""
