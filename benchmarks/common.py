"""What every benchmark shares: a result row (figure beside its same-run baseline), medians, percentiles."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class Row:
    group: str  # e.g. "events", "parser", "web"
    name: str  # what was measured
    value: float
    unit: str
    baseline: str = ""  # what it is compared with, measured in the same run
    baseline_value: float | None = None
    goal: str = ""  # e.g. ">= 0.7x baseline", "p99 <= 5 ms"
    met: bool | None = None

    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ratio"] = self.ratio()
        return d


def median_of(runs: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(runs))


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
