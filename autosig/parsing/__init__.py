"""Versioned parsers. A parser is a pure function of an Alert; versions are integers as strings, ordered numerically.

    result = parse(Alert(text="BTO 2 SPY 600c 1/17 @ 1.25", created_at="2026-01-10T15:00:00Z"), version="1")
    # -> {"kind": "signal", "reason": None, "signals": [...]}
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Registered parser modules; each has VERSION and parse(alert) -> result dict. Add new versions here.
_MODULES = ("autosig.parsing.v0", "autosig.parsing.v1", "autosig.parsing.v2")


@dataclass(frozen=True, slots=True)
class Alert:
    """What a parser may look at: the text, when it was written, and the alert it replies to (if known)."""

    text: str | None
    created_at: str | int | float | None
    id: str | None = None
    reply_to: Alert | None = None
    reply_to_id: str | None = None  # set even when the replied-to alert is unknown


# Extra parser modules (AUTOSIG_EXTRA_PARSERS, registered by the entry points through register()): a way to try a
# candidate parser on history with `autosig reprocess` before it is added to _MODULES, and how tests register one.
_extra: tuple[str, ...] = ()
_cache: dict[tuple[str, ...], dict[str, Any]] = {}


def register(module_names: tuple[str, ...] | list[str]) -> None:
    """Registers more parser modules (each with VERSION and parse(alert)) for this process. Raises ImportError when
    one cannot be imported, ValueError when one lacks VERSION or parse."""
    global _extra
    names = tuple(n for n in module_names if n not in _MODULES and n not in _extra)
    for name in names:
        module = importlib.import_module(name)
        if not isinstance(getattr(module, "VERSION", None), str) or not callable(getattr(module, "parse", None)):
            raise ValueError(f"parser module {name} has no VERSION string or parse function")
    _extra = _extra + names


def _module_names() -> tuple[str, ...]:
    return _MODULES + _extra


def _registry() -> dict[str, Any]:
    names = _module_names()
    registry = _cache.get(names)
    if registry is None:
        modules = [importlib.import_module(name) for name in names]
        registry = _cache[names] = {m.VERSION: m for m in modules}
    return registry


def versions() -> list[str]:
    """Registered versions, oldest first (ordered numerically)."""
    return sorted(_registry(), key=int)


def newest_version() -> str:
    return versions()[-1]


def active_version(requested: str | None) -> str:
    """The version to parse with: the one asked for (AUTOSIG_PARSER_VERSION), else the newest registered."""
    return requested or newest_version()


def parser_for(version: str) -> Callable[[Alert], dict[str, Any]]:
    """The parse function of one version, looked up once (for loops over many alerts)."""
    return _registry()[version].parse


def parse(alert: Alert, version: str | None = None) -> dict[str, Any]:
    """The parse result {"kind", "reason", "signals"} of one alert by one version. Never raises for any alert."""
    module = _registry()[version or newest_version()]
    return module.parse(alert)
