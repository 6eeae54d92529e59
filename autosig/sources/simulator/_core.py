"""The simulator's state: channels of messages (or forum posts), the fault queue, paging, and serving."""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from autosig.sources.simulator import _shapes
from autosig.sources.simulator._faults import FAULT_KINDS, Fault, kind_of
from autosig.sources.simulator._http import Handler, Server, decode_cursor, encode_cursor

DEFAULT_CHANNEL = "chat_feed_sim"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
AUTHORS = [
    {"id": "user_sim_ana", "username": "ana_trades", "name": "Ana"},
    {"id": "user_sim_ben", "username": "benflow", "name": "Ben"},
    {"id": "user_sim_cal", "username": "cal_options", "name": "Cal"},
]


def load_corpus() -> list[dict[str, Any]]:
    """The bundled alerts: {"id", "text", "reply_to", "author"} per line, in posting order."""
    text = resources.files("autosig.sources").joinpath("data/alerts.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class Simulator:
    default_page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE

    def __init__(
        self,
        token: str = "sim-token",
        *,
        history: int | None = 0,
        pace: float | None = None,
        channel: str = DEFAULT_CHANNEL,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = None,
        path: str = "/api/v1/messages",
    ) -> None:
        """`history`: how many corpus alerts exist before start (None = all of them); `pace`: seconds between
        alerts published automatically from the corpus (None = only when told). A `path` ending in forum_posts
        serves forum posts (listed by experience_id) instead of chat messages."""
        self.token = token
        self.channel = channel
        self.path = path
        self.kind = _shapes.FORUM_POSTS if path.rstrip("/").endswith("forum_posts") else _shapes.MESSAGES
        self.pace = pace
        self.oauth: Any = None  # the OAuth side, when enabled (see enable_oauth)
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._messages: dict[str, list[dict[str, Any]]] = {}  # channel -> oldest first
        self._by_id: dict[str, dict[str, Any]] = {}
        self._faults: list[Fault] = []
        self._corpus = load_corpus()
        self._corpus_ids: dict[str, str] = {}  # corpus id -> message id of its latest publication
        self._cycle = itertools.cycle(range(len(self._corpus)))
        self._counter = itertools.count(1)
        self._stop = threading.Event()
        self.requests = 0
        self.cursor_mode = "stable"  # or "offset"
        self.fault_counts: Counter[str] = Counter()  # served faults by kind (each request of a burst counts)
        self._mix: dict[str, float] = {}
        self._mix_rng = random.Random(seed)
        self._server: Server | None = None
        self._threads: list[threading.Thread] = []
        self._bind = (host, port)
        self._listeners: list[Any] = []  # called with (channel, message) after each publication
        count = len(self._corpus) if history is None else history
        start = datetime.now(UTC) - timedelta(minutes=5 * count)
        for i in range(count):
            self.publish_from_corpus(created_at=_shapes.iso(start + timedelta(minutes=5 * i)))

    # --- serving ---------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The listing URL to give the worker as WHOP_ALERTS_URL."""
        return self.url_for(self.channel)

    @property
    def base_url(self) -> str:
        """http://host:port, the origin every endpoint of the simulator lives under."""
        if self._server is None:
            raise RuntimeError("simulator not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url_for(self, channel: str) -> str:
        param = "experience_id" if self.kind == _shapes.FORUM_POSTS else "channel_id"
        return f"{self.base_url}{self.path}?{param}={channel}"

    def start(self) -> Simulator:
        handler = type("Handler", (Handler,), {"sim": self})
        self._server = Server(self._bind, handler)
        thread = threading.Thread(target=self._server.serve_forever, name="simulator-http", daemon=True)
        thread.start()
        self._threads.append(thread)
        if self.pace:
            pacer = threading.Thread(target=self._publish_paced, name="simulator-pace", daemon=True)
            pacer.start()
            self._threads.append(pacer)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        for listener in self._listeners:
            close = getattr(listener, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def accepts(self, bearer: str | None) -> bool:
        """Whether a listing request with this bearer token is let in: the fixed token, or a live OAuth token."""
        if bearer is not None and bearer == self.token:
            return True
        return self.oauth is not None and bearer is not None and self.oauth.access_token_valid(bearer)

    def _publish_paced(self) -> None:
        while not self._stop.wait(self.pace):
            self.publish_from_corpus()

    # --- content ---------------------------------------------------------------------------------------------

    def _new_id(self) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "post_" + "".join(self._rng.choice(alphabet) for _ in range(14)) + str(next(self._counter))

    def publish(
        self,
        content: str | None = "",
        *,
        channel: str | None = None,
        author: dict[str, Any] | None = None,
        reply_to: str | None = None,
        created_at: Any = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Adds a message as the newest of its channel and returns it (a copy). `created_at` may be ISO 8601 or
        epoch seconds/milliseconds, as Whop sends either."""
        with self._lock:
            message = _shapes.listed_item(
                self.kind,
                self._new_id(),
                content,
                created_at=created_at if created_at is not None else _shapes.iso(datetime.now(UTC)),
                user=dict(author or self._rng.choice(AUTHORS)),
                reply_to=reply_to,
                rng=self._rng,
            )
        message.update(extra)
        return self.publish_raw(message, channel=channel)

    def publish_raw(self, message: dict[str, Any], *, channel: str | None = None) -> dict[str, Any]:
        """Adds a message object exactly as given (hostile ids, timestamps, fields) as the newest of its channel."""
        channel = channel or self.channel
        with self._lock:
            self._messages.setdefault(channel, []).append(message)
            self._by_id[str(message.get("id"))] = message
            listeners = list(self._listeners)
            copy = json.loads(json.dumps(message)) if listeners else None
        for listener in listeners:
            listener.published(channel, copy)
        return dict(message)

    def publish_many(self, count: int, *, channel: str | None = None, prefix: str = "") -> list[dict[str, Any]]:
        return [self.publish_from_corpus(channel=channel, prefix=prefix and f"{prefix} {i}") for i in range(count)]

    def publish_from_corpus(
        self, *, channel: str | None = None, created_at: Any = None, prefix: str = ""
    ) -> dict[str, Any]:
        """Publishes the next corpus alert (cycling), as a reply when the corpus says it is one."""
        with self._lock:
            entry = self._corpus[next(self._cycle)]
            reply_to = self._corpus_ids.get(entry.get("reply_to") or "")
            author = next((a for a in AUTHORS if a["username"] == entry.get("author")), None)
            text = f"{prefix}: {entry['text']}" if prefix else entry["text"]
            message = self.publish(text, channel=channel, author=author, reply_to=reply_to, created_at=created_at)
            self._corpus_ids[entry["id"]] = message["id"]
            return message

    def edit(self, message_id: str, content: str | None) -> dict[str, Any]:
        """Changes a message's content the way Whop does: new updated_at, is_edited true."""
        with self._lock:
            message = self._by_id[str(message_id)]
            message["content"] = content
            message["is_edited"] = True
            stamp = datetime.now(UTC)
            previous = message.get("updated_at")
            if isinstance(previous, str) and previous >= _shapes.iso(stamp):
                stamp = datetime.fromisoformat(previous.replace("Z", "+00:00")) + timedelta(milliseconds=1)
            message["updated_at"] = _shapes.iso(stamp)
            return dict(message)

    def count(self, channel: str | None = None) -> int:
        """How many messages a channel has (cheaper than len(messages()))."""
        with self._lock:
            return len(self._messages.get(channel or self.channel, []))

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """All messages of a channel, oldest first (copies)."""
        with self._lock:
            return [dict(m) for m in self._messages.get(channel or self.channel, [])]

    def enable_oauth(self, clients: dict[str, str | None], *, token_lifetime: float = 3600.0) -> Any:
        """Serves Whop's OAuth endpoints under /oauth/ for these apps (client id -> secret, None for a public app);
        the listing then also accepts their live access tokens. Returns the OAuth side (see _oauth)."""
        from autosig.sources.simulator._oauth import OAuthServer

        self.oauth = OAuthServer(clients, token_lifetime=token_lifetime)
        return self.oauth

    def enable_webhooks(self, url: str, secret: str, **options: Any) -> Any:
        """From now on every publication is sent to `url` as a signed chat.message.created webhook; returns the
        sender (see autosig.sources.simulator._webhooks), which also sends forged, replayed and duplicated ones."""
        from autosig.sources.simulator._webhooks import WebhookSender

        sender = WebhookSender(url, secret, **options)
        self.add_listener(sender)
        return sender

    def add_listener(self, listener: Any) -> None:
        """`listener.published(channel, message)` is called after every publication (the webhook sender is one)."""
        self._listeners.append(listener)

    # --- faults ----------------------------------------------------------------------------------------------

    def fault(
        self,
        status: int | None = None,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
        content_type: str | None = None,
        delay: float = 0.0,
        reset: bool = False,
        count: int = 1,
        publish: int = 0,
        duplicate: int = 0,
        kind: str = "",
    ) -> Fault:
        """Queues a fault for the next `count` listing requests (after any fault already queued).

        `publish`: publish that many corpus alerts just before answering (with offset cursors, pages overlap);
        `duplicate`: repeat that many messages from before the cursor at the top of the page."""
        fault = Fault(status, dict(headers or {}), body, content_type, delay, reset, count, 0, publish, duplicate, kind)
        with self._lock:
            self._faults.append(fault)
        return fault

    def random_faults(self, rates: dict[str, float] | None, *, seed: int | None = None) -> None:
        """From now on each listing request without a queued fault gets, with probability `rates[kind]`, a fault of
        that kind (see FAULT_KINDS; at most one per request). None or {} turns random faults off."""
        unknown = set(rates or {}) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        if sum((rates or {}).values()) > 1:
            raise ValueError("fault rates add up to more than 1")
        with self._lock:
            self._mix = dict(rates or {})
            if seed is not None:
                self._mix_rng = random.Random(seed)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._mix = {}

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if not self._faults and self._mix:
                draw = self._mix_rng.random()
                for kind, rate in self._mix.items():
                    if draw < rate:
                        self.fault(kind=kind, **FAULT_KINDS[kind](self._mix_rng))
                        break
                    draw -= rate
            while self._faults:
                fault = self._faults[0]
                if fault.served < fault.count:
                    fault.served += 1
                    if fault.served >= fault.count:
                        self._faults.pop(0)
                    self.fault_counts[fault.kind or kind_of(fault)] += 1
                    return fault
                self._faults.pop(0)
            return None

    # --- listing ---------------------------------------------------------------------------------------------

    def _select(
        self, channel: str, first: int, after: str | None, desc: bool, duplicate: int = 0
    ) -> tuple[list[dict], dict]:
        with self._lock:
            ordered = list(self._messages.get(channel, []))
        if desc:
            ordered.reverse()
        start = 0
        offsets = self.cursor_mode == "offset"
        if after:
            anchor = decode_cursor(after)
            if offsets:
                if anchor is None or not anchor.startswith("offset:") or not anchor[7:].isdigit():
                    raise ValueError("invalid cursor")
                start = int(anchor[7:])
            else:
                ids = [str(m.get("id")) for m in ordered]
                if anchor is None or anchor not in ids:
                    raise ValueError("invalid cursor")
                start = ids.index(anchor) + 1
        begin = max(0, start - duplicate)  # duplicates: the end of the previous page again
        page = [json.loads(json.dumps(m)) for m in ordered[begin : start + first]]
        end = start + first
        has_next = end < len(ordered)
        if offsets:
            end_cursor = encode_cursor(f"offset:{min(end, len(ordered))}") if page else None
            start_cursor = encode_cursor(f"offset:{begin}") if page else None
        else:
            end_cursor = encode_cursor(str(page[-1].get("id"))) if page else None
            start_cursor = encode_cursor(str(page[0].get("id"))) if page else None
        info = {
            "end_cursor": end_cursor,
            "start_cursor": start_cursor,
            "has_next_page": has_next,
            "has_previous_page": begin > 0,
        }
        return page, info
