"""POST /webhooks/whop: Whop's `chat.message.created` webhooks, a wake-up for the worker's poll (see the README,
"Webhooks").

Authenticated by signature only (Standard Webhooks, WHOP_WEBHOOK_SECRET), so it is exempt from the dashboard password
and the loopback rule: Whop cannot send a password. A genuine, fresh delivery for a channel the worker follows (the
channels of its latest `worker.started`) is appended to the `inbox` stream, keyed `webhook:<id>` so a redelivery
appends nothing; every other delivery changes nothing. Refusals are counted (autosig_webhooks_total{outcome}), never
stored and never held against an address: behind Railway's proxy every caller, Whop included, shares one.

The web writes `inbox` only where it can write the worker's store: Postgres, or a file-store directory it can open
for writing (checked when the app is made). Elsewhere the endpoint answers 503 and says why.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from autosig.config import Settings
from autosig.events import EventStore, StoreError, open_store
from autosig.schema import INBOX, webhook_received
from autosig.sources.whop_webhooks import WebhookRejected, verify_delivery
from autosig.web.host import WebState, ensure_started, state
from autosig.web.jsonout import json_response

bp = Blueprint("webhooks", __name__)
PATH = "/webhooks/whop"
EXTENSION = "autosig.webhooks"
MAX_BODY = 1 << 20  # a chat message event is a few KB; anything this large is not one
OUTCOMES = ("accepted", "duplicate", "ignored", "bad_signature", "old_timestamp", "malformed", "unavailable")
DISABLED = "Whop webhooks are off on this service: set WHOP_WEBHOOK_SECRET (the endpoint's secret in Whop's dashboard)."


def store_unwritable_reason(settings: Settings) -> str | None:
    """Why this process cannot append to the worker's store, or None when it can."""
    url = settings.store_url
    if not url.startswith("file:"):
        return None  # Postgres: both services write the same database
    directory = Path(url[len("file:") :] or ".")
    where = f"the file store {directory}"
    if not directory.is_dir():
        return f"{where} does not exist on this machine, so it is not the worker's; share the log through Postgres"
    inbox = directory / "inbox.jsonl"
    if not os.access(directory, os.W_OK | os.X_OK) or (inbox.exists() and not os.access(inbox, os.W_OK)):
        return f"{where} is not writable by the web; give both services one store (Postgres on Railway)"
    return None


class Webhooks:
    """Per app: the outcome counts of this process and, opened on first use (after gunicorn's fork), the store that
    `inbox` is appended to."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.unwritable = store_unwritable_reason(settings) if settings.whop_webhook_secret else None
        self.counts: Counter[str] = Counter({outcome: 0 for outcome in OUTCOMES})
        self._lock = threading.Lock()
        self._store: EventStore | None = None
        self._pid = 0

    def count(self, outcome: str) -> None:
        with self._lock:
            self.counts[outcome] += 1

    def store(self) -> EventStore:
        with self._lock:
            if self._store is None or self._pid != os.getpid():
                s = self.settings
                self._store = open_store(
                    s.store_url, writer="web", fsync=s.fsync, tail_poll_seconds=s.tail_poll_seconds
                )
                self._pid = os.getpid()
            return self._store


class WebhookCollector(Collector):
    def __init__(self, hooks: Webhooks) -> None:
        self.hooks = hooks

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "autosig_webhooks", "Whop webhook deliveries by outcome, in this process", labels=["pid", "outcome"]
        )
        with self.hooks._lock:
            counts = dict(self.hooks.counts)
        for outcome, n in counts.items():
            family.add_metric([str(os.getpid()), outcome], float(n))
        yield family


@bp.record_once
def _setup(setup: BlueprintSetupState) -> None:
    app: Flask = setup.app
    st: WebState = state(app)
    hooks = Webhooks(st.settings)
    app.extensions[EXTENSION] = hooks
    # /metrics makes its registry on first scrape; making it now lets the webhook counts join it
    from autosig.web.metrics import registry_for

    st.registry = registry_for(st)
    st.registry.register(WebhookCollector(hooks))


def _answer(hooks: Webhooks, outcome: str, status: int, message: str) -> Response:
    hooks.count(outcome)
    doc = {"status": outcome, "detail": message} if status < 400 else {"error": message}
    return json_response(doc, status)


@bp.post(PATH)
def whop() -> Response:
    st = state()
    hooks: Webhooks = current_app.extensions[EXTENSION]
    secret = st.settings.whop_webhook_secret
    if secret is None:
        return json_response({"error": DISABLED}, 404)
    if hooks.unwritable:
        return _answer(hooks, "unavailable", 503, f"webhooks cannot be recorded: {hooks.unwritable}")
    if (request.content_length or 0) > MAX_BODY:
        return _answer(hooks, "malformed", 413, "the body is too large for a Whop event")
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY:
        return _answer(hooks, "malformed", 413, "the body is too large for a Whop event")
    try:
        event = verify_delivery(secret, request.headers, body, st.now())
    except WebhookRejected as rejected:
        return _answer(hooks, rejected.outcome, 401, rejected.detail)
    if event is None:
        return _answer(hooks, "ignored", 200, "not a chat.message.created event")
    st = ensure_started()
    from_worker, followed = st.host.read(
        lambda p: (p.ingestion.settings_from_worker, list(p.ingestion.settings.get("channels") or []))
    )
    if not from_worker:
        return _answer(hooks, "ignored", 200, "the worker has not started yet, so no channel is followed")
    channel = next((c for c in event.channels if c in followed), None)
    if channel is None:
        return _answer(hooks, "ignored", 200, "a channel the worker does not follow")
    try:
        draft = webhook_received(
            webhook_id=event.webhook_id, timestamp=event.timestamp, channel=channel, message_id=event.message_id
        )
        # the key makes a redelivery append nothing; the store then returns the earlier event, which this
        # request's own mark in meta tells apart from a new one (one store round trip instead of two)
        mark = uuid.uuid4().hex
        recorded = hooks.store().append_many(INBOX, [draft._replace(meta={"request": mark})])[0]
        if (recorded.meta or {}).get("request") != mark:
            return _answer(hooks, "duplicate", 200, "already received")
    except StoreError as exc:
        # Whop redelivers later; meanwhile the poll catches the message up anyway
        return _answer(hooks, "unavailable", 503, f"the event store refused the write ({exc})")
    return _answer(hooks, "accepted", 200, "the worker polls this channel now")
