"""`autosig export --stream S`: the stream's exact lines on stdout (the README, "Commands")."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from autosig.commands._store import add_store_argument, open_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stream", required=True, help="the stream to export (raw, parsed, worker, …)")
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    with open_from_args(args, writer="export") as store:
        if args.stream not in store.streams():
            print(
                f"autosig export: no stream named {args.stream!r} (streams: {', '.join(store.streams())})",
                file=sys.stderr,
            )
            return 2
        out = sys.stdout.buffer
        with tqdm(
            total=store.last_seq(args.stream), unit=" lines", desc=args.stream, file=sys.stderr, delay=0.5, disable=None
        ) as bar:
            pending = 0
            for line in store.iter_lines(args.stream):
                out.write(line)
                pending += 1
                if pending == 4096:
                    bar.update(pending)
                    pending = 0
            bar.update(pending)
        out.flush()
    return 0
