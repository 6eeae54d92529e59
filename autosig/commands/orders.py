"""`autosig orders [--limit N]`: what the executor did, as tables — the mode, decisions newest first (planned and
skipped with the reason), working orders, fills, AutoSig's positions and realized P&L, and today's use of each cap."""

from __future__ import annotations

import argparse
import time

from autosig.commands._store import add_store_argument, open_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store_argument(parser)
    parser.add_argument("--limit", type=int, default=20, help="decisions shown (default 20)")


def _table(rows: list[list[str]], headers: list[str]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()  # noqa: E731
    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _clean(text: object, width: int = 60) -> str:
    s = "".join(c if c.isprintable() else "?" for c in str(text if text is not None else ""))
    return s if len(s) <= width else s[: width - 1] + "…"


def run(args: argparse.Namespace) -> int:
    from autosig.projections.orders import OrdersProjection
    from autosig.schema import CONTROL, ORDERS

    store = open_from_args(args, writer="cli")
    book = OrdersProjection()
    try:
        for stream in (ORDERS, CONTROL):
            for ev in store.read(stream, on_problem=lambda problem: None):
                book.apply(ev)
    finally:
        store.close()
    out: list[str] = []
    ex = book.executor()
    if ex is None:
        out.append("executor: never started on this store — nothing is traded")
    else:
        state = "running" if ex["running"] else f"stopped at {ex['stopped_at']}"
        out.append(f"executor: {ex.get('mode')} — {ex.get('broker')} {ex.get('account') or ''} ({state}; "
                   f"started {ex['started_at']})")  # fmt: skip
    paused = book.paused()
    out.append("execution: PAUSED by {} at {} ({})".format(paused["by"], paused["at"], paused["reason"] or "no reason")
               if paused["paused"] else "execution: not paused")  # fmt: skip
    now = time.time()
    out += ["", "decisions (newest first):"]
    rows = [[d["seq"], d["decision"], d.get("action") or "", _clean(d.get("contract") or d.get("ticker"), 32),
             d.get("quantity") or "", d.get("limit_price") or "", d.get("status") or d.get("reason") or "",
             _clean(d.get("detail") or "", 50)] for d in book.decisions_view(limit=args.limit)]  # fmt: skip
    out += _table(rows, ["seq", "decision", "action", "contract", "qty", "limit", "status / reason", "detail"])
    out += ["", "working orders:"]
    rows = [[o.client_order_id, o.effect, _clean(o.contract.label if o.contract else "?", 32), o.quantity,
             o.limit_price, o.status, o.filled_quantity, o.submitted_at or "-"] for o in book.working()]  # fmt: skip
    out += _table(rows, ["client order id", "effect", "contract", "qty", "limit", "status", "filled", "submitted"])
    out += ["", "positions (AutoSig's own fills):"]
    rows = [[_clean(p["contract"], 40), p["direction"], p["quantity"], p["average_cost"], round(p["realized"], 2),
             p["broker_quantity"] if p["broker_quantity"] is not None else "", "EXIT MISSED" if p["exit_missed"] else ""]
            for p in book.positions()]  # fmt: skip
    out += _table(rows, ["contract", "dir", "qty", "avg cost", "realized", "broker qty", ""])
    realized = book.realized(now)
    out += ["", f"realized P&L: {realized['total']:+,.2f} in all, {realized['today']:+,.2f} today (New York)"]
    out += ["", "caps today:"]
    caps = book.caps(now)
    out += _table([[name, c["used"], c["limit"] if c["limit"] is not None else "-"] for name, c in caps.items()],
                  ["cap", "used", "limit"])  # fmt: skip
    print("\n".join(out))
    return 0
