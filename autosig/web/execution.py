"""What the web shows of execution, read from the orders projection (autosig.projections.orders): the /api/orders
entries (each decision with its alert's text and its reason in words), working orders with their age, and AutoSig's
positions. Call these under the host lock (host.read) or on a replay of the past."""

from __future__ import annotations

from typing import Any

from autosig.projections import Projections
from autosig.projections.ingestion import epoch
from autosig.web.reasons import reason_words, rule_anchor, status_words


def entry_view(p: Projections, entry: dict[str, Any]) -> dict[str, Any]:
    """An /api/orders entry: the decision with its alert's text (joined by raw seq) and its reason in words."""
    out = dict(entry)
    raw_seq = entry.get("raw_seq")
    out["text"] = p.signals.text(raw_seq) if isinstance(raw_seq, int) else None
    out["reason_text"] = reason_words(entry)
    out["rule"] = rule_anchor(entry["reason"]) if entry.get("reason") else None
    out["status_text"] = status_words(entry.get("status"))
    return out


def order_entries(p: Projections, limit: int = 50, status: str | None = None, after_seq: int = 0) -> list[dict]:
    """Decisions newest first, as /api/orders lists them."""
    return [entry_view(p, e) for e in p.orders.decisions_view(limit=limit, status=status, after_seq=after_seq)]


def working_view(status: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """The working orders of a /api/status object, each with its status in words and its age in seconds."""
    out = []
    for order in status["execution"]["working"]:
        at = epoch(order.get("submitted_at") or order.get("planned_at"))
        age = round(max(0.0, now - at), 1) if at is not None else None
        out.append({**order, "status_text": status_words(order.get("status")), "age_seconds": age})
    return out


def positions_view(p: Projections, now: float) -> dict[str, Any]:
    """/api/positions: AutoSig's own positions (its fills, never the alerts) in the current executor's scope, its
    realized P&L, other scopes' positions (orphaned: shown, never touched) and what reconciliation found."""
    book = p.orders
    scope = book.scope()
    return {
        "scope": None if scope is None else {"mode": scope[0], "broker": scope[1], "account": scope[2]},
        "positions": book.positions(),
        "realized": book.realized(now),
        "orphaned": book.orphaned(),
        "reconciliations": book.reconciliations(),
    }


__all__ = ["entry_view", "order_entries", "positions_view", "working_view"]
