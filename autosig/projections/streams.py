"""Stream sizes and the integrity problems met while reading.

Sizes come from the last event each stream's projection saw (kept there, so applying an event costs no extra call).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from autosig.events.base import Problem
from autosig.events.record import Event

MAX_PROBLEMS = 100  # the newest ones are listed; `problem_count` keeps the total


class ProblemsProjection:
    def __init__(self) -> None:
        self.problems: deque[Problem] = deque(maxlen=MAX_PROBLEMS)
        self.problem_count = 0

    def problem(self, problem: Problem) -> None:
        # a re-read after a reset meets the same corrupt line again; name it once
        if problem in self.problems:
            return
        self.problems.append(problem)
        self.problem_count += 1

    def view(self) -> list[dict[str, Any]]:
        return [{"stream": p.stream, "line": p.line, "error": p.error} for p in self.problems]


def size_view(last: dict[str, Event | None]) -> dict[str, dict[str, Any]]:
    return {s: {"seq": e.seq if e is not None else 0, "last_ts": e.ts if e is not None else None} for s, e in last.items()}
