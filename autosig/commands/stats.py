"""`autosig stats [--json]` (the README, "Commands"): counts per stream, type and parse kind, and the ingestion state — read
through the same projections the web serves."""

from __future__ import annotations

import argparse
import json
import sys

from autosig.clock import Clock
from autosig.commands._store import add_store_argument, open_from_args
from autosig.commands.tail import safe
from autosig.config import load_settings
from autosig.projections import Projections
from autosig.schema import CONTROL, ORDERS, PARSED, RAW, WORKER
from autosig.startup import active_version


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        active = active_version(settings)
        web_defaults = dict(
            poll_interval_seconds=settings.poll_interval_seconds,
            stale_after_seconds=settings.stale_after_seconds,
            dry_run=settings.dry_run,
            live_trading=settings.live_trading,
        )
    except Exception:  # noqa: BLE001 - --store may be given with an environment meant for another service
        from autosig.parsing import newest_version

        active, web_defaults = newest_version(), {}
    projections = Projections(active, **web_defaults)
    with open_from_args(args, writer="stats") as store:
        for stream in (RAW, PARSED, WORKER, ORDERS, CONTROL):
            for event in store.read(stream, on_problem=projections.problem):
                projections.apply(stream, event)
    status = projections.status(Clock().time())
    stats = projections.stats()
    if args.json:
        print(json.dumps({"status": status, "types": stats["types"], "parse_stats": stats["parse_stats"]}))
        return 0
    print(f"{'stream':<8} {'events':>9} {'last seq':>9}  last event")
    for stream, info in status["streams"].items():
        total = sum(stats["types"].get(stream, {}).values())
        print(f"{stream:<8} {total:>9} {info['seq']:>9}  {info['last_ts'] or '-'}")
        for type_, count in sorted(stats["types"].get(stream, {}).items()):
            print(f"  {type_:<20} {count:>9}")
    print()
    print(f"parse kinds (active parser v{status['parser_version']}):")
    for version, row in stats["parse_stats"].items():
        print(
            f"  v{version:<6} signal {row['signal']:>7}  non_signal {row['non_signal']:>7}  "
            f"unparseable {row['unparseable']:>7}  total {row['total']:>7}"
        )
    if not stats["parse_stats"]:
        print("  (nothing parsed yet)")
    print()
    b = status["banner"]
    w = status["worker"]
    lag = status["lag"]
    verdict = "STALE" if status["stale"] else "fresh"
    print(f"ingestion: {verdict} [{b['level']}] {b['headline']}" + (f" since {b['since']}" if b["since"] else ""))
    print(f"  {safe(b['detail'], 300)}")
    print(f"  last poll {w['last_poll_at'] or 'never'}, last success {w['last_success_at'] or 'never'}, "
          f"{w['consecutive_failures']} failures in a row, parse backlog {lag['parse_backlog']}")
    if w["last_error"]:
        e = w["last_error"]
        print(f"  last error {safe(e['reason'], 20)} (HTTP {e['http_status']}) at {e['at']}: {safe(e['detail'])}")
    execution = status.get("execution") or {}
    strip = execution.get("strip") or {}
    headline = strip.get("headline") or "Executor never started — nothing is traded"
    print(f"  execution: {headline}" + (f" {strip['at']}" if strip.get("at") else "")
          + ("  (paused)" if strip.get("paused") else ""))  # fmt: skip
    for p in status["problems"]:
        print(f"  problem: {p['stream']} line {p['line']}: {p['error']}", file=sys.stderr)
    return 0
