"""Driving the execute stage in-process: a real file store, a ManualClock, the fake broker, events made by the
schema's constructors the way the worker makes them."""

from __future__ import annotations

from datetime import UTC, datetime

from autosig.clock import ManualClock, rfc3339
from autosig.config import load_settings
from autosig.events import open_store
from autosig.schema import (
    ORDERS,
    PARSED,
    RAW,
    WORKER,
    alert_edited,
    alert_parsed,
    alert_received,
    poll_completed,
    worker_started,
)
from autosig.stages.execute import ExecuteStage
from autosig.stages.runner import StageRunner

# Wednesday 2027-01-13 15:00 UTC = 10:00 New York: the session is open.
T0 = datetime(2027, 1, 13, 15, 0, tzinfo=UTC).timestamp()


def option(action="open", ticker="SPY", strike=600.0, right="C", expiry="2027-01-15", price=1.25, **more) -> dict:
    side = "sell" if action in ("trim", "close") else "buy"
    signal = {"action": action, "instrument": "option", "ticker": ticker,
              "legs": [{"side": side, "ratio": 1, "right": right, "strike": strike, "expiry": expiry}],
              "price": price, "price_range": None, "quantity": None, "size_pct": None, "fraction": None,
              "stop": None, "targets": [], "tags": [], "size_text": None, "limit_kind": None, "entry_price": None,
              "confidence": 0.95, "refers_to": None}  # fmt: skip
    signal.update(more)
    return signal


class Harness:
    def __init__(self, tmp_path, broker_factory=None, **env: str) -> None:
        self.dir = tmp_path
        self.clock = ManualClock(T0)
        base = {"AUTOSIG_FSYNC": "never", "DRY_RUN": "false", "AUTOSIG_BROKER": "sim",
                "AUTOSIG_BROKER_URL": "http://127.0.0.1:9", "AUTOSIG_LOG_DIR": str(tmp_path)}  # fmt: skip
        base.update(env)
        self.settings = load_settings(base)
        self.store = open_store(f"file:{tmp_path}", writer="test", fsync=False, clock=self.clock)
        self.broker = broker_factory(self.clock) if broker_factory else None
        self.n = 0
        self.store.append_many(WORKER, [worker_started(poll_interval_seconds=30, stale_after_seconds=90,
                                                       parser_version="1", dry_run=False, live_trading=False,
                                                       channels=["chan"])])  # fmt: skip
        self.poll()
        self.stage = None
        self.runner = None

    def poll(self) -> None:
        self.store.append_many(WORKER, [poll_completed(new=0, edited=0, pages=1, http_status=200, duration_ms=1,
                                                       gap=False, initial=False)])  # fmt: skip

    def start(self) -> ExecuteStage:
        import threading

        stage = ExecuteStage(self.store, self.settings, self.broker, clock=self.clock, stop=threading.Event(),
                             account="PA00001234" if self.broker else None)  # fmt: skip
        self.store.try_acquire_lease("executor", "test", 60)
        stage.start("1")
        self.stage, self.runner = stage, StageRunner(self.store, stage, batch=1)
        self.runner.recover()
        return stage

    def alert(self, *signals: dict, source_id: str | None = None, age: float = 1.0, edited: bool = False,
              reply_to: str | None = None, text: str = "alert") -> str:
        self.n += 1
        source_id = source_id or f"m{self.n}"
        created = rfc3339(self.clock.time() - age)
        message = {"id": source_id, "content": f"{text} {self.n}", "created_at": created, "updated_at": created,
                   "replying_to_message_id": reply_to, "user": {"id": "u1", "username": "ana"}}  # fmt: skip
        draft = (alert_edited if edited else alert_received)("chan", message)
        (raw,) = self.store.append_many(RAW, [draft])
        kind = "signal" if signals else "non_signal"
        self.store.append_many(PARSED, [alert_parsed(raw.seq, source_id, "1", {"kind": kind, "reason": None,
                                                                               "signals": list(signals)})])  # fmt: skip
        return source_id

    def run(self) -> None:
        """Decides what was appended since, then runs the timers once."""
        self.runner.catch_up()
        self.stage.tick()

    def orders(self, type_: str | None = None) -> list:
        return [e for e in self.store.read(ORDERS) if type_ is None or e.type == type_]

    def decisions(self) -> list[tuple[str, str | None]]:
        return [(e.type, e.data.get("reason")) for e in self.orders() if e.type in ("order.planned", "order.skipped")]
