"""The alarms of execution, a pure part of the notification machine: what the `orders` and `control` streams say that
the user must hear about at once. One message per:

- `fill:<seq>`: an order.updated that adds to an order's filled quantity (seq of that event);
- `rejected:<coid>` / `refused:<coid>` / `unverified:<coid>` / `id_collision:<coid>` / `expired_unsent:<coid>`: the
  broker rejected or refused an order, or its outcome could not be verified (never resent), or was never sent;
- `unknown:<coid>`: the first send of an order whose outcome is not known (reconciliation follows);
- `exit_missed:<seq>`: an exit the analyst posted that was skipped while AutoSig still holds the position;
- `paused:<seq>` / `resumed:<seq>`: the pause switch (the control stream's seq);
- `loss_cap:<New York day>`: the first entry refused that day because the daily loss cap is reached.

Ids come from the events, so every web process computes the same ones and a delivered message is never sent twice.
"""

from __future__ import annotations

from typing import Any

from autosig.events.record import Event
from autosig.notify.messages import ORDERS, Message
from autosig.projections.orders import new_york_day
from autosig.schema import (
    EXECUTION_PAUSED,
    EXECUTION_RESUMED,
    EXECUTOR_STARTED,
    ORDER_FAILED,
    ORDER_PLANNED,
    ORDER_SKIPPED,
    ORDER_UNKNOWN,
    ORDER_UPDATED,
)

MODE_WORDS = {"dry_run": "DRY RUN", "paper": "PAPER", "live": "LIVE, real money"}
FAILURE_TEXT = {
    "refused": "the broker REFUSED the order",
    "unverified": "the order could NOT BE VERIFIED at the broker (it is never resent: check the account)",
    "id_collision": "the broker holds a DIFFERENT ORDER under this order's id (check the account)",
    "expired_unsent": "the order was NEVER SENT (the alert went stale before the broker could confirm)",
}
LOSS_CAP = "cap:max_daily_loss_usd"


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


