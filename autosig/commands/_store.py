"""The store a command works on: AUTOSIG_STORE_URL (or AUTOSIG_LOG_DIR) from the environment, or --store URL."""

from __future__ import annotations

import argparse
import sys

from autosig.events import EventStore, open_store
from autosig.redact import redact_url
from autosig.startup import settings_or_exit


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="URL",
        help="file:DIR or postgresql://… (default: AUTOSIG_STORE_URL, else file:$AUTOSIG_LOG_DIR)",
    )


def open_from_args(args: argparse.Namespace, writer: str) -> EventStore:
    """Opens the chosen store; an invalid environment exits 2 with one line."""
    if args.store:
        url = args.store
        if not url.startswith(("file:", "postgresql://", "postgres://")):
            print(f"autosig: --store {redact_url(url)!r} must be file:DIR or postgresql://…", file=sys.stderr)
            raise SystemExit(2)
    settings = settings_or_exit()
    url = args.store or settings.store_url
    return open_store(url, writer=writer, fsync=settings.fsync, tail_poll_seconds=settings.tail_poll_seconds)
