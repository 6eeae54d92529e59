"""The executor's crash soak: SIGKILL `python main.py` at random instants while alerts flow and the broker simulator
(a process of its own) injects every fault kind, in each broker dialect. Short form in `make test` (25 kills per
dialect), 250 per dialect with `--soak-full` (`make soak`)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from auditor import audit
from executor.process_harness import (
    ALPACA_KEY,
    ALPACA_SECRET,
    FINAL,
    TRADIER_TOKEN,
    WHOP_TOKEN,
    BrokerProc,
    OrdersRecord,
    Worker,
    broker_env,
    considered,
    events,
    wait_until,
)

from autosig.events import open_store
from autosig.projections.orders import MAYBE_HELD, OrdersProjection
from autosig.sources.simulator import Simulator as Whop

FAULTS = {"rate_limited": 0.05, "http_5xx": 0.05, "accept_then_504": 0.08, "reset": 0.04, "accept_then_reset": 0.06,
          "slow": 0.08}  # fmt: skip
MAX_TRADES = 20


def _publisher(whop: Whop, stop: threading.Event, rng: random.Random) -> None:
    """Opens of a new strike, trims and closes of the ones opened a few steps before (some never bought)."""
    step = 0
    while not stop.wait(rng.uniform(0.15, 0.45)):
        strike = 600 + step
        whop.publish(f"BTO 3 SPY {strike}c 1/15 @ 1.00")
        if step >= 2:
            whop.publish(f"Trim half SPY {strike - 2}c 1/15 @ 1.20")
        if step >= 4:
            whop.publish(f"STC SPY {strike - 4}c 1/15 @ 1.30")
        step += 1


def _started(log_dir: Path) -> int:
    return sum(1 for e in events(log_dir, "orders") if e["type"] == "executor.started")


@pytest.mark.soak
@pytest.mark.parametrize("dialect", ["alpaca", "tradier"])
def test_sigkills_under_broker_faults_send_every_order_at_most_once(tmp_path, dialect, soak_full, figures):
    rng = random.Random(f"execute-soak-{dialect}")
    kills_wanted = 250 if soak_full else 25
    log_dir, out_dir = tmp_path / "logs", tmp_path / "out"
    log_dir.mkdir()
    out_dir.mkdir()
    whop = Whop(WHOP_TOKEN, history=0, seed=3).start()
    broker = BrokerProc(seed=rng.randrange(1 << 30))
    env = {"DRY_RUN": "false", **broker_env(dialect, broker.url), "AUTOSIG_SIZE": "fixed:3",
           "AUTOSIG_MAX_TRADES_PER_DAY": str(MAX_TRADES), "AUTOSIG_MAX_OPEN_POSITIONS": "1000",
           "AUTOSIG_MAX_DAILY_USD": "1000000", "AUTOSIG_ENTRY_TIMEOUT_SECONDS": "3",
           "AUTOSIG_BROKER_TIMEOUT_SECONDS": "2"}  # fmt: skip
    stop = threading.Event()
    publisher = threading.Thread(target=_publisher, args=(whop, stop, rng), daemon=True)
    kills = restarts = 0
    worker = None
    try:
        first = Worker(log_dir, out_dir, whop.url, **env)
        wait_until(lambda: _started(log_dir) >= 1, 30, "the first executor.started")
        first.kill()
        broker.control.random_faults(FAULTS, seed=rng.randrange(1 << 30))
        publisher.start()
        while kills < kills_wanted:
            started = _started(log_dir)
            worker = Worker(log_dir, out_dir, whop.url, **env)
            wait_until(lambda s=started: _started(log_dir) > s, 30, "executor.started")
            if kills % 3 == 0:
                # just after an append to `orders`: the plan -> send -> submitted windows a crash must not break
                size = (log_dir / "orders.jsonl").stat().st_size
                try:
                    wait_until(lambda s=size: (log_dir / "orders.jsonl").stat().st_size != s, 5, "an orders append",
                               interval=0.001)  # fmt: skip
                except AssertionError:
                    pass
                time.sleep(rng.uniform(0, 0.02))
            else:
                time.sleep(rng.uniform(0.05, 0.4))
            worker.kill()
            kills += 1
            if kills % 10 == 0:
                broker.control.restart_later(0.3)  # the broker restarts too, keeping its orders
                restarts += 1
        stop.set()
        publisher.join()
        broker.control.clear_faults()
        faults = broker.control.fault_counts()
        worker = Worker(log_dir, out_dir, whop.url, **env)
        first_start = OrdersRecord(log_dir).starts[0]

        left: dict[str, list[str]] = {}

        def settled() -> bool:
            record = OrdersRecord(log_dir)
            todo = considered(log_dir, first_start["from_parsed_seq"], first_start["parser_version"])
            decided = record.decision_counts()
            left["undecided"] = [f"order:{m}:{i}" for m, n in todo.items() for i in range(n)
                                 if f"order:{m}:{i}" not in decided]  # fmt: skip
            left["unfinished"] = record.unfinished()
            return not left["undecided"]

        try:
            wait_until(settled, 60, "every signal decided")
            # exits rest as day orders until they fill or the session ends: end it, as the close would
            broker.control.expire_day()
            wait_until(lambda: settled() and not left["unfinished"], 30, "every order final")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; left: {left}") from None
        assert worker.terminate() == 0
        counts = broker.control.order_counts(dialect=dialect)
    finally:
        stop.set()
        if worker is not None and worker.proc.poll() is None:
            worker.kill()
        broker.stop()
        whop.stop()

    record = OrdersRecord(log_dir)
    # at most once at the broker, and only what was planned
    assert counts and set(counts.values()) == {1}, f"sent more than once: {[c for c, n in counts.items() if n > 1]}"
    assert set(counts) <= set(record.pieces), "the broker holds an order AutoSig never planned"
    # every considered signal has exactly one decision
    decided = record.decision_counts()
    assert max(decided.values()) == 1, "a signal was decided twice"
    todo = considered(log_dir, first_start["from_parsed_seq"], first_start["parser_version"])
    assert {k for k in decided} == {f"order:{m}:{i}" for m, n in todo.items() for i in range(n)}
    # every order the broker holds is known to AutoSig as submitted, with its final status recorded
    for coid in counts:
        types = [e["type"] for e in record.by_order[coid]]
        assert "order.submitted" in types, f"{coid} is at the broker but recorded as {types}"
    assert record.unfinished() == []
    # caps hold across restarts; positions never go below zero and exits never sell what was not bought
    # (an entry cancelled or refused with nothing filled frees its trade; one that could not be verified does not)
    entries = [p for p in record.planned if p["effect"] == "entry"]
    assert sum(_counts_as_a_trade(record, plan) for plan in entries) <= MAX_TRADES
    book = OrdersProjection()
    reader = open_store(f"file:{log_dir}", fsync=False)
    for ev in reader.read("orders"):
        if ev.type == "order.planned" and ev.data["effect"] == "entry":
            # each entry was decided with the cap's use as the stream stood, whichever process decided it
            assert book.caps(ev.ts)["max_trades_per_day"]["used"] < MAX_TRADES
        book.apply(ev)
    reader.close()
    assert all(p["quantity"] >= 0 for p in book.positions())
    # the chains verify, and no key reached a log or a stream
    for path in log_dir.glob("*.jsonl"):
        audit(path.read_bytes())
    secrets = (ALPACA_KEY, ALPACA_SECRET, TRADIER_TOKEN)
    for path in [*log_dir.iterdir(), *out_dir.iterdir()]:
        if path.is_file():
            text = path.read_bytes()
            assert not any(s.encode() in text for s in secrets), f"a key is in {path.name}"
    reasons = Counter(e["data"].get("reason") or "planned" for e in record.decisions)
    outcomes = Counter(e["type"] for e in record.events)
    figures.append(f"{dialect}: {kills} worker SIGKILLs, {restarts} broker restarts; {len(todo)} messages decided; "
                   f"{len(counts)} orders at the broker, each once; decisions {dict(reasons)}")  # fmt: skip
    figures.append(f"{dialect}: order events {dict(outcomes)}; faults served {faults}")


def _counts_as_a_trade(record: OrdersRecord, plan: dict) -> bool:
    """Whether an entry still counts against the day's trades: anything filled, still working, or maybe at the broker."""
    for piece in plan.get("pieces") or []:
        history = record.by_order.get(piece["client_order_id"], [])
        if any(e["type"] == "order.failed" and e["data"]["reason"] in MAYBE_HELD for e in history):
            return True
        filled = max([float(e["data"].get("filled_quantity") or 0) for e in history] or [0.0])
        final = any(e["type"] == "order.failed" or e["data"].get("status") in FINAL for e in history)
        if filled > 0 or not final:
            return True
    return False
