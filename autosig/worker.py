"""The worker: `python main.py`. It holds the store's worker lease and runs the stages (see docs/ARCHITECTURE.md):

    ingest   Whop -> raw, worker         (autosig.stages.ingest)
    parse    raw -> parsed               (autosig.stages.parse, on the stage runner)

    worker = Worker(settings, store)          # clock=, stop=, client_factory= are seams for tests
    worker.run()                              # until `stop` is set (SIGTERM/SIGINT in main)

Each poll appends raw, then parses what is new, then records the poll, so a crash between any two appends leaves
nothing the next start cannot finish. SIGTERM finishes the append in progress and records worker.stopped; SIGKILL at
any instant loses and duplicates nothing.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from autosig import __version__
from autosig.clock import Clock
from autosig.config import Settings
from autosig.events import Event, EventStore, StoreError
from autosig.logs import say
from autosig.redact import redact_url
from autosig.schema import RAW_TYPES, WORKER, worker_started, worker_stopped
from autosig.sources.wakeups import InboxFollower, PollSchedule
from autosig.sources.whop import WhopClient, retry_delay
from autosig.sources.whop_auth import credentials_for
from autosig.stages.ingest import Ingest, Stopped, describe_error
from autosig.stages.parse import ParseStage
from autosig.stages.raw_index import RawIndex
from autosig.stages.raw_index import Stopped as IndexStopped
from autosig.stages.runner import StageRunner
from autosig.startup import active_version

# How often a worker waiting for the lease repeats who holds it (it checks far more often).
_LEASE_LOG_EVERY_S = 60.0
LEASE = "worker"

log = logging.getLogger("autosig.worker")


class LeaseLost(Exception):
    """Another worker holds the store now (Postgres lease expired); stop appending and wait again."""


class Worker:
    def __init__(
        self,
        settings: Settings,
        store: EventStore,
        *,
        clock: Clock | None = None,
        stop: threading.Event | None = None,
        client_factory: Callable[[str], Any] | None = None,
        rng: random.Random | None = None,
        holder: str | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock or Clock()
        self.stop = stop or threading.Event()
        self.rng = rng or random.Random()
        self.holder = holder or f"worker pid {os.getpid()} on {socket.gethostname()}"
        timeout = settings.whop_timeout_seconds
        # A fixed token, or the OAuth grant `autosig whop-login` kept beside the store (renewed before it expires):
        # one credentials object for every channel.
        self.credentials = credentials_for(settings, store)
        factory = client_factory or (
            lambda url: WhopClient(url, self.credentials, connect_timeout=min(10.0, timeout), read_timeout=timeout)
        )
        self.clients = [factory(url) for url in settings.whop_alerts_urls]
        self.version = active_version(settings)
        self.index = RawIndex(store, channels=[c.channel for c in self.clients])
        self.ingest = Ingest(
            store,
            self.clients,
            self.index,
            poll_interval=settings.poll_interval_seconds,
            max_backfill_pages=settings.max_backfill_pages,
            clock=self.clock,
            stop=self.stop,
            rng=self.rng,
        )
        self.parse = StageRunner(store, ParseStage(self.version, settings.authors, self.index.messages),
                                 stopping=self.stop.is_set)  # fmt: skip
        self.started = False

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def run(self) -> int:
        """Waits for the lease, starts, polls until stopped, then records worker.stopped. Returns the exit code."""
        try:
            while not self.stop.is_set():
                if not self._wait_for_lease():
                    return 0
                if not self._start_with_retry():
                    break
                try:
                    self._loop()
                except LeaseLost as exc:
                    log.error("%s; not appending until it is released", exc)
                    self.started = False
                    continue
        finally:
            self.shutdown()
        return 0

    def _loop(self) -> None:
        """Polls each channel on its interval, and at once when a verified webhook in `inbox` says it has news
        (coalesced: one poll per channel in flight, at least 2 s apart, never inside a rate-limit hold)."""
        by_channel = {c.channel: c for c in self.clients}
        schedule = PollSchedule(list(by_channel), self.settings.poll_interval_seconds, clock=self.clock, max_wait=None)
        closer = threading.Thread(target=lambda: (self.stop.wait(), schedule.close()), daemon=True)
        closer.start()
        follower = InboxFollower(self.store, schedule).start()
        bugs = 0
        try:
            while (channel := schedule.wait_due(self.stop)) is not None:
                try:
                    self._check_lease()
                    result = self.ingest.poll(self._parse, [by_channel[channel]])
                    delay, hold = result.delay, result.failure == "rate_limited"
                    bugs = 0
                except (LeaseLost, Stopped):
                    raise
                except Exception:
                    # A defect, not an outage: say so loudly and keep trying rather than die (a restart would hit it
                    # again); the dashboard goes stale because no poll completes.
                    bugs += 1
                    log.exception("unexpected error in a poll; retrying")
                    delay = retry_delay("http_5xx", bugs, self.settings.poll_interval_seconds, rng=self.rng)
                    hold = False
                schedule.done(channel, next_in=delay, hold=hold)
        finally:
            schedule.close()
            follower.stop()

    def _wait_for_lease(self) -> bool:
        """Blocks until this worker holds the worker lease; False when stopped first."""
        last_logged = None
        last_holder = None
        pause = max(0.05, min(self.settings.poll_interval_seconds, 5.0))
        while not self.stop.is_set():
            try:
                holder = self.store.try_acquire_lease(LEASE, self.holder, self.settings.lease_seconds)
            except (StoreError, OSError) as exc:
                holder = None
                say(f"autosig worker: cannot take the worker lease: {describe_error(exc)}; retrying")
                if self.clock.sleep(pause, self.stop):
                    return False
                continue
            if holder is None:
                return True
            now = self.clock.monotonic()
            if holder != last_holder or last_logged is None or now - last_logged >= _LEASE_LOG_EVERY_S:
                log.warning("another worker holds this store: %s; waiting for it to stop (not appending)", holder)
                last_logged, last_holder = now, holder
            if self.clock.sleep(pause, self.stop):
                return False
        return False

    def _start_with_retry(self) -> bool:
        attempt = 0
        while not self.stop.is_set():
            try:
                self.start()
                return True
            except (Stopped, IndexStopped):
                return False
            except (StoreError, OSError) as exc:
                attempt += 1
                delay = self.ingest.note_store_trouble(exc, attempt)
                if self.clock.sleep(delay, self.stop):
                    return False
        return False

    def start(self) -> None:
        """Indexes the raw stream, finds where parsing stopped, appends worker.started. What the last run left
        unparsed is parsed by the first poll's write, before anything new."""
        began = time.perf_counter()
        self.index.rebuild(self.stop.is_set)
        self.parse.stage.ctx.messages = self.index.messages  # rebuilt: the parse context reads the new one
        parsed_through = self.parse.recover()
        s = self.settings
        channels = [c.channel for c in self.clients]
        unparsed = max(0, self.index.seq - parsed_through)
        started = worker_started(
            poll_interval_seconds=s.poll_interval_seconds,
            stale_after_seconds=s.stale_after_seconds,
            parser_version=self.version,
            dry_run=s.dry_run,
            live_trading=s.live_trading,
            channels=channels,
            execution_mode=s.execution.mode,
            sources=[redact_url(c.url) for c in self.clients],
            max_backfill_pages=s.max_backfill_pages,
            version=__version__,
            raw_events=self.index.seq,
            unparsed_at_start=unparsed,
        )
        self.store.append_many(WORKER, [started])
        log.info(
            "worker started: %d raw events indexed (%d messages) in %.2f s; %d left to parse with parser v%s; "
            "polling %s every %gs",
            self.index.seq,
            len(self.index.messages),
            time.perf_counter() - began,
            unparsed,
            self.version,
            ", ".join(channels) or "nothing",
            s.poll_interval_seconds,
        )
        self.started = True

    def shutdown(self) -> None:
        """Records worker.stopped (one attempt: a stopping process must not hang on a dead store) and lets go."""
        if self.started:
            try:
                self.store.append_many(WORKER, [worker_stopped("signal" if self.stop.is_set() else "exit")])
                log.info("worker stopped")
            except (StoreError, OSError) as exc:
                say(f"autosig worker: could not record worker.stopped: {describe_error(exc)}")
            self.started = False
        try:
            self.store.release_lease(LEASE)
        except (StoreError, OSError):
            pass
        for client in self.clients:
            close = getattr(client, "close", None)
            if close is not None:
                close()

    # --- one poll ------------------------------------------------------------------------------------------------

    def poll_once(self) -> float:
        """Fetches every source, writes what changed, records the outcome. Returns seconds until the next poll."""
        self._check_lease()
        return self.ingest.poll(self._parse).delay

    def _parse(self, fresh: list[Event]) -> None:
        """Parses what is unparsed: a start-up backlog (ended by a stop request between two alerts, so SIGTERM never
        waits for it) and this poll's own fresh alerts (always parsed: a stopped worker leaves none of its own)."""
        keep_from = fresh[0].seq if fresh else None
        self.parse.catch_up(keep_from=keep_from, before_chunk=self._check_lease)

    def _check_lease(self) -> None:
        try:
            holder = self.store.try_acquire_lease(LEASE, self.holder, self.settings.lease_seconds)
        except (StoreError, OSError):
            return  # cannot tell; the write below will fail and be reported if the store is really down
        if holder is not None:
            raise LeaseLost(f"another worker took over this store: {holder}")


