"""A separate writer process for the server tests: reads JSON commands on stdin, appends to the store as the worker
(and the executor) would, answers one JSON line per command. Usage: python feeder.py LOG_DIR"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autosig.events import open_store  # noqa: E402
from webapp.conftest import Feed, sig  # noqa: E402
from webapp.orders_feed import OrdersFeed  # noqa: E402


def main() -> int:
    store = open_store(f"file:{sys.argv[1]}", writer="worker", fsync=False)
    feed = Feed(store)
    orders = OrdersFeed(store)
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd.pop("op")
        if op == "alert":
            tickers = cmd.pop("tickers", [])
            raw_seq, parsed_seq = feed.alert(cmd.pop("text"), signals=[sig(t) for t in tickers], **cmd)
            out = {"raw_seq": raw_seq, "parsed_seq": parsed_seq}
        elif op in ("started", "completed", "failed"):
            getattr(feed, op)(**cmd)
            out = {"ok": True}
        elif op == "orders":  # the executor's events: {"op": "orders", "call": "planned", ...its arguments}
            out = {"result": getattr(orders, cmd.pop("call"))(**cmd)}
        else:
            out = {"error": f"unknown op {op}"}
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
