"""How right a parser version is, in the terms that cost money: each expected alert is read right, a wrong order (a
reading at confidence >= the executor's gate that would trade differently from what the analyst meant: wrong action,
ticker, instrument, right, strike, expiry, side, or a signal where there is none), or a safe miss (anything else
that is not right: no signal, or a wrong reading the gate stops). The corpus scorer decides "right".

    .venv/bin/python -m tests.parsing.scoring 1 2       # the v1-vs-v2 tables of the README, in Markdown
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from autosig.parsing import Alert, parser_for

from .cases import cases
from .cases_v2 import cases_v2
from .helpers import CORPUS, checker

GATE = 0.8  # AUTOSIG_MIN_CONFIDENCE's default: at or above it a signal becomes an order
BANDS = ((GATE, "≥ 0.8"), (0.5, "0.5–0.8"), (0.0, "< 0.5"))
# What makes two readings different orders (the rest — price, stop, targets, size words — changes no contract)
ORDER_FIELDS = ("action", "ticker", "instrument")
LEG_ORDER_FIELDS = ("side", "right", "strike", "expiry")


def corpus() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def sets() -> dict[str, list[dict[str, Any]]]:
    """The scored sets: the public corpus and the case table (the rule cases and the v2 families)."""
    return {"public corpus": corpus(), "case table": cases() + cases_v2()}


def results(version: str, rows: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(row, result) for each row, replies resolved against the rows before it as `autosig parse` does."""
    parse = parser_for(version)
    seen: dict[str, Alert] = {}
    for row in rows:
        reply_id = row.get("reply_to")
        alert = Alert(row["text"], row["created_at"], row["id"], seen.get(reply_id) if reply_id else None, reply_id)
        seen[row["id"]] = alert
        yield row, parse(alert)


def _band(confidence: float) -> str:
    return next(name for low, name in BANDS if confidence >= low)


def _differs(expected: dict[str, Any], got: dict[str, Any]) -> bool:
    """The two signals would be different orders, on the fields the expectation names."""
    for name in ORDER_FIELDS:
        if name in expected and expected[name] != got.get(name):
            return True
    if "legs" in expected:
        legs = got.get("legs") or []
        if len(legs) != len(expected["legs"]):
            return True
        for want, have in zip(expected["legs"], legs, strict=True):
            if any(k in want and want[k] != have.get(k) for k in LEG_ORDER_FIELDS):
                return True
    return False


def _expected_signals(expect: dict[str, Any]) -> list[dict[str, Any]]:
    return expect.get("signals", []) if expect["kind"] == "signal" else []


def would_differ(expect: dict[str, Any], result: dict[str, Any], i: int) -> bool:
    """Signal i would trade differently from what the analyst meant (were it above the gate)."""
    wanted = _expected_signals(expect)
    return i >= len(wanted) or _differs(wanted[i], result["signals"][i])


def wrong_orders(expect: dict[str, Any], result: dict[str, Any]) -> list[int]:
    """Indexes of the signals at or above the gate that would trade differently from the expectation."""
    signals = result.get("signals") or []
    return [i for i, s in enumerate(signals) if s["confidence"] >= GATE and would_differ(expect, result, i)]


def _reading_wrong(expect: dict[str, Any], result: dict[str, Any], i: int) -> bool:
    """Signal i disagrees with the expectation on any checked field, or is not expected at all."""
    wanted = _expected_signals(expect)
    if i >= len(wanted):
        return True
    one = {**result, "signals": [result["signals"][i]]}
    return bool(checker().check({"kind": "signal", "signals": [wanted[i]]}, one))


@dataclass
class Score:
    total: int = 0
    right: int = 0
    wrong_order: int = 0
    safe_miss: int = 0
    wrong_order_ids: list[str] = field(default_factory=list)
    # confidence band -> [signals, wrong readings (any checked field), would trade wrongly]
    bands: dict[str, list[int]] = field(default_factory=lambda: {name: [0, 0, 0] for _, name in BANDS})

    def add(self, row: dict[str, Any], result: dict[str, Any]) -> str:
        """Counts one alert's result; returns its verdict ("right", "wrong order" or "safe miss")."""
        expect = row["expect"]
        self.total += 1
        for i, signal in enumerate(result.get("signals") or []):
            band = self.bands[_band(signal["confidence"])]
            band[0] += 1
            band[1] += _reading_wrong(expect, result, i)
            band[2] += would_differ(expect, result, i)
        if not checker().check(expect, result):
            self.right += 1
            return "right"
        if wrong_orders(expect, result):
            self.wrong_order += 1
            self.wrong_order_ids.append(row["id"])
            return "wrong order"
        self.safe_miss += 1
        return "safe miss"


def score(version: str, rows: Iterable[dict[str, Any]]) -> Score:
    rows = list(rows)
    total = Score()
    for row, result in results(version, rows):
        total.add(row, result)
    return total


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def markdown(versions: list[str]) -> str:
    """The side-by-side table (right / wrong order / safe miss) and the calibration table (by confidence band)."""
    lines = [
        "| set | version | alerts | read right | wrong order (≥ 0.8) | safe miss |",
        "|---|---|---|---|---|---|",
    ]
    calibration = [
        "| set | version | band | signals | wrong readings | would trade wrongly |",
        "|---|---|---|---|---|---|",
    ]
    for name, rows in sets().items():
        for version in versions:
            s = score(version, rows)
            lines.append(
                f"| {name} | v{version} | {s.total} | {s.right} ({_pct(s.right, s.total)}) | {s.wrong_order} | "
                f"{s.safe_miss} |"
            )
            for band, (count, wrong, orders) in s.bands.items():
                calibration.append(f"| {name} | v{version} | {band} | {count} | {wrong} | {orders} |")
    return "\n".join(lines) + "\n\n" + "\n".join(calibration)


if __name__ == "__main__":
    print(markdown(sys.argv[1:] or ["1", "2"]))
