"""The simulator's webhooks: a signed `chat.message.created` to a configured URL each time it publishes, as Whop
sends them, plus forged, replayed, duplicated and malformed deliveries on request.

    hooks = sim.enable_webhooks(url, secret)      # every publication is delivered (on a sender thread, in order)
    hooks.wait_idle()                              # until the queue is delivered
    hooks.send(message, kind="forged")             # one delivery now; returns the Delivery
    hooks.deliveries                               # every Delivery: webhook id, kind, HTTP status, seconds taken
"""

from __future__ import annotations

import itertools
import json
import queue
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from autosig.sources.simulator import _shapes
from autosig.sources.whop_webhooks import sign

# What send(kind=...) delivers: genuine; signed with another secret; genuinely signed but stamped 10 minutes ago;
# without signature headers; genuinely signed over a body that is not a Whop event.
KINDS = ("genuine", "forged", "replayed", "unsigned", "malformed")
REPLAY_AGE_S = 600


@dataclass
class Delivery:
    webhook_id: str
    kind: str
    channel: str
    message_id: str | None
    status: int | None  # None: the request failed (refused, reset, timed out)
    seconds: float
    sent_at: float  # wall-clock time the request was sent


class WebhookSender:
    """Listens to the simulator's publications and POSTs each one, signed, to `url`."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        experience_id: str | None = None,
        retries: int = 2,
        timeout: float = 5.0,
        automatic: bool = True,
    ) -> None:
        self.url = url
        self.secret = secret
        self.experience_id = experience_id
        self.retries = retries
        self.timeout = timeout
        self.automatic = automatic
        self.deliveries: list[Delivery] = []
        self._ids = itertools.count(1)
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="simulator-webhooks", daemon=True)
        self._thread.start()

    # --- the simulator's listener interface ------------------------------------------------------------------

    def published(self, channel: str, message: dict[str, Any]) -> None:
        if self.automatic:
            self._queue.put((channel, message))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
        self._session.close()

    # --- deliveries ------------------------------------------------------------------------------------------

    def new_id(self) -> str:
        return f"msg_{secrets.token_hex(10)}{next(self._ids)}"

    def body_for(self, webhook_id: str, channel: str, message: dict[str, Any]) -> bytes:
        doc = _shapes.chat_message_created(
            webhook_id, message, channel=channel, experience_id=self.experience_id, sent_at=datetime.now(UTC)
        )
        return json.dumps(doc, ensure_ascii=True).encode("ascii")

    def send(
        self,
        message: dict[str, Any] | None = None,
        *,
        channel: str = "",
        kind: str = "genuine",
        webhook_id: str | None = None,
        copies: int = 1,
        timestamp: int | None = None,
    ) -> list[Delivery]:
        """Delivers one webhook (`copies` times with the same id, as a redelivery does) and returns the deliveries.
        `kind` is one of KINDS; `timestamp` overrides the signed send time."""
        if kind not in KINDS:
            raise ValueError(f"unknown webhook kind {kind!r}; one of {', '.join(KINDS)}")
        webhook_id = webhook_id or self.new_id()
        message = message or {"id": f"post_unknown_{webhook_id}"}
        stamp = timestamp if timestamp is not None else int(time.time())
        if kind == "replayed" and timestamp is None:
            stamp -= REPLAY_AGE_S
        body = self.body_for(webhook_id, channel, message)
        if kind == "malformed":
            body = b'{"type": "chat.message.created", "data": {"channel": 7}}'
        headers = {"Content-Type": "application/json"}
        if kind != "unsigned":
            secret = self.secret if kind != "forged" else "ws_" + secrets.token_hex(16)
            headers.update(sign(secret, webhook_id, stamp, body))
        return [self._post(webhook_id, kind, channel, message.get("id"), body, headers) for _ in range(copies)]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Waits until every publication queued so far was delivered (or given up on)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def _post(
        self, webhook_id: str, kind: str, channel: str, message_id: Any, body: bytes, headers: dict[str, str]
    ) -> Delivery:
        sent = time.time()
        began = time.perf_counter()
        try:
            status: int | None = self._session.post(
                self.url, data=body, headers=headers, timeout=self.timeout
            ).status_code
        except requests.RequestException:
            status = None
        delivery = Delivery(webhook_id, kind, channel, None if message_id is None else str(message_id), status,
                            time.perf_counter() - began, sent)  # fmt: skip
        with self._lock:
            self.deliveries.append(delivery)
        return delivery

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                channel, message = item
                webhook_id = self.new_id()
                for attempt in range(self.retries + 1):
                    # Whop redelivers a failed webhook with the same id (the receiver's key makes that harmless)
                    delivery = self.send(message, channel=channel, webhook_id=webhook_id)[0]
                    if delivery.status is not None and delivery.status < 500:
                        break
                    if attempt < self.retries:
                        time.sleep(0.2 * (attempt + 1))
            finally:
                self._queue.task_done()
