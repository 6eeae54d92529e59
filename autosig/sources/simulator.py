"""A Whop-compatible listing server on loopback, for the demo and the tests (the README, "The worker" and "Tests").

In-process:
    sim = Simulator(token="t").start()        # serves the bundled corpus at sim.url
    sim.publish("BTO 1 SPY 600c 1/17 @ 1.25")  # newest message
    sim.edit(msg["id"], "new text")
    sim.fault(status=503, count=2)              # the next two requests answer 503
    sim.stop()

As a process (prints the listing URL on its first stdout line, then serves until SIGTERM/SIGINT):
    python -m autosig.sources.simulator --port 0 --pace 3       # token from SIMULATOR_TOKEN or --token

Paging: `direction=desc` (the default here) lists newest first; `after=<end_cursor>` continues past a message.
Cursors name a message, so publishing between page requests does not shift pages (cursor_mode="stable"). With
cursor_mode="offset" a cursor is a position, as in offset-paginated APIs: messages published between page requests
push older ones down, so the next page repeats the end of the previous one.

Faults (per test): `fault(...)` queues one for the next requests; `fault(publish=3)` publishes three messages just
before answering (pages shift under a paging client); `fault(duplicate=2)` repeats the last two messages of the
previous page at the top of this one; `random_faults({"http_5xx": 0.02, ...}, seed=1)` draws faults of the kinds in
FAULT_KINDS at random per request. `fault_counts` counts served faults by kind. FAR_TIMES holds far-future and
far-past `created_at` values (ISO and epoch) for `publish(created_at=...)`.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_CHANNEL = "chat_feed_sim"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_AUTHORS = [
    {"id": "user_sim_ana", "username": "ana_trades", "name": "Ana"},
    {"id": "user_sim_ben", "username": "benflow", "name": "Ben"},
    {"id": "user_sim_cal", "username": "cal_options", "name": "Cal"},
]


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def load_corpus() -> list[dict[str, Any]]:
    """The bundled alerts: {"id", "text", "reply_to", "author"} per line, in posting order."""
    text = resources.files("autosig.sources").joinpath("data/alerts.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass
class Fault:
    """What the next `count` listing requests get instead of (or before) a normal answer."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | None = None
    content_type: str | None = None
    delay: float = 0.0
    reset: bool = False  # close the connection with a TCP RST before answering
    count: int = 1
    served: int = 0
    publish: int = 0  # publish this many new messages just before answering normally (pages shift)
    duplicate: int = 0  # repeat this many messages from before the cursor at the top of the page
    kind: str = ""  # a name for fault_counts


LOGIN_PAGE = (
    "<!doctype html><html><head><title>Sign in - Whop</title></head>"
    "<body><form action=/login method=post><input name=email></form></body></html>"
)

# Far-future and far-past created_at values as Whop could send them: ISO 8601 strings and epoch seconds/milliseconds.
FAR_TIMES: list[Any] = [
    "2999-12-31T23:59:59.999Z",
    "9999-12-31T23:59:59.000Z",
    "1970-01-01T00:00:00.000Z",
    "1900-01-01T00:00:00.000Z",
    0,
    32503680000,  # 3000-01-01 in epoch seconds
    32503680000000,  # the same in epoch milliseconds
    -86400,
]


def _rate_limited(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.2:
        return {"status": 429, "headers": {"Retry-After": "1"}}
    return {"status": 429, "headers": {"retry-after-ms": str(rng.randint(20, 200))}}


# Kinds of random faults: name -> the fault(...) arguments for one occurrence, drawn with the simulator's random source.
FAULT_KINDS: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "rate_limited": _rate_limited,
    "http_5xx": lambda rng: {"status": rng.choice([500, 502, 503, 504])},
    "slow": lambda rng: {"delay": rng.uniform(0.05, 0.4)},
    "reset": lambda rng: {"reset": True},
    "login_page": lambda rng: {"status": 200, "body": LOGIN_PAGE, "content_type": "text/html; charset=utf-8"},
    "auth_burst": lambda rng: {"status": 401, "count": rng.randint(2, 6)},
    "shift": lambda rng: {"publish": rng.randint(1, 5)},
    "duplicate": lambda rng: {"duplicate": rng.randint(1, 5)},
}


