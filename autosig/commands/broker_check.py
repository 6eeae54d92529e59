"""`autosig broker-check`: what the executor would trade with, read from the broker and nothing sent — the account
(its last 4 characters), paper or live, the mode AutoSig would run in, the broker's clock, buying power and options
level. Exit 1 with one line when the broker refuses the credentials or cannot be reached; 2 for bad settings."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from autosig.brokers.errors import AuthRefused, BrokerError
    from autosig.executor import ConsentRefused, check_account, make_broker
    from autosig.startup import settings_or_exit

    settings = settings_or_exit()
    x = settings.execution
    broker = make_broker(x)
    if broker is None:
        print(f"mode: {x.mode}; no broker configured (AUTOSIG_BROKER={x.broker}): nothing to check")
        return 0 if x.mode == "dry_run" else 2
    try:
        account = broker.account()
        clock = broker.clock()
    except AuthRefused:
        print(f"autosig broker-check: {x.broker} refused the credentials (check the keys or the token)", file=sys.stderr)
        return 1
    except BrokerError as exc:
        print(f"autosig broker-check: {x.broker} could not be read: {exc}", file=sys.stderr)
        return 1
    finally:
        broker.close()
    print(f"broker: {x.broker} at {x.broker_url}")
    print(f"account: ...{account.number[-4:]} ({'paper' if account.paper else 'LIVE'}), status {account.status}")
    print(f"mode AutoSig would run in: {x.mode}")
    print(f"clock: {clock.timestamp.isoformat()} — market {'open' if clock.is_open else 'closed'}")
    if account.buying_power is not None:
        print(f"buying power: {account.buying_power:,.2f}")
    if account.equity is not None:
        print(f"equity: {account.equity:,.2f}")
    print(f"options level: {account.options_level if account.options_level is not None else 'not reported'}")
    try:
        check_account(x, make_broker(x))
    except ConsentRefused as exc:
        print(f"autosig broker-check: the executor would refuse to start: {exc}", file=sys.stderr)
        return 1
    except BrokerError:
        pass
    print("no order was sent")
    return 0
