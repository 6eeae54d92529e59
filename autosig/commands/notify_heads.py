"""`autosig notify-heads [--print] [--attempts N]`: sends the heads of every stream (seq and hash) to
AUTOSIG_NOTIFY_URL now, and records the delivery in the notifications stream. The web's elected sender also sends
them once a day. Whoever keeps these messages can run `autosig verify --expect-head STREAM:SEQ:HASH` later."""

from __future__ import annotations

import argparse
import sys

from autosig.clock import Clock, rfc3339
from autosig.commands._store import add_store_argument, open_from_args
from autosig.notify.deliver import deliver
from autosig.notify.heads import heads_message
from autosig.notify.messages import target
from autosig.notify.sender import record_delivery
from autosig.startup import settings_or_exit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--print", action="store_true", help="print the heads message instead of sending it")
    parser.add_argument("--attempts", type=int, default=5, help="delivery attempts before giving up (default 5)")
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    if not args.print and not settings.notify_url:
        print("autosig notify-heads: AUTOSIG_NOTIFY_URL is not set (use --print to see the message)", file=sys.stderr)
        return 2
    clock = Clock()
    with open_from_args(args, writer="notify-heads") as store:
        now = clock.time()
        message = heads_message(store, f"heads:manual:{rfc3339(now)}", now)
        if args.print:
            print(message.text)
            return 0
        url = settings.notify_url
        assert url is not None
        delivery = deliver(url, message, clock=clock, max_attempts=max(1, args.attempts))
        if delivery is None:
            print(f"autosig notify-heads: {target(url)} did not accept the message", file=sys.stderr)
            return 1
        record_delivery(store, message, delivery, url, clock.time())
    print(message.text)
    print(f"delivered to {target(url)} (HTTP {delivery.status}, id {message.id})")
    return 0
