"""Appends the executor's events to a store as the execute stage writes them (through the schema's constructors), for
the web tests of /orders, the mode strip, the pause switch, the metrics and the alarms."""

from __future__ import annotations

from autosig.schema import (
    CONTROL,
    ORDERS,
    client_order_id,
    execution_paused,
    execution_resumed,
    executor_started,
    executor_stopped,
    order_failed,
    order_planned,
    order_skipped,
    order_submitted,
    order_unknown,
    order_updated,
    position_reconciled,
)

LIMITS = {"max_open_positions": 10, "max_trades_per_day": 20, "max_daily_usd": 5000.0, "max_daily_loss_usd": 500.0}


def contract_key(ticker: str, right: str, strike: float, expiry: str) -> list:
    return [ticker, "option", [[right, strike, expiry, 1.0]]]


class OrdersFeed:
    """The executor's side of a store: starts, decisions and what the broker said, keyed as the stage keys them."""

    def __init__(self, store, channel: str = "chat_feed_x") -> None:
        self.store = store
        self.channel = channel
        self.mode, self.broker, self.account = "dry_run", "sim", None
        self.n = 0

    def started(self, mode: str = "paper", broker: str = "sim", account: str | None = "PA31234",
                limits: dict | None = None) -> None:
        self.mode, self.broker, self.account = mode, broker, account[-4:] if account else None
        self.store.append_many(ORDERS, [executor_started(
            mode=mode, broker=broker, account=account, parser_version="1", from_parsed_seq=0, host="test", pid=1,
            limits=limits or LIMITS, size="usd:500", live=mode == "live")])  # fmt: skip

    def stopped(self, reason: str = "signal") -> None:
        self.store.append_many(ORDERS, [executor_stopped(reason)])

    def planned(self, raw_seq: int, source_id: str, *, ticker: str = "SPY", strike: float = 600.0, right: str = "C",
                expiry: str = "2027-01-17", quantity: int = 2, limit: float = 1.35, action: str = "open",
                index: int = 0) -> str:
        """An order.planned; returns its client order id."""
        coid = client_order_id("store", self.channel, source_id, index)
        effect = "entry" if action in ("open", "add") else "exit"
        label = f"{ticker} {strike:g}{right} {expiry}"
        self.store.append_many(ORDERS, [order_planned(
            raw_seq=raw_seq, parsed_seq=raw_seq, channel=self.channel, source_id=source_id, signal_index=index,
            mode=self.mode, broker=self.broker, account=self.account, client_order_id=coid, instrument="option",
            legs=[{"symbol": f"{ticker}270117C00600000", "side": "buy" if effect == "entry" else "sell",
                   "position_intent": "buy_to_open" if effect == "entry" else "sell_to_close", "ratio": 1}],
            quantity=quantity, limit_price=limit, time_in_force="day", sizing={"rule": "usd:500"},
            checks={"control_seq": 0}, action=action, effect=effect, contract=label,
            contract_key=contract_key(ticker, right, strike, expiry), ticker=ticker, direction=1, multiplier=100,
            cost=quantity * limit * 100, created_at="2027-01-10T15:00:00Z")])  # fmt: skip
        return coid

    def skipped(self, raw_seq: int, source_id: str, reason: str, detail: str = "", *, ticker: str = "SPY",
                index: int = 0, exit_missed: bool = False, action: str = "open") -> None:
        self.store.append_many(ORDERS, [order_skipped(
            raw_seq=raw_seq, parsed_seq=raw_seq, channel=self.channel, source_id=source_id, signal_index=index,
            reason=reason, detail=detail or f"refused by {reason}", ticker=ticker, action=action,
            exit_missed=exit_missed)])  # fmt: skip

    def submitted(self, coid: str, status: str = "accepted") -> None:
        self.store.append_many(ORDERS, [order_submitted(client_order_id=coid, broker_order_id=f"b-{coid[-6:]}",
                                                        status=status, response={"id": f"b-{coid[-6:]}"})])

    def updated(self, coid: str, status: str, filled: float, average: float | None) -> None:
        self.store.append_many(ORDERS, [order_updated(client_order_id=coid, status=status, filled_quantity=filled,
                                                      average_fill_price=average, response={"status": status})])

    def unknown(self, coid: str, attempt: int = 1) -> None:
        self.store.append_many(ORDERS, [order_unknown(client_order_id=coid, attempt=attempt,
                                                      detail="the broker did not answer within 10 s")])

    def failed(self, coid: str, reason: str = "refused", detail: str = "insufficient buying power") -> None:
        self.store.append_many(ORDERS, [order_failed(client_order_id=coid, reason=reason, detail=detail)])

    def reconciled(self, n: int, ticker: str, ours: float, brokers: float, change: str = "closed by hand") -> None:
        self.store.append_many(ORDERS, [position_reconciled(
            n=n, contract=f"{ticker} 600C 2027-01-17", ours=ours, brokers=brokers, change=change,
            contract_key=contract_key(ticker, "C", 600.0, "2027-01-17"), mode=self.mode, broker=self.broker,
            account=self.account)])  # fmt: skip

    def paused(self, reason: str = "", by: str = "cli", cancel_entries: bool = False) -> None:
        self.store.append_many(CONTROL, [execution_paused(by=by, reason=reason, cancel_entries=cancel_entries)])

    def resumed(self, reason: str = "", by: str = "cli") -> None:
        self.store.append_many(CONTROL, [execution_resumed(by=by, reason=reason)])
