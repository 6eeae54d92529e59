"""`autosig tail [--stream S] [-n N] [--no-follow]` (the README, "Commands"): one readable line per event, then follow.

Alert text is written by strangers: control characters are escaped so a message cannot drive the terminal."""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import unicodedata
from typing import Any

from autosig.commands._store import add_store_argument, open_from_args
from autosig.display import contract, price
from autosig.events import EventStore, Problem
from autosig.events.record import Event
from autosig.schema import ALERT_EDITED, ALERT_PARSED, ALERT_RECEIVED, POLL_COMPLETED, POLL_FAILED, WORKER_STARTED

TEXT_CHARS = 120


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stream", action="append", help="stream to follow (repeatable; default: raw, parsed, worker)")
    parser.add_argument("-n", "--lines", type=int, default=10, metavar="N", help="show the last N events first (10)")
    parser.add_argument("--no-follow", action="store_true", help="print the last N events and exit")
    add_store_argument(parser)


def safe(text: Any, limit: int = TEXT_CHARS) -> str:
    """One terminal-safe line: control and format characters escaped, cut to `limit` characters."""
    text = "" if text is None else str(text)
    cut = len(text) > limit
    out = []
    for ch in text[:limit]:
        if ch == "\n":
            out.append("⏎ ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out) + ("…" if cut else "")


def describe(event: Event) -> str:
    d = event.data
    t = event.type
    if t in (ALERT_RECEIVED, ALERT_EDITED):
        from autosig.schema import payload_of

        try:
            payload = payload_of(d)
        except (KeyError, ValueError):
            payload = {}
        user = (payload.get("user") or {}) if isinstance(payload, dict) else {}
        who = user.get("username") or user.get("name") or user.get("id") or "?"
        content = payload.get("content") if isinstance(payload, dict) else None
        return f"{safe(d.get('source_id'), 40)} by {safe(who, 40)}: {safe(content)}"
    if t == ALERT_PARSED:
        head = f"raw #{d.get('raw_seq')} v{safe(d.get('parser_version'), 10)} {safe(d.get('kind'), 20)}"
        signals = d.get("signals") or []
        if signals:
            parts = []
            for s in signals:
                if isinstance(s, dict):
                    parts.append(f"{s.get('action')} {s.get('ticker')} {contract(s)} @ {price(s) or '?'}")
            return head + ": " + safe("; ".join(parts), 200)
        return head + (f" ({safe(d.get('reason'))})" if d.get("reason") else "")
    if t == WORKER_STARTED:
        return (
            f"poll every {d.get('poll_interval_seconds')} s, stale after {d.get('stale_after_seconds')} s, "
            f"parser v{d.get('parser_version')}, dry_run={d.get('dry_run')}, live_trading={d.get('live_trading')}"
        )
    if t == POLL_COMPLETED:
        flags = " GAP" if d.get("gap") else ""
        flags += " initial" if d.get("initial") else ""
        return (
            f"new={d.get('new')} edited={d.get('edited')} pages={d.get('pages')} HTTP {d.get('http_status')} "
            f"in {d.get('duration_ms')} ms{flags}"
        )
    if t == POLL_FAILED:
        status = f" (HTTP {d.get('http_status')})" if d.get("http_status") else ""
        return f"{safe(d.get('reason'), 20)}{status}: {safe(d.get('detail'))}; retry in {d.get('retry_in_s')} s"
    return safe(d, 160)


def line_of(stream: str, event: Event) -> str:
    return f"{stream:<6} {event.seq:>7} {event.ts} {event.type:<15} {describe(event)}"


def _follow(store: EventStore, stream: str, after: int, stop: threading.Event, out: queue.Queue) -> None:
    def problem(p: Problem) -> None:
        out.put(("problem", f"{p.stream} line {p.line}: {p.error}"))

    def reset() -> None:
        out.put(("problem", f"{stream} was truncated or replaced; reading it again from seq 1"))

    try:
        for event in store.tail(stream, after=after, stop=stop, on_problem=problem, on_reset=reset):
            out.put(("line", line_of(stream, event)))
    except Exception as exc:  # noqa: BLE001 - report and let the others go on
        out.put(("problem", f"{stream}: {type(exc).__name__}: {exc}"))


def run(args: argparse.Namespace) -> int:
    with open_from_args(args, writer="tail") as store:
        streams = args.stream or ["raw", "parsed", "worker"]
        known = store.streams()
        for s in streams:
            if s not in known:
                print(f"autosig tail: no stream named {s!r} (streams: {', '.join(known)})", file=sys.stderr)
                return 2
        starts = {s: max(0, store.last_seq(s) - max(0, args.lines)) for s in streams}
        if args.no_follow:
            for s in streams:
                for event in store.read(s, after=starts[s], on_problem=lambda p: print(
                        f"{p.stream} line {p.line}: {p.error}", file=sys.stderr)):
                    print(line_of(s, event), flush=True)
            return 0
        stop = threading.Event()
        out: queue.Queue = queue.Queue()
        threads = [threading.Thread(target=_follow, args=(store, s, starts[s], stop, out), daemon=True) for s in streams]
        for t in threads:
            t.start()
        try:
            while True:
                kind, text = out.get()
                print(text, file=sys.stderr if kind == "problem" else sys.stdout, flush=True)
        except KeyboardInterrupt:
            stop.set()
            return 0
