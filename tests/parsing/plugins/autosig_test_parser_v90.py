"""A parser version for tests only, registered through AUTOSIG_EXTRA_PARSERS=autosig_test_parser_v90 (with this
directory on PYTHONPATH), so it works in subprocesses too. Numbered far above the real versions so it never takes
one's number, it answers like the newest real version below it but marks non-signal reasons, so the reprocess
summary has changes to report. AUTOSIG_TEST_PARSER_DELAY (seconds) slows every parse down, so a test can kill
`autosig reprocess` midway."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from autosig.parsing import parser_for, versions

VERSION = "90"
_DELAY = float(os.environ.get("AUTOSIG_TEST_PARSER_DELAY") or 0)
_base: list[Callable[[Any], dict[str, Any]]] = []


def base_version() -> str:
    """The version this one answers like: the newest registered below it."""
    return max((v for v in versions() if int(v) < int(VERSION)), key=int)


def parse(alert: Any) -> dict[str, Any]:
    if _DELAY:
        time.sleep(_DELAY)
    if not _base:  # looked up on first use: the registry is still being built while this module is imported
        _base.append(parser_for(base_version()))
    result = _base[0](alert)
    if result["kind"] == "non_signal":
        result = {**result, "reason": f"v{VERSION}: {result['reason']}"}
    return result
