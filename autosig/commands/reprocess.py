"""`autosig reprocess --parser-version V [--store URL]`: parses every raw event that has no parse by version V and
appends the parses in batches, on the stage runner with the worker's own parse stage.

Safe to rerun and to kill: every parse is appended under its key parse:<raw seq>:<V>, so a rerun appends only what
is missing and a run killed midway is finished by the next (the store drops a torn batch tail). Safe beside a live
worker: the store serializes writers, keys make a parse the worker already appended a no-op, and raw events that
arrive while it runs are picked up before it ends. Ends with a summary against the previous parser version.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from tqdm import tqdm

from autosig.events import Event, EventStore, Problem, open_store
from autosig.parsing import versions
from autosig.schema import PARSED, RAW, RAW_TYPES, Draft
from autosig.stages.parse import ParseStage, parsed_draft
from autosig.stages.runner import StageRunner

BATCH = 500
EXAMPLES = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parser-version", default=None, help="version to parse with (default: the active one)")
    parser.add_argument(
        "--store", default=None, help="store URL (default: AUTOSIG_STORE_URL, else file:AUTOSIG_LOG_DIR)"
    )
    parser.add_argument("--batch", type=int, default=BATCH, help=f"parses per append (default {BATCH})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def previous_version(version: str) -> str | None:
    older = [v for v in versions() if int(v) < int(version)]
    return older[-1] if older else None


def _digest(data: dict[str, Any]) -> bytes:
    """What a parse says, independent of which run wrote it (kind, reason and signals)."""
    return orjson.dumps([data.get("kind"), data.get("reason"), data.get("signals")], option=orjson.OPT_SORT_KEYS)


def describe(data: dict[str, Any] | None) -> str:
    """One line for a parse: 'signal: open SPY 600C 2025-01-17 @ 1.25' or 'unparseable (missing strike)'."""
    if data is None:
        return "(none)"
    if data.get("kind") != "signal":
        return f"{data.get('kind')} ({data.get('reason')})"
    parts = []
    for s in data.get("signals") or []:
        legs = " ".join(
            f"{'+' if leg.get('side') == 'buy' else '-'}{leg.get('strike'):g}{leg.get('right')} {leg.get('expiry') or '?'}"
            for leg in s.get("legs") or []
            if isinstance(leg.get("strike"), int | float)
        )
        price = s.get("price") if s.get("price") is not None else s.get("price_range")
        parts.append(" ".join(str(x) for x in (s.get("action"), s.get("ticker"), legs, f"@ {price}") if x))
    return "signal: " + "; ".join(parts)


@dataclass
class Summary:
    version: str
    previous: str | None
    appended: int = 0
    already: int = 0
    raw_events: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    previous_kinds: Counter[str] = field(default_factory=Counter)
    compared: int = 0
    changed: int = 0
    examples: list[tuple[int, str, str, str]] = field(default_factory=list)
    problems: int = 0

    def lines(self) -> list[str]:
        out = [
            f"parser v{self.version}: {self.raw_events} raw events, {self.appended} parses appended, "
            f"{self.already} already parsed",
            f"  v{self.version} kinds: {_kinds(self.kinds)}",
        ]
        if self.previous is None:
            out.append("  no previous parser version to compare with")
        else:
            out.append(f"  v{self.previous} kinds: {_kinds(self.previous_kinds)}")
            out.append(f"  changed against v{self.previous}: {self.changed} of {self.compared} alerts parsed by both")
            for seq, text, before, after in self.examples:
                out.append(f"  raw {seq}: {text}")
                out.append(f"      v{self.previous}: {before}")
                out.append(f"      v{self.version}: {after}")
        if self.problems:
            out.append(f"  {self.problems} unreadable lines skipped (see `autosig verify`)")
        return out


def _kinds(counts: Counter[str]) -> str:
    return ", ".join(f"{k} {counts.get(k, 0)}" for k in ("signal", "non_signal", "unparseable")) or "-"


def _short(text: Any, width: int = 80) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


class _Reprocess(ParseStage):
    """The parse stage from the start of the raw stream, skipping what version V already parsed and keeping the
    summary: every raw event is seen (replies need the versions before them), only the missing parses are drafted."""

    name = "reprocess"

    def __init__(self, version: str, authors: frozenset[str], summary: Summary, done: dict[int, bytes],
                 before: dict[int, bytes], bar: tqdm) -> None:  # fmt: skip
        super().__init__(version, authors)
        self.summary, self.done, self.before, self.bar = summary, done, before, bar

    def recover(self, store: EventStore) -> int:
        return 0

    def handle(self, event: Event) -> list[Draft]:
        self.bar.update(1)
        if event.type not in RAW_TYPES:
            return []
        self.ctx.add(event)
        summary = self.summary
        summary.raw_events += 1
        drafts = []
        existing = self.done.get(event.seq)
        if existing is not None:
            summary.already += 1
            data = _from_digest(existing)
        else:
            data = self.parse(event)
            drafts.append(parsed_draft(data))
            summary.appended += 1
        summary.kinds[str(data["kind"])] += 1
        old = self.before.get(event.seq)
        if old is not None:
            summary.compared += 1
            digest = existing if existing is not None else _digest(data)
            if old != digest:
                summary.changed += 1
                if len(summary.examples) < EXAMPLES:
                    text = _short(self.ctx.text_of(event))
                    summary.examples.append((event.seq, text, describe(_from_digest(old)), describe(data)))
        return drafts


def reprocess(
    store: EventStore, version: str, *, authors: frozenset[str] = frozenset(), batch: int = BATCH, progress: bool = True
) -> Summary:
    """Appends a parse by `version` for every raw event lacking one; returns what it did and how it compares."""
    previous = previous_version(version)
    summary = Summary(version, previous)

    def problem(_: Problem) -> None:
        summary.problems += 1

    done: dict[int, bytes] = {}  # raw seq -> digest of the existing parse by `version`
    before: dict[int, bytes] = {}  # raw seq -> digest of the parse by the previous version (compact: 100k fit)
    for ev in store.read(PARSED, on_problem=problem):
        data = ev.data
        seq = data.get("raw_seq")
        if not isinstance(seq, int):
            continue
        if data.get("parser_version") == version:
            done.setdefault(seq, _digest(data))
        elif previous is not None and data.get("parser_version") == previous and seq not in before:
            before[seq] = _digest(data)
            summary.previous_kinds[str(data.get("kind"))] += 1

    bar = tqdm(total=store.last_seq(RAW), unit="alert", file=sys.stderr, disable=not progress, mininterval=0.5)
    runner = StageRunner(store, _Reprocess(version, authors, summary, done, before, bar), batch=batch,
                         on_problem=problem)  # fmt: skip
    runner.recover()
    # Raw events that arrive while it runs are picked up before it ends.
    while runner.catch_up():
        bar.total = max(bar.total or 0, store.last_seq(RAW))
    bar.close()
    return summary


def _from_digest(digest: bytes) -> dict[str, Any]:
    kind, reason, signals = orjson.loads(digest)
    return {"kind": kind, "reason": reason, "signals": signals}


def run(args: argparse.Namespace) -> int:
    from autosig.startup import active_version, settings_or_exit

    settings = settings_or_exit()
    version = args.parser_version or active_version(settings)
    if version not in versions():
        print(f"autosig reprocess: unknown parser version {version!r}; known: {', '.join(versions())}", file=sys.stderr)
        return 2
    url = args.store or settings.store_url
    store = open_store(url, writer="reprocess", fsync=settings.fsync, tail_poll_seconds=settings.tail_poll_seconds)
    try:
        summary = reprocess(store, version, authors=settings.authors, batch=max(1, args.batch), progress=not args.quiet)
    finally:
        store.close()
    print("\n".join(summary.lines()))
    return 0
