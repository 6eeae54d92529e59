"""Fixtures for the web tests: a real file store in tmp, an app over it, a client, and helpers to feed streams."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from waiting import wait_until  # noqa: F401 - re-exported for the web tests

from autosig.clock import ManualClock, rfc3339
from autosig.config import load_settings
from autosig.events import open_store
from autosig.schema import (
    PARSED,
    RAW,
    WORKER,
    alert_edited,
    alert_parsed,
    alert_received,
    poll_completed,
    poll_failed,
    worker_started,
)
from autosig.web import create_app, stop_host


class Feed:
    """Appends realistic events to a store, as the worker would."""

    def __init__(self, store) -> None:
        self.store = store
        self.n = 0

    def alert(self, text: str, *, source_id: str | None = None, signals: list[dict] | None = None,
              kind: str | None = None, reason: str | None = None, version: str = "1", edited: bool = False,
              created_at: str | None = None) -> tuple[int, int]:
        self.n += 1
        source_id = source_id or f"msg_{uuid.uuid4().hex[:12]}"
        payload = {"id": source_id, "content": text, "created_at": created_at or rfc3339(time.time() - 1),
                   "updated_at": rfc3339(time.time()), "user": {"id": "u1", "username": "analyst"}}
        (raw,) = self.store.append_many(RAW, [(alert_edited if edited else alert_received)("chat_feed_x", payload)])
        if kind is None:
            kind = "signal" if signals else "non_signal"
        result = {"kind": kind, "reason": reason if kind != "signal" else None, "signals": signals or []}
        (parsed,) = self.store.append_many(PARSED, [alert_parsed(raw.seq, source_id, version, result)])
        return raw.seq, parsed.seq

    def started(self, *, poll: float = 30, stale: float | None = 90, version: str = "1", dry_run: bool = True,
                live: bool = False) -> None:
        self.store.append_many(WORKER, [worker_started(poll_interval_seconds=poll, stale_after_seconds=stale,
                                                       parser_version=version, dry_run=dry_run, live_trading=live,
                                                       channels=["chat_feed_x"])])  # fmt: skip

    def completed(self, gap: bool = False) -> None:
        self.store.append_many(WORKER, [poll_completed(new=1, edited=0, pages=1, http_status=200, duration_ms=10,
                                                       gap=gap, initial=False)])  # fmt: skip

    def failed(self, reason: str = "auth", status: int | None = 401, detail: str = "401 Unauthorized") -> None:
        self.store.append_many(WORKER, [poll_failed(reason=reason, detail=detail, http_status=status, retry_in_s=30)])


def sig(ticker: str = "SPY", action: str = "open", price: float = 1.25, strike: float = 600.0, right: str = "C",
        expiry: str = "2027-01-17") -> dict:
    return {"action": action, "instrument": "option", "ticker": ticker,
            "legs": [{"side": "buy", "ratio": 1, "right": right, "strike": strike, "expiry": expiry}],
            "price": price, "price_range": None, "quantity": None, "size_pct": None, "fraction": None, "stop": None,
            "targets": [], "tags": [], "size_text": None, "limit_kind": None, "entry_price": None,
            "confidence": 0.9, "refers_to": None}




@pytest.fixture
def store(log_dir: Path):
    s = open_store(f"file:{log_dir}", writer="test", fsync=False)
    yield s
    s.close()


@pytest.fixture
def feed(store) -> Feed:
    return Feed(store)


@pytest.fixture
def env(log_dir: Path) -> dict[str, str]:
    # The Feed writes v1 parses: the web's own active version (until a worker.started says otherwise) must be v1 too,
    # whatever the newest version is.
    return {"AUTOSIG_LOG_DIR": str(log_dir), "AUTOSIG_TAIL_POLL_SECONDS": "0.05", "AUTOSIG_FSYNC": "never",
            "AUTOSIG_PARSER_VERSION": "1"}


@pytest.fixture
def make_app(env) -> Iterator[Callable]:
    apps = []

    def make(clock=None, **extra_env: str):
        app = create_app(load_settings({**env, **extra_env}), clock=clock)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        stop_host(app)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock(start=time.time())


def synced(client, stream: str, seq: int) -> Callable[[], bool]:
    """A predicate: the app has applied `stream` up to `seq`."""
    def check() -> bool:
        return client.get("/api/status").get_json()["streams"][stream]["seq"] >= seq
    return check
