"""Readers of untrusted signal fields. A signal is written by a parser from a stranger's text and may carry anything
in any field (a recorded event is never rewritten), so every rule reads its fields through these and treats what it
cannot read as missing."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any


def number(value: Any) -> float | None:
    """A finite number, else None (bools, strings, NaN and infinities are not prices or sizes)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def positive(value: Any) -> float | None:
    result = number(value)
    return result if result is not None and result > 0 else None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def decimal(value: float | int | str | Decimal) -> Decimal:
    """The decimal a number was written as: 2.01 is Decimal("2.01"), not the binary float's 2.00999999999999978...
    (the shortest repr of a float reads back as the same float, so it is the number the alert said)."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)
