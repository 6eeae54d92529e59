"""Placeholder parser used before v1 existed: everything is unparseable. Kept so old parses stay explainable."""

from __future__ import annotations

from typing import Any

VERSION = "0"


def parse(alert: Any) -> dict[str, Any]:
    return {"kind": "unparseable", "reason": "parser v0 reads nothing", "signals": []}
