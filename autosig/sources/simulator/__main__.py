"""python -m autosig.sources.simulator: the simulator as a process (see autosig.sources.simulator)."""

from __future__ import annotations

import argparse
import os
import sys

from autosig.netutil import serve_until_signalled
from autosig.sources.simulator._core import DEFAULT_CHANNEL, Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autosig.sources.simulator", description="A Whop simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--pace", type=float, default=3.0, help="seconds between new alerts (0: none)")
    parser.add_argument("--history", type=int, default=40, help="alerts that exist before start")
    parser.add_argument("--channel", default=DEFAULT_CHANNEL)
    parser.add_argument("--path", default="/api/v1/messages", help="the listing path (…/forum_posts: forum posts)")
    parser.add_argument("--token", default=None, help="bearer token to accept (default: $SIMULATOR_TOKEN)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--webhook-url", default=None, help="POST a signed chat.message.created here per publication")
    parser.add_argument(
        "--webhook-secret",
        default=None,
        help="the secret webhooks are signed with (default: $SIMULATOR_WEBHOOK_SECRET)",
    )
    parser.add_argument(
        "--oauth-client", action="append", default=[], metavar="ID[:SECRET]", help="serve OAuth for this Whop app id"
    )
    parser.add_argument("--token-lifetime", type=float, default=3600.0, help="seconds an OAuth access token lives")
    args = parser.parse_args(argv)
    token = args.token or os.environ.get("SIMULATOR_TOKEN") or "sim-token"
    sim = Simulator(
        token,
        history=args.history,
        pace=args.pace or None,
        channel=args.channel,
        host=args.host,
        port=args.port,
        seed=args.seed,
        path=args.path,
    )
    if args.oauth_client:
        clients = {c.split(":", 1)[0]: (c.split(":", 1)[1] if ":" in c else None) for c in args.oauth_client}
        sim.enable_oauth(clients, token_lifetime=args.token_lifetime)
    sim.start()
    if args.webhook_url:
        secret = args.webhook_secret or os.environ.get("SIMULATOR_WEBHOOK_SECRET")
        if not secret:
            print("--webhook-url needs --webhook-secret or SIMULATOR_WEBHOOK_SECRET", file=sys.stderr)
            sim.stop()
            return 2
        sim.enable_webhooks(args.webhook_url, secret)
    return serve_until_signalled(sim.url, sim.stop)


if __name__ == "__main__":
    sys.exit(main())
