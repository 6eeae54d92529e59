"""python -m autosig.brokers.simulator: the broker simulator as a process (see the package docstring)."""

from __future__ import annotations

import argparse
import os
import sys

from autosig.brokers.simulator import (
    DEFAULT_KEY_ID,
    DEFAULT_SECRET_KEY,
    DEFAULT_TRADIER_TOKEN,
    Simulator,
)
from autosig.netutil import serve_until_signalled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autosig.brokers.simulator",
                                     description="A loopback broker simulator (Alpaca and Tradier dialects).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--walk", type=float, default=None,
                        help="every listed symbol without a quote walks randomly around this price")
    parser.add_argument("--walk-from-orders", action="store_true",
                        help="a symbol without a quote walks around the price of the first order naming it (the demo)")
    parser.add_argument("--closed", action="store_true", help="start with the market closed")
    parser.add_argument("--tradier-account", default="VA000001")
    args = parser.parse_args(argv)
    # keys from the environment under the brokers' own names, so the demo's settings work unchanged
    sim = Simulator(
        key_id=os.environ.get("APCA_API_KEY_ID") or DEFAULT_KEY_ID,
        secret_key=os.environ.get("APCA_API_SECRET_KEY") or DEFAULT_SECRET_KEY,
        tradier_token=os.environ.get("TRADIER_ACCESS_TOKEN") or DEFAULT_TRADIER_TOKEN,
        tradier_account=os.environ.get("TRADIER_ACCOUNT_ID") or args.tradier_account,
        host=args.host,
        port=args.port,
        seed=args.seed,
    )
    if args.walk is not None:
        sim.walk(None, args.walk)
    if args.walk_from_orders:
        sim.walk_from_orders()
    if args.closed:
        sim.set_clock(False)
    sim.start()
    return serve_until_signalled(sim.url, sim.stop)


if __name__ == "__main__":
    sys.exit(main())
