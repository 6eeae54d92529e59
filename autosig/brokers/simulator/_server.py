"""The loopback HTTP server of the broker simulator: routing to a dialect, faults, the control endpoint."""

from __future__ import annotations

import json
import random
import socket
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from autosig.brokers.simulator._book import SimOrder
from autosig.netutil import reset


@dataclass
class Answer:
    status: int
    body: Any  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    placed: SimOrder | None = None  # an order this request created: it may fill once the answer is out


@dataclass
class Incoming:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass
class Fault:
    """What the next `count` matching requests get. `after_accept`: the request is carried out first (an order is
    created), then the answer is replaced: a 504 after accepting, or a reset after accepting."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    reset: bool = False
    after_accept: bool = False
    count: int = 1
    method: str | None = None
    path: str | None = None  # a prefix of the request path
    served: int = 0
    kind: str = ""

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or path.startswith(self.path))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Breaks every open connection, as a process that stops does (kept-alive connections included)."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that went away (timeouts, resets) is routine here
        super().handle_error(request, client_address)


def _rate_limited(rng: random.Random) -> Fault:
    return Fault(429, headers={"Retry-After": str(rng.choice([1, 2]))}, kind="rate_limited")


# Kinds of random faults: name -> one occurrence, drawn with the simulator's random source. The after_accept kinds
# are the ones that make an order's outcome unknown although the broker took it.
FAULT_KINDS: dict[str, Callable[[random.Random], Fault]] = {
    "rate_limited": _rate_limited,
    "http_5xx": lambda rng: Fault(rng.choice([500, 502, 503]), kind="http_5xx"),
    "accept_then_504": lambda rng: Fault(504, after_accept=True, kind="accept_then_504"),
    "reset": lambda rng: Fault(reset=True, kind="reset"),
    "accept_then_reset": lambda rng: Fault(reset=True, after_accept=True, kind="accept_then_reset"),
    "slow": lambda rng: Fault(delay=rng.uniform(0.05, 0.3), kind="slow"),
}


class Faults:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queue: list[Fault] = []
        self.counts: Counter[str] = Counter()
        self.mix: dict[str, float] = {}
        self.mix_scope: tuple[str | None, str | None] = (None, None)  # (method, path prefix)
        self.rng = random.Random()

    def random(self, rates: dict[str, float], *, seed: int | None, method: str | None, path: str | None) -> None:
        unknown = set(rates) - set(FAULT_KINDS)
        if unknown:
            raise KeyError(f"unknown fault kinds: {sorted(unknown)}")
        if sum(rates.values()) > 1:
            raise ValueError("fault rates add up to more than 1")
        with self.lock:
            self.mix = dict(rates)
            self.mix_scope = (method, path)
            if seed is not None:
                self.rng = random.Random(seed)

    def add(self, fault: Fault) -> None:
        with self.lock:
            self.queue.append(fault)

    def clear(self) -> None:
        with self.lock:
            self.queue.clear()
            self.mix = {}

    def take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in list(self.queue):
                if fault.matches(method, path):
                    fault.served += 1
                    if fault.served >= fault.count:
                        self.queue.remove(fault)
                    self.counts[fault.kind or _kind_of(fault)] += 1
                    return fault
            scope = Fault(method=self.mix_scope[0], path=self.mix_scope[1])
            if self.mix and scope.matches(method, path):
                draw = self.rng.random()
                for kind, rate in self.mix.items():
                    if draw < rate:
                        self.counts[kind] += 1
                        return FAULT_KINDS[kind](self.rng)
                    draw -= rate
            return None


def _kind_of(fault: Fault) -> str:
    prefix = "after_accept_" if fault.after_accept else ""
    if fault.reset:
        return prefix + "reset"
    if fault.status is not None:
        return f"{prefix}http_{fault.status}"
    return "slow" if fault.delay else "none"


def make_handler(
    route: Callable[[Incoming], Answer],
    control: Callable[[dict[str, Any]], Any],
    faults: Faults,
    served: Callable[[SimOrder], None],
    stop: threading.Event,
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        server_version = "BrokerSimulator/1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def finish(self) -> None:
            try:
                super().finish()
            except OSError:
                pass

        def do_GET(self) -> None:  # noqa: N802 - stdlib names
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def do_DELETE(self) -> None:  # noqa: N802
            self._serve("DELETE")

        def do_PATCH(self) -> None:  # noqa: N802
            self._serve("PATCH")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if parts.path == "/_control":
                self._control(method, body)
                return
            if parts.path == "/health":
                self._send(Answer(200, {"ok": True}))
                return
            incoming = Incoming(method, parts.path, parse_qs(parts.query, keep_blank_values=True), self.headers, body)
            fault = faults.take(method, parts.path)
            if fault is not None and not fault.after_accept and self._suffer(fault):
                return
            answer = route(incoming)
            if fault is not None and fault.after_accept:
                if answer.placed is not None:
                    served(answer.placed)
                if self._suffer(fault):
                    return
            self._send(answer)
            if answer.placed is not None:
                served(answer.placed)

        def _suffer(self, fault: Fault) -> bool:
            """Applies the fault; True when it answered (or broke) the request, so nothing else is sent."""
            if fault.delay and stop.wait(fault.delay):
                return True
            if fault.reset:
                self._reset()
                return True
            if fault.status is not None:
                self._send(Answer(fault.status, _fault_body(fault), dict(fault.headers)))
                return True
            return False

        def _control(self, method: str, body: bytes) -> None:
            if method != "POST":
                self._send(Answer(405, {"error": "POST a JSON command to /_control"}))
                return
            try:
                command = json.loads(body or b"{}")
                result = control(command)
            except (ValueError, KeyError, TypeError) as exc:
                self._send(Answer(400, {"error": f"{type(exc).__name__}: {exc}"}))
                return
            self._send(Answer(200, {"result": result}))

        def _send(self, answer: Answer) -> None:
            data = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode("utf-8")
            self.send_response(answer.status)
            if answer.status != 204:
                self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(data)) if answer.status != 204 else "0")
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if answer.status != 204:
                self.wfile.write(data)

        def _reset(self) -> None:
            reset(self.connection)
            self.close_connection = True

    return Handler


def _fault_body(fault: Fault) -> Any:
    if fault.body is not None:
        return fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
    if fault.status == 429:
        return {"code": 42910000, "message": "rate limit exceeded"}
    return {"code": 50010000, "message": "internal server error"} if (fault.status or 0) >= 500 else {}
