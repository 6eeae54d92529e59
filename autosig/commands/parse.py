"""`autosig parse [--parser-version V]` (the README, "Commands"): JSONL alerts {"id", "text", "created_at", "reply_to"} on stdin,
one result {"id", "kind", "reason", "signals"} per input line on stdout, in order. A reply resolves against the
lines before it. A line that is not a JSON object still gets its result line (unparseable), never a crash."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

import orjson

from autosig.parsing import Alert, parse, versions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--parser-version",
        default=None,
        help="parser version to use (default: AUTOSIG_PARSER_VERSION, else the newest)",
    )


def _as_id(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _dumps(obj: dict[str, Any]) -> str:
    try:
        return orjson.dumps(obj).decode()
    except TypeError:  # lone surrogates, huge integers: the standard library writes any decoded JSON back
        return json.dumps(obj, ensure_ascii=True)


def parse_lines(lines: TextIO, out: TextIO, version: str) -> int:
    """Parses every line; returns how many lines could not be read as alerts."""
    seen: dict[str, Alert] = {}
    bad = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            obj = None
            error = f"line {number} is not JSON: {exc.msg}"
        else:
            error = None if isinstance(obj, dict) else f"line {number} is not a JSON object"
        if error is not None or not isinstance(obj, dict):
            bad += 1
            out.write(_dumps({"id": None, "kind": "unparseable", "reason": error, "signals": []}) + "\n")
            continue
        ident = _as_id(obj.get("id"))
        reply_id = _as_id(obj.get("reply_to"))
        text = obj.get("text")
        alert = Alert(
            text=text if isinstance(text, str) or text is None else json.dumps(text),
            created_at=obj.get("created_at") if isinstance(obj.get("created_at"), str | int | float) else None,
            id=ident,
            reply_to=seen.get(reply_id) if reply_id is not None else None,
            reply_to_id=reply_id,
        )
        if ident is not None:
            seen[ident] = alert  # only what a reply needs (text, time, its own parent), not the whole line
        res = parse(alert, version)
        out.write(_dumps({"id": obj.get("id"), **res}) + "\n")
    return bad


def run(args: argparse.Namespace) -> int:
    version = args.parser_version
    if version is None:
        from autosig.startup import active_version, settings_or_exit

        version = active_version(settings_or_exit())
    if version not in versions():
        print(f"autosig parse: unknown parser version {version!r}; known: {', '.join(versions())}", file=sys.stderr)
        return 2
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="surrogateescape", closefd=False)  # noqa: SIM115
    parse_lines(stdin, sys.stdout, version)
    sys.stdout.flush()
    return 0
