"""`autosig verify [--stream S] [--expect-head STREAM:SEQ:HASH ...]` (the README, "Commands")."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from autosig.commands._store import add_store_argument, open_from_args
from autosig.events.verify import ExpectedHead, verify_stream


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stream", action="append", help="stream to verify (repeatable; default: every stream)")
    parser.add_argument(
        "--expect-head",
        action="append",
        default=[],
        metavar="STREAM:SEQ:HASH",
        help="fail unless this event (a head printed by an earlier verify) is still in the stream",
    )
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    try:
        expected = [ExpectedHead.parse(text) for text in args.expect_head]
    except ValueError as exc:
        print(f"autosig verify: --expect-head {exc}", file=sys.stderr)
        return 2
    with open_from_args(args, writer="verify") as store:
        known = store.streams()
        streams = args.stream or known
        unknown = [s for s in streams + [e.stream for e in expected] if s not in known]
        if unknown:
            print(f"autosig verify: no stream named {unknown[0]!r} (streams: {', '.join(known)})", file=sys.stderr)
            return 2
        streams += [e.stream for e in expected if e.stream not in streams]
        ok = True
        for stream in streams:
            # Shown only on a terminal, and only when a stream takes more than a moment.
            with tqdm(
                total=store.last_seq(stream), unit=" lines", desc=stream, file=sys.stderr, delay=0.5, disable=None
            ) as bar:
                report = verify_stream(store, stream, expected, progress=bar.update)
            for line in report.lines():
                print(line)
            ok = ok and report.ok
        return 0 if ok else 1