class OrderAlarms:
    """Reads orders and control events in order; `apply` returns the messages an event raises (its caller decides
    whether the event is history, whose messages are not sent)."""

    def __init__(self) -> None:
        self.mode: str | None = None
        self.where = ""  # "PAPER sim …1234", from the latest executor.started
        self.orders: dict[str, dict[str, Any]] = {}  # client order id -> what its plan said (until final)
        self.unknown: set[str] = set()
        self.loss_cap_days: set[str] = set()

    def apply(self, event: Event) -> list[Message]:
        data = event.data if isinstance(event.data, dict) else {}
        try:
            return self._apply(event, data)
        except (KeyError, TypeError, ValueError):
            return []  # a damaged body raises no alarm and stops nothing

    def _apply(self, event: Event, data: dict[str, Any]) -> list[Message]:
        t = event.type
        if t == EXECUTOR_STARTED:
            self.mode = data.get("mode")
            account = f" …{data['account']}" if data.get("account") else ""
            self.where = f"{MODE_WORDS.get(str(self.mode), self.mode)} {data.get('broker') or ''}{account}".strip()
            return []
        if t == ORDER_PLANNED:
            if data.get("mode") != "dry_run":
                plan = {"label": data.get("contract") or data.get("ticker") or data.get("instrument") or "?",
                        "effect": data.get("effect") or "entry", "quantity": data.get("quantity"),
                        "limit": data.get("limit_price"), "filled": 0.0}  # fmt: skip
                for piece in data.get("pieces") or [{"client_order_id": data["client_order_id"]}]:
                    self.orders[piece["client_order_id"]] = {**plan, "quantity": piece.get("quantity", plan["quantity"])}
            return []
        if t == ORDER_SKIPPED:
            return self._skipped(event, data)
        if t in (EXECUTION_PAUSED, EXECUTION_RESUMED):
            return [self._switch(event, data)]
        coid = data.get("client_order_id")
        plan = self.orders.get(coid) if isinstance(coid, str) else None
        if plan is None:
            return []
        if t == ORDER_UPDATED:
            return self._updated(event, data, coid, plan)
        if t == ORDER_UNKNOWN:
            if coid in self.unknown:
                return []
            self.unknown.add(coid)
            text = (f"AutoSig ({self.where}): the send of {self._order(plan)} has an UNKNOWN OUTCOME "
                    f"({data.get('detail') or 'no answer'}); AutoSig is reconciling it by its order id.")  # fmt: skip
            return [Message(f"unknown:{coid}", ORDERS, "unknown", text, event.ts, self._details(data, plan))]
        if t == ORDER_FAILED:
            self.orders.pop(coid, None)
            reason = str(data.get("reason"))
            if reason not in FAILURE_TEXT:
                return []  # `paused`: the user paused it
            detail = f": {data['detail']}" if data.get("detail") else ""
            text = f"AutoSig ({self.where}): {FAILURE_TEXT[reason]} — {self._order(plan)}{detail}."
            return [Message(f"{reason}:{coid}", ORDERS, reason, text, event.ts, self._details(data, plan))]
        return []

    def _order(self, plan: dict[str, Any]) -> str:
        side = "BUY" if plan["effect"] == "entry" else "SELL"
        return f"{side} {_num(plan['quantity'])} {plan['label']} @ {_num(plan['limit'])}"

    def _details(self, data: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
        keep = ("client_order_id", "status", "filled_quantity", "average_fill_price", "reason", "detail")
        return {**{k: data[k] for k in keep if k in data}, "contract": plan["label"], "quantity": plan["quantity"],
                "limit_price": plan["limit"], "mode": self.mode}  # fmt: skip

    def _updated(self, event: Event, data: dict[str, Any], coid: str, plan: dict[str, Any]) -> list[Message]:
        status = data.get("status")
        filled = float(data.get("filled_quantity") or 0.0)
        out = []
        if filled > plan["filled"]:
            plan["filled"] = filled
            verb = "bought" if plan["effect"] == "entry" else "sold"
            whole = " — complete" if status == "filled" else ""
            text = (f"AutoSig FILLED ({self.where}): {verb} {_num(filled)} of {_num(plan['quantity'])} "
                    f"{plan['label']} at {_num(data.get('average_fill_price'))} on average{whole}.")  # fmt: skip
            out.append(Message(f"fill:{event.seq}", ORDERS, "filled", text, event.ts, self._details(data, plan)))
        if status == "rejected":
            text = f"AutoSig ({self.where}): the broker REJECTED {self._order(plan)}."
            out.append(Message(f"rejected:{coid}", ORDERS, "rejected", text, event.ts, self._details(data, plan)))
        if status in ("filled", "canceled", "expired", "rejected"):
            self.orders.pop(coid, None)
        return out

    def _skipped(self, event: Event, data: dict[str, Any]) -> list[Message]:
        out = []
        reason = data.get("reason")
        what = f"{data.get('action') or 'exit'} {data.get('ticker') or ''}".strip()
        if data.get("exit_missed"):
            text = (f"AutoSig EXIT MISSED ({self.where}): the analyst left a position ({what}) that AutoSig still "
                    f"holds — the exit was skipped ({reason}: {data.get('detail') or ''}). It stays open until you "
                    "close it or a later exit is followed.")  # fmt: skip
            out.append(Message(f"exit_missed:{event.seq}", ORDERS, "exit_missed", text, event.ts,
                               {k: data.get(k) for k in ("raw_seq", "source_id", "reason", "detail", "ticker")}))
        if reason == LOSS_CAP:
            day = new_york_day(event.ts)
            if day not in self.loss_cap_days:
                self.loss_cap_days.add(day)
                text = (f"AutoSig ({self.where}): the DAILY LOSS CAP is reached — no new entry today (New York "
                        f"day {day}); exits are still followed. {data.get('detail') or ''}").strip()  # fmt: skip
                out.append(Message(f"loss_cap:{day}", ORDERS, "loss_cap", text, event.ts,
                                   {"day": day, "detail": data.get("detail")}))
        return out

    def _switch(self, event: Event, data: dict[str, Any]) -> Message:
        by = f" by {data['by']}" if data.get("by") else ""
        why = f": {data['reason']}" if data.get("reason") else ""
        if event.type == EXECUTION_PAUSED:
            cancel = " Working entries are cancelled." if data.get("cancel_entries") else ""
            text = f"AutoSig: execution PAUSED{by}{why}. No new order is sent until it is resumed.{cancel}"
            return Message(f"paused:{event.seq}", ORDERS, "paused", text, event.ts, dict(data))
        text = f"AutoSig: execution RESUMED{by}{why}. Fresh signals are decided again."
        return Message(f"resumed:{event.seq}", ORDERS, "resumed", text, event.ts, dict(data))