def _secrets(settings: Settings) -> list[str]:
    """The Whop secrets besides the token, masked in every log line too."""
    return [s.reveal() for s in (settings.whop_client_secret, settings.whop_webhook_secret) if s is not None]


def _mode_warning(settings: Settings) -> str:
    if settings.execution.mode == "live":
        return "LIVE TRADING: orders go to the broker's live account, with real money"
    return "LIVE_TRADING=true is ignored: DRY_RUN=true wins, nothing is sent"


def iter_raw(store: EventStore) -> Any:
    """Raw alert events of a store (for tools and tests)."""
    return (ev for ev in store.read("raw") if ev.type in RAW_TYPES)


def main() -> int:
    """`python main.py`: configuration (exit 2 when invalid), logging, signals, then the poll loop."""
    import signal
    import sys

    from autosig.events import open_store
    from autosig.logs import setup_logging
    from autosig.redact import url_secrets
    from autosig.startup import settings_or_exit

    settings = settings_or_exit(require_source=True)
    token = settings.whop_access_token
    # the token, the broker's keys and whatever secrets the listing URLs carry (?token=…) are masked in every log line
    url_parts = [v for url in settings.whop_alerts_urls for v in url_secrets(url)]
    setup_logging(settings.log_dir, secrets=[token.reveal() if token else None, *url_parts,
                                             *settings.execution.secrets(), *_secrets(settings)])  # fmt: skip
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()  # only a flag: the loop finishes the append in progress, then records worker.stopped

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if token is None and not settings.whop_client_id:
        log.warning("WHOP_ACCESS_TOKEN is not set (nor WHOP_CLIENT_ID for a sign-in); Whop will most likely answer 401")
    clock = Clock()
    store = None
    attempt = 0
    while store is None:
        try:
            store = open_store(settings.store_url, writer="worker", fsync=settings.fsync,
                               tail_poll_seconds=settings.tail_poll_seconds)  # fmt: skip
        except ModuleNotFoundError as exc:
            print(
                f"autosig: invalid configuration: AUTOSIG_STORE_URL: this store needs the {exc.name} package "
                "(pip install 'autosig[postgres]')",
                file=sys.stderr,
            )
            return 2
        except (StoreError, OSError) as exc:
            attempt += 1
            delay = retry_delay("store", attempt, settings.poll_interval_seconds)
            say(f"autosig worker: cannot open the event store: {describe_error(exc)}; retrying in {delay:.1f} s")
            if clock.sleep(delay, stop):
                return 0
    executor = None
    if settings.execution.in_worker:
        from autosig.executor import ConsentRefused, Executor

        def executor_store() -> EventStore:
            return open_store(settings.store_url, writer="executor", fsync=settings.fsync,
                              tail_poll_seconds=settings.tail_poll_seconds)  # fmt: skip

        executor = Executor(settings, executor_store, stop=stop, clock=clock)
        try:
            executor.check_at_start()
        except ConsentRefused as exc:
            print(f"autosig: invalid configuration: live trading refused: {exc}", file=sys.stderr)
            store.close()
            return 2
        if settings.execution.mode == "live" or settings.live_trading and settings.dry_run:
            log.warning("%s", _mode_warning(settings))
        thread = executor.start_thread()
    try:
        return Worker(settings, store, clock=clock, stop=stop).run()
    except Exception:
        log.exception("worker crashed")
        return 1
    finally:
        stop.set()
        if executor is not None:
            thread.join(15)  # let it finish the request in flight and record executor.stopped
        store.close()
