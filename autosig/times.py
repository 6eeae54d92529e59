"""Time helpers shared by every layer: reading the timestamps Whop sends. A leaf."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

# Epoch values above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 100_000_000_000
# An epoch as a string: what float() reads, except the words it also takes ("nan", "inf", "1_000")
_EPOCH = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def to_utc(value: Any) -> datetime | None:
    """A Whop timestamp (ISO 8601, or epoch seconds / milliseconds as number or string) as an aware UTC datetime;
    None when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if not _EPOCH.fullmatch(text):  # ISO 8601, the usual case: tried first, as a failed float() is slow
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                return None
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        value = float(text)
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _MS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None
