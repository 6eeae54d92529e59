"""The store a command works on: AUTOSIG_STORE_URL (or AUTOSIG_LOG_DIR) from the environment, or --store URL."""

from __future__ import annotations

import argparse
import sys

from autosig.config import load_or_exit
from autosig.events import EventStore, open_store
from autosig.redact import redact_url


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="URL",
        help="file:DIR or postgresql://… (default: AUTOSIG_STORE_URL, else file:$AUTOSIG_LOG_DIR)",
    )


def open_from_args(args: argparse.Namespace, writer: str) -> EventStore:
    """Opens the chosen store; an invalid environment exits 2 with one line (only consulted without --store)."""
    if args.store:
        url = args.store
        if not url.startswith(("file:", "postgresql://", "postgres://")):
            print(f"autosig: --store {redact_url(url)!r} must be file:DIR or postgresql://…", file=sys.stderr)
            raise SystemExit(2)
        fsync = True
    else:
        settings = load_or_exit()
        url, fsync = settings.store_url, settings.fsync
    return open_store(url, writer=writer, fsync=fsync)
