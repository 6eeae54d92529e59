"""A second parser version for tests, registered through AUTOSIG_EXTRA_PARSERS=autosig_test_parser_v2 (with this
directory on PYTHONPATH), so it works in subprocesses too. It answers like v1 but marks non-signal reasons, so
the reprocess summary has changes to report. AUTOSIG_TEST_PARSER_DELAY (seconds) slows every parse down, so a
test can kill `autosig reprocess` midway."""

from __future__ import annotations

import os
import time
from typing import Any

from autosig.parsing import v1

VERSION = "2"
_DELAY = float(os.environ.get("AUTOSIG_TEST_PARSER_DELAY") or 0)


def parse(alert: Any) -> dict[str, Any]:
    if _DELAY:
        time.sleep(_DELAY)
    result = v1.parse(alert)
    if result["kind"] == "non_signal":
        result = {**result, "reason": f"v2: {result['reason']}"}
    return result
