"""`autosig pause [--reason R] [--cancel-entries]`: nothing new reaches the broker until `autosig resume` (the
executor reads the `control` stream before every decision and every send; cancels still go out)."""

from __future__ import annotations

import argparse

from autosig.commands._store import add_store_argument, open_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store_argument(parser)
    parser.add_argument("--reason", default="", help="why (shown on the dashboard)")
    parser.add_argument("--cancel-entries", action="store_true", help="also cancel the entries still working")


def run(args: argparse.Namespace) -> int:
    from autosig.schema import CONTROL, execution_paused

    store = open_from_args(args, writer="cli")
    try:
        (event,) = store.append_many(CONTROL, [execution_paused(by="cli", reason=args.reason,
                                                                cancel_entries=args.cancel_entries)])  # fmt: skip
    finally:
        store.close()
    extra = " and its working entries are cancelled" if args.cancel_entries else ""
    print(f"execution paused (control seq {event.seq}): nothing new is sent{extra}")
    return 0
