"""Golden outputs of the frozen parser versions: every field of every result, one line per input, on the rule cases
(tests/parsing/cases.py and the v2 cases, cases_v2*.py), the public corpus and the simulator's bundled alerts. test_golden.py fails when a frozen
version reads any of them differently, because `autosig reprocess` promises that a version number always means the
same reading.

After adding inputs (new rule cases, corpus lines or simulator alerts), add their lines with

    .venv/bin/python -m tests.parsing.golden 1 2        # tests/parsing/data/golden/v1.jsonl and v2.jsonl

which writes lines for new inputs only, and refuses (exit 1, with the differences) when an existing line would
change. A deliberate change of a frozen version's output — which should never happen once the version has
shipped — takes `--force`, and shows up line by line in the diff of the golden file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autosig.parsing import Alert, parser_for

from .cases import cases
from .cases_v2 import cases_v2
from .helpers import CORPUS, DATA, ROOT

GOLDEN = DATA / "golden"
SIMULATOR = ROOT / "autosig" / "sources" / "data" / "alerts.jsonl"
# The simulator's alerts carry no time of their own (it stamps them when served); a fixed Wednesday keeps the
# relative dates they name ("0dte", "weekly", "1/17") reproducible.
SIMULATOR_CREATED_AT = "2026-01-14T15:00:00Z"


def path_of(version: str) -> Path:
    return GOLDEN / f"v{version}.jsonl"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def inputs() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(set name, alerts {"id", "text", "created_at", "reply_to"}) in a fixed order."""
    yield "cases", cases()
    yield "cases_v2", cases_v2()
    yield "corpus", _jsonl(CORPUS)
    yield "simulator", [{**row, "created_at": SIMULATOR_CREATED_AT} for row in _jsonl(SIMULATOR)]


def _alerts(rows: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], Alert]]:
    """Each row as an Alert whose reply chain is the earlier rows, as `autosig parse` resolves it."""
    seen: dict[str, Alert] = {}
    for row in rows:
        reply_id = row.get("reply_to")
        alert = Alert(row["text"], row["created_at"], row["id"], seen.get(reply_id) if reply_id else None, reply_id)
        seen[row["id"]] = alert
        yield row, alert


def line(set_name: str, ident: str, result: dict[str, Any]) -> str:
    """One golden line: stable JSON (keys in the model's order, no whitespace choices left to chance)."""
    return json.dumps({"set": set_name, "id": ident, **result}, ensure_ascii=False, separators=(",", ":"))


def render(version: str) -> list[str]:
    parse = parser_for(version)
    return [line(name, row["id"], parse(alert)) for name, rows in inputs() for row, alert in _alerts(rows)]


def _differences(golden: Any, now: Any, where: str = "") -> Iterator[str]:
    """Field paths where two JSON values differ: "signals[0].confidence: golden 1.0, now 0.9"."""
    if isinstance(golden, dict) and isinstance(now, dict):
        for key in dict.fromkeys([*golden, *now]):
            yield from _differences(golden.get(key), now.get(key), f"{where}.{key}" if where else key)
    elif isinstance(golden, list) and isinstance(now, list) and len(golden) == len(now):
        for i, (a, b) in enumerate(zip(golden, now, strict=True)):
            yield from _differences(a, b, f"{where}[{i}]")
    elif golden != now or type(golden) is not type(now):
        yield f"{where or 'result'}: golden {json.dumps(golden)}, now {json.dumps(now)}"


@dataclass
class Diff:
    """How a version's output differs from its golden, by input key ("cases/act-bto")."""

    changed: dict[str, list[str]]  # key -> field differences
    missing: list[str]  # inputs without a golden line
    extra: list[str]  # golden lines whose input is gone

    def describe(self, limit: int = 5) -> str:
        """The first `limit` changed inputs with their field differences, then counts."""
        parts = [f"{key}:\n    " + "\n    ".join(fields) for key, fields in list(self.changed.items())[:limit]]
        if len(self.changed) > limit:
            parts.append(f"… and {len(self.changed) - limit} more inputs read differently")
        if self.missing:
            parts.append(f"{len(self.missing)} inputs have no golden line, e.g. {', '.join(self.missing[:5])}")
        if self.extra:
            parts.append(f"{len(self.extra)} golden lines have no input any more, e.g. {', '.join(self.extra[:5])}")
        return "\n".join(parts)


def compare(version: str) -> Diff:
    path = path_of(version)
    golden = {f"{row['set']}/{row['id']}": row for row in _jsonl(path)} if path.exists() else {}
    current = {f"{row['set']}/{row['id']}": row for row in map(json.loads, render(version))}
    changed = {
        key: list(_differences(golden[key], row))
        for key, row in current.items()
        if key in golden and row != golden[key]
    }
    return Diff(changed, [k for k in current if k not in golden], [k for k in golden if k not in current])


def write(version: str, force: bool = False) -> tuple[Path, Diff]:
    """Writes the golden of `version`. Without `force`, raises ValueError (describing the differences) when an
    existing line would change."""
    diff = compare(version)
    if diff.changed and not force:
        raise ValueError(diff.describe())
    path = path_of(version)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{text}\n" for text in render(version)), encoding="utf-8")
    return path, diff


def main(argv: list[str]) -> int:
    force = "--force" in argv
    for version in [a for a in argv if a != "--force"] or ["1", "2"]:
        try:
            path, diff = write(version, force)
        except ValueError as exc:
            print(f"parser v{version} reads existing golden inputs differently (add --force only if intended):")
            print(exc)
            return 1
        print(f"{path.name}: {len(diff.missing)} added, {len(diff.extra)} removed, {len(diff.changed)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
