"""`autosig resume [--reason R]`: the executor decides and sends again, from the next fresh signal."""

from __future__ import annotations

import argparse

from autosig.commands._store import add_store_argument, open_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store_argument(parser)
    parser.add_argument("--reason", default="", help="why (shown on the dashboard)")


def run(args: argparse.Namespace) -> int:
    from autosig.schema import CONTROL, execution_resumed

    store = open_from_args(args, writer="cli")
    try:
        (event,) = store.append_many(CONTROL, [execution_resumed(by="cli", reason=args.reason)])
    finally:
        store.close()
    print(f"execution resumed (control seq {event.seq})")
    return 0