class Simulator:
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
        alerts published automatically from the corpus (None = only when told)."""
        self.token = token
        self.channel = channel
        self.path = path
        self.pace = pace
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
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._bind = (host, port)
        count = len(self._corpus) if history is None else history
        start = datetime.now(UTC) - timedelta(minutes=5 * count)
        for i in range(count):
            self.publish_from_corpus(created_at=_iso(start + timedelta(minutes=5 * i)))

    # --- serving ---------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The listing URL to give the worker as WHOP_ALERTS_URL."""
        return self.url_for(self.channel)

    def url_for(self, channel: str) -> str:
        if self._server is None:
            raise RuntimeError("simulator not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path}?channel_id={channel}"

    def start(self) -> Simulator:
        handler = type("Handler", (_Handler,), {"sim": self})
        self._server = _Server(self._bind, handler)
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

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

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
        """Adds a message as the newest of its channel and returns it (a copy)."""
        now = _iso(datetime.now(UTC))
        message = {
            "id": self._new_id(),
            "content": content,
            "created_at": created_at if created_at is not None else now,
            "updated_at": created_at if created_at is not None else now,
            "is_edited": False,
            "is_pinned": False,
            "message_type": "regular",
            "replying_to_message_id": reply_to,
            "user": dict(author or self._rng.choice(_AUTHORS)),
            "view_count": self._rng.randint(3, 400),
            "reaction_counts": [],
            "poll": None,
            "poll_votes": [],
        }
        message.update(extra)
        return self.publish_raw(message, channel=channel)

    def publish_raw(self, message: dict[str, Any], *, channel: str | None = None) -> dict[str, Any]:
        """Adds a message object exactly as given (hostile ids, timestamps, fields) as the newest of its channel."""
        with self._lock:
            self._messages.setdefault(channel or self.channel, []).append(message)
            self._by_id[str(message.get("id"))] = message
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
            author = next((a for a in _AUTHORS if a["username"] == entry.get("author")), None)
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
            if isinstance(previous, str) and previous >= _iso(stamp):
                stamp = datetime.fromisoformat(previous.replace("Z", "+00:00")) + timedelta(milliseconds=1)
            message["updated_at"] = _iso(stamp)
            return dict(message)

    def count(self, channel: str | None = None) -> int:
        """How many messages a channel has (cheaper than len(messages()))."""
        with self._lock:
            return len(self._messages.get(channel or self.channel, []))

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """All messages of a channel, oldest first (copies)."""
        with self._lock:
            return [dict(m) for m in self._messages.get(channel or self.channel, [])]

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
                    self.fault_counts[fault.kind or _kind_of(fault)] += 1
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
            anchor = _decode_cursor(after)
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
            end_cursor = _encode_cursor(f"offset:{min(end, len(ordered))}") if page else None
            start_cursor = _encode_cursor(f"offset:{begin}") if page else None
        else:
            end_cursor = _encode_cursor(str(page[-1].get("id"))) if page else None
            start_cursor = _encode_cursor(str(page[0].get("id"))) if page else None
        info = {
            "end_cursor": end_cursor,
            "start_cursor": start_cursor,
            "has_next_page": has_next,
            "has_previous_page": begin > 0,
        }
        return page, info


def _kind_of(fault: Fault) -> str:
    if fault.reset:
        return "reset"
    if fault.status is not None or fault.body is not None:
        return f"http_{fault.status or 200}"
    if fault.publish:
        return "shift"
    if fault.duplicate:
        return "duplicate"
    return "slow" if fault.delay else "none"


def _encode_cursor(message_id: str) -> str:
    return base64.urlsafe_b64encode(message_id.encode("utf-8", "surrogatepass")).decode("ascii")


def _decode_cursor(cursor: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8", "surrogatepass")
    except (ValueError, UnicodeError):
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that went away mid-answer (killed, timed out) is routine here, not worth a traceback
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    sim: Simulator
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: Nagle + delayed ACK would add 40 ms
    server_version = "WhopSimulator/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # request lines would include nothing secret, but they drown the demo's output

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass  # the client went away (timeouts, resets): nothing to flush to

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        # ensure_ascii keeps lone surrogates representable; big integers pass through as digits
        self._send(status, json.dumps(doc, ensure_ascii=True).encode("ascii"), "application/json", headers)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        sim = self.sim
        parts = urlsplit(self.path)
        if parts.path == "/health":
            self._json(200, {"ok": True})
            return
        if parts.path != sim.path:
            self._json(404, {"error": {"message": "not found"}})
            return
        with sim._lock:
            sim.requests += 1
        fault = sim._next_fault()
        duplicate = 0
        if fault is not None:
            if fault.delay and sim._stop.wait(fault.delay):
                return
            if fault.reset:
                self._reset()
                return
            if fault.status is not None or fault.body is not None:
                body = fault.body if fault.body is not None else json.dumps({"error": {"status": fault.status}})
                data = body.encode("utf-8") if isinstance(body, str) else body
                self._send(fault.status or 200, data, fault.content_type or "application/json", fault.headers)
                return
            q = parse_qs(parts.query)
            for _ in range(fault.publish):
                sim.publish_from_corpus(channel=(q.get("channel_id") or q.get("experience_id") or [sim.channel])[0])
            duplicate = fault.duplicate
        if self.headers.get("Authorization") != f"Bearer {sim.token}":
            self._json(401, {"error": {"type": "unauthorized", "message": "invalid or missing access token"}})
            return
        query = parse_qs(parts.query)
        channel = (query.get("channel_id") or query.get("experience_id") or [sim.channel])[0]
        try:
            first = max(1, min(MAX_PAGE_SIZE, int((query.get("first") or [DEFAULT_PAGE_SIZE])[0])))
        except ValueError:
            self._json(400, {"error": {"message": "first must be an integer"}})
            return
        desc = (query.get("direction") or ["desc"])[0] != "asc"
        try:
            page, info = sim._select(channel, first, (query.get("after") or [None])[0], desc, duplicate)
        except ValueError:
            self._json(400, {"error": {"message": "invalid cursor"}})
            return
        self._json(200, {"data": page, "page_info": info})

    def _reset(self) -> None:
        # SO_LINGER 0 turns close() into a TCP RST: the client sees "connection reset by peer".
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autosig.sources.simulator", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--pace", type=float, default=3.0, help="seconds between new alerts (0: none)")
    parser.add_argument("--history", type=int, default=40, help="alerts that exist before start")
    parser.add_argument("--channel", default=DEFAULT_CHANNEL)
    parser.add_argument("--token", default=None, help="bearer token to accept (default: $SIMULATOR_TOKEN)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    token = args.token or os.environ.get("SIMULATOR_TOKEN") or "sim-token"
    sim = Simulator(
        token,
        history=args.history,
        pace=args.pace or None,
        channel=args.channel,
        host=args.host,
        port=args.port,
        seed=args.seed,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sim.start()
    print(sim.url, flush=True)
    while not stop.wait(0.5):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
