"""The execution mode strip every page shows under the ingestion banner, derived from the `execution` part of a
status snapshot: what the executor's latest start says (never the web's own settings), or that no executor runs.

    DRY RUN — nothing is sent · PAPER — <broker> …<account> · LIVE — real money — <broker> …<account> (red)
    Executor never started — nothing is traded · Executor stopped at <time>

plus who paused execution, when and why, while it is paused.
"""

from __future__ import annotations

from typing import Any

MODE_WORDS = {"dry_run": "DRY RUN", "paper": "PAPER", "live": "LIVE"}


def account_text(execution: dict[str, Any]) -> str:
    """`<broker> …1234` (the events hold an account's last 4 characters only)."""
    broker = execution.get("broker") or "?"
    account = execution.get("account")
    return f"{broker} …{account}" if account else str(broker)


def mode_strip(execution: dict[str, Any]) -> dict[str, Any]:
    """The strip under the ingestion banner, from the executor's latest start (never the web's own settings):
    {"level", "headline", "at" (a time shown after the headline, or None), "detail", "paused" (who, when, why)}."""
    mode = execution.get("mode")
    pause = execution.get("pause") or {}
    paused = {"by": pause.get("by"), "at": pause.get("at"), "reason": pause.get("reason"),
              "cancel_entries": bool(pause.get("cancel_entries"))} if execution.get("paused") else None  # fmt: skip
    if not execution.get("started"):
        return {"level": "never", "headline": "Executor never started — nothing is traded", "at": None,
                "detail": "No executor has run on this event log: alerts are recorded and parsed, none is decided.",
                "paused": paused}  # fmt: skip
    last = f"{MODE_WORDS.get(mode, mode)}" + ("" if mode == "dry_run" else f" — {account_text(execution)}")
    if not execution.get("running"):
        return {"level": "stopped", "headline": "Executor stopped at", "at": execution.get("stopped_at"),
                "detail": f"Nothing is traded until an executor starts again (it last ran in {last}).",
                "paused": paused}  # fmt: skip
    if mode == "live":
        headline = f"LIVE — real money — {account_text(execution)}"
        detail = "Orders go to the broker's live account."
    elif mode == "paper":
        headline = f"PAPER — {account_text(execution)}"
        detail = "Orders go to the broker's paper account: no real money."
    else:
        headline = "DRY RUN — nothing is sent"
        detail = "Every decision is recorded as a planned order; no order reaches a broker."
    return {"level": mode if mode in MODE_WORDS else "never", "headline": headline, "at": None, "detail": detail,
            "paused": paused}  # fmt: skip
