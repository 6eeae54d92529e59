"""Running the execute stage: in the worker process on a thread of its own (unless AUTOSIG_EXECUTE_IN_WORKER=false),
or alone as `autosig execute`. One executor per store: the `executor` lease is exclusive; a second one waits,
naming the holder. A slow, failing or absent broker never delays polling or parsing: they run on other threads with
a store object of their own.

    Executor(settings, open_store=lambda: open_store(url), stop=stop).run()
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable

from autosig.brokers.base import Account, Broker
from autosig.brokers.errors import AuthRefused, BrokerError, OutcomeUnknown, RateLimited
from autosig.clock import Clock
from autosig.config import Settings
from autosig.config_execution import ExecutionSettings
from autosig.events import EventStore, StoreError
from autosig.logs import say
from autosig.sources.whop import retry_delay
from autosig.stages._execute_orders import LeaseLost
from autosig.stages.execute import LEASE, ExecuteStage
from autosig.stages.runner import StageReset, StageRunner
from autosig.startup import active_version

log = logging.getLogger("autosig.execute")
_LEASE_LOG_EVERY_S = 60.0
_ACCOUNT_READS = 4


class ConsentRefused(Exception):
    """Live trading refused at start (the account is not the one consented to, or the key is a paper key)."""


def make_broker(x: ExecutionSettings) -> Broker | None:
    """The broker the settings name (None for none). Keys go to the adapter only, never to a log or an event."""
    if x.broker == "none" or x.broker_url is None and x.broker != "alpaca":
        return None
    if x.broker in ("alpaca", "sim"):
        from autosig.brokers.alpaca import AlpacaBroker

        key = x.alpaca_key_id.reveal() if x.alpaca_key_id else ""
        secret = x.alpaca_secret_key.reveal() if x.alpaca_secret_key else ""
        if x.broker == "alpaca" and not (key and secret):
            return None  # dry run without keys: the calendar stands in
        data = x.broker_data_url or x.broker_url
        broker: Broker = AlpacaBroker(key, secret, base_url=x.broker_url or "", data_url=data or "",
                                      read_timeout=x.broker_timeout_seconds)  # fmt: skip
        if x.broker == "sim":
            broker.name = "sim"  # type: ignore[misc]
        return broker
    from autosig.brokers.tradier import TradierBroker

    if not (x.tradier_token and x.tradier_account):
        return None
    return TradierBroker(x.tradier_token.reveal(), x.tradier_account, base_url=x.broker_url or "",
                         read_timeout=x.broker_timeout_seconds)  # fmt: skip


def read_account(broker: Broker, clock: Clock | None = None, stop: threading.Event | None = None) -> Account:
    """The broker's account, read again after a 429 (as told) or a transient failure (a read is safe to repeat), a
    few times: one busy moment at the broker must not hold trading up for a start-up backoff."""
    clock = clock or Clock()
    attempt = 0
    while True:
        try:
            return broker.account()
        except (RateLimited, OutcomeUnknown) as exc:
            attempt += 1
            if attempt >= _ACCOUNT_READS:
                raise
            if isinstance(exc, RateLimited):
                wait = min(5.0, exc.retry_after if exc.retry_after is not None else 1.0)
            else:
                wait = 0.25 * 2**attempt
            if clock.sleep(wait, stop):
                raise


def check_account(x: ExecutionSettings, broker: Broker | None, clock: Clock | None = None,
                  stop: threading.Event | None = None) -> str | None:  # fmt: skip
    """The account number the executor trades (None in dry run without a broker). Live: the typed consent must
    name this very account, and the key must be a live one; otherwise ConsentRefused (the process stops, exit 2)."""
    if broker is None:
        return None
    try:
        account = read_account(broker, clock, stop)
    except AuthRefused as exc:
        if x.sends:
            raise ConsentRefused(f"the broker refused the credentials ({exc})") from None
        return None
    except BrokerError as exc:
        if x.sends:
            raise
        log.warning("dry run: the broker's account could not be read (%s)", exc)
        return None
    if x.mode == "live":
        if account.paper:
            raise ConsentRefused("LIVE_TRADING=true but the broker says this is a paper account")
        if (x.live_account or "").strip() != account.number:
            raise ConsentRefused(f"AUTOSIG_LIVE_ACCOUNT does not match the account the broker reports "
                                 f"(...{account.number[-4:]}): live trading refused")  # fmt: skip
    elif x.mode == "paper" and not account.paper and x.broker != "sim":
        raise ConsentRefused("paper mode but the broker reports a live account: refused")
    return account.number


class Executor:
    def __init__(
        self,
        settings: Settings,
        open_store: Callable[[], EventStore],
        *,
        stop: threading.Event,
        clock: Clock | None = None,
        broker: Broker | None = None,
        holder: str | None = None,
    ) -> None:
        self.settings = settings
        self.open_store = open_store
        self.stop = stop
        self.clock = clock or Clock()
        self.broker = broker if broker is not None else make_broker(settings.execution)
        self.holder = holder or f"executor pid {os.getpid()} on {socket.gethostname()}"
        self.rng = random.Random()

    def run(self) -> int:
        """Until stopped: holds the lease, starts, follows. Returns 2 when live consent is refused."""
        failures = 0
        while not self.stop.is_set():
            store = None
            try:
                store = self.open_store()
                if not self._wait_for_lease(store):
                    return 0
                account = check_account(self.settings.execution, self.broker, self.clock, self.stop)
                stage = ExecuteStage(store, self.settings, self.broker, clock=self.clock, stop=self.stop,
                                     holder=self.holder, account=account)  # fmt: skip
                stage.start(active_version(self.settings))
                log.info("executor started: %s, %s%s", self.settings.execution.mode, self.settings.execution.broker,
                         f" account ...{account[-4:]}" if account else "")  # fmt: skip
                # A backlog (a restart after downtime: all stale) is decided in batches of skips; from then on each
                # fresh parse is decided as it is appended.
                runner = StageRunner(store, stage, batch=1000, stopping=self.stop.is_set)
                runner.recover()
                runner.catch_up()
                failures = 0
                try:
                    runner.follow(self.stop)
                finally:
                    stage.stopped("signal" if self.stop.is_set() else "exit")
            except ConsentRefused as exc:
                say(f"autosig: live trading refused: {exc}")
                return 2
            except LeaseLost as exc:
                log.error("%s; stopped sending until it holds the lease again", exc)
            except StageReset as exc:
                log.warning("%s; starting again from the orders stream", exc)
            except (StoreError, OSError, BrokerError) as exc:
                failures += 1
                delay = retry_delay("store", failures, 5.0, rng=self.rng)
                say(f"autosig executor: {exc}; starting again in {delay:.1f} s")
                self.clock.sleep(delay, self.stop)
            except Exception:  # noqa: BLE001 - a defect must not take the worker down; say so and start again
                failures += 1
                log.exception("the executor failed; starting again")
                self.clock.sleep(retry_delay("http_5xx", failures, 5.0, rng=self.rng), self.stop)
            finally:
                if store is not None:
                    try:
                        store.release_lease(LEASE)
                    except (StoreError, OSError):
                        pass
                    store.close()
        return 0

    def _wait_for_lease(self, store: EventStore) -> bool:
        last_logged: float | None = None
        while not self.stop.is_set():
            holder = store.try_acquire_lease(LEASE, self.holder, self.settings.lease_seconds)
            if holder is None:
                return True
            now = self.clock.monotonic()
            if last_logged is None or now - last_logged >= _LEASE_LOG_EVERY_S:
                log.warning("another executor holds this store: %s; waiting (sending nothing)", holder)
                last_logged = now
            if self.clock.sleep(1.0, self.stop):
                return False
        return False

    def check_at_start(self) -> None:
        """The consent and credential checks, before the worker polls (raises ConsentRefused: exit 2). A broker that
        cannot be reached now is checked again by run() before it trades."""
        try:
            check_account(self.settings.execution, self.broker, self.clock, self.stop)
        except BrokerError as exc:
            log.warning("the broker cannot be reached at start (%s); the executor checks again before trading", exc)

    def start_thread(self) -> threading.Thread:
        """Runs on a thread of its own (the worker's): its failures never touch polling or parsing."""
        thread = threading.Thread(target=self.run, name="autosig-executor", daemon=True)
        thread.start()
        return thread
