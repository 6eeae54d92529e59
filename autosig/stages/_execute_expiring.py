"""AUTOSIG_CLOSE_EXPIRING_AT: closing AutoSig's option positions that expire today, at a New York time of day.

An option held into its expiry's close is exercised, assigned or expires worthless; a user who sets a time (e.g.
15:45) wants it sold before then instead. Each such close is a decision of AutoSig's own, made once per position
and day like an alert's: channel "autosig", source id `close-expiring:<day>:<contract>`, so its client order id is
stable across restarts and it goes through the same gates (market open, what is available, the fresh bid as its
limit; no bid is `no_price`, never a guess).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from autosig.stages._execute_market import NEW_YORK

CHANNEL = "autosig"
SESSION_CLOSE = "16:00"


def due_closes(holdings: dict[Any, Any], now: datetime, close_at: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(source id, close signal) for each option holding that expires today, once the New York time is at or past
    `close_at` (HH:MM) and before the session's close."""
    local = now.astimezone(NEW_YORK)
    if not close_at <= local.strftime("%H:%M") < SESSION_CLOSE:
        return
    today = local.date()
    for contract, holding in holdings.items():
        if contract.kind != "option" or contract.expiry != today:
            continue
        yield f"close-expiring:{today.isoformat()}:{holding.label}", close_signal(contract)


def close_signal(contract: Any) -> dict[str, Any]:
    """The signal a close of this contract would be, had an analyst written it: no price (the bid sets the limit)."""
    legs = [{"side": "sell", "ratio": leg.ratio, "right": leg.right, "strike": leg.strike, "expiry": leg.expiry}
            for leg in contract.legs]  # fmt: skip
    return {"action": "close", "instrument": contract.instrument, "ticker": contract.ticker, "legs": legs,
            "price": None, "price_range": None, "quantity": None, "fraction": None, "confidence": 1.0,
            "refers_to": None}  # fmt: skip
