"""`make bench`: every benchmark module (benchmarks/bench_*.py, each with `run(args) -> list[Row]`), one table.

Options: --only NAME (substring of module names), --size N (raw alerts for the large-log benchmarks).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

from benchmarks.common import Row


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def print_table(rows: list[Row]) -> None:
    headers = ("group", "figure", "value", "unit", "baseline (same run)", "baseline value", "ratio", "goal", "met")
    table = [
        (
            r.group,
            r.name,
            _fmt(r.value),
            r.unit,
            r.baseline,
            _fmt(r.baseline_value),
            _fmt(r.ratio()),
            r.goal,
            {True: "yes", False: "NO", None: ""}[r.met],
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *table, strict=False)]
    for line in (headers, tuple("-" * w for w in widths), *table):
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=False)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--only", default="", help="run only modules whose name contains this")
    parser.add_argument("--size", type=int, default=None, help="raw alerts in the large generated logs")
    parser.add_argument("--out", default="benchmarks/results.json")
    args = parser.parse_args(argv)
    here = Path(__file__).parent
    rows: list[Row] = []
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if not info.name.startswith("bench_") or args.only not in info.name:
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        started = time.perf_counter()
        print(f"running {info.name} ...", file=sys.stderr, flush=True)
        rows.extend(module.run(args))
        print(f"  {info.name} took {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    print_table(rows)
    Path(args.out).write_text(json.dumps([r.as_dict() for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
