"""Versioned parsers (DESIGN §5). A parser is a pure function of an Alert; versions are integers as strings.

    result = parse(Alert(text="BTO 2 SPY 600c 1/17 @ 1.25", created_at="2026-01-10T15:00:00Z"), version="1")
    # -> {"kind": "signal", "reason": None, "signals": [...]}
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

# Registered parser modules; each has VERSION and parse(alert) -> result dict. Add new versions here.
_MODULES = ("autosig.parsing.v0",)


@dataclass(frozen=True, slots=True)
class Alert:
    """What a parser may look at: the text, when it was written, and the alert it replies to (if known)."""

    text: str | None
    created_at: str | int | float | None
    id: str | None = None
    reply_to: Alert | None = None
    reply_to_id: str | None = None  # set even when the replied-to alert is unknown


def _registry() -> dict[str, Any]:
    modules = [importlib.import_module(name) for name in _MODULES]
    return {m.VERSION: m for m in modules}


def versions() -> list[str]:
    """Registered versions, oldest first (ordered numerically)."""
    return sorted(_registry(), key=int)


def newest_version() -> str:
    return versions()[-1]


def parse(alert: Alert, version: str | None = None) -> dict[str, Any]:
    """The parse result {"kind", "reason", "signals"} of one alert by one version. Never raises for any alert."""
    module = _registry()[version or newest_version()]
    return module.parse(alert)
