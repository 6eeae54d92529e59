"""The simulator's HTTP side: a threaded loopback server and the request handler that routes to the simulator."""

from __future__ import annotations

import base64
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from autosig.netutil import reset

if TYPE_CHECKING:
    from autosig.sources.simulator._core import Simulator


def encode_cursor(message_id: str) -> str:
    return base64.urlsafe_b64encode(message_id.encode("utf-8", "surrogatepass")).decode("ascii")


def decode_cursor(cursor: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8", "surrogatepass")
    except (ValueError, UnicodeError):
        return None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that went away mid-answer (killed, timed out) is routine here, not worth a traceback
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
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

    def send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        # ensure_ascii keeps lone surrogates representable; big integers pass through as digits
        self.send(status, json.dumps(doc, ensure_ascii=True).encode("ascii"), "application/json", headers)

    def bearer(self) -> str | None:
        value = self.headers.get("Authorization") or ""
        return value[7:] if value.startswith("Bearer ") else None

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        parts = urlsplit(self.path)
        if parts.path == "/health":
            self.send_json(200, {"ok": True})
        elif parts.path == self.sim.path:
            self._listing(parse_qs(parts.query))
        elif parts.path.startswith("/oauth/") and self.sim.oauth is not None:
            self.sim.oauth.handle_get(self, parts.path, parse_qs(parts.query))
        else:
            self.send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if parts.path.startswith("/oauth/") and self.sim.oauth is not None:
            self.sim.oauth.handle_post(self, parts.path, body, self.headers.get("Content-Type") or "")
        else:
            self.send_json(404, {"error": {"message": "not found"}})

    def _listing(self, query: dict[str, list[str]]) -> None:
        sim = self.sim
        with sim._lock:
            sim.requests += 1
        channel = (query.get("channel_id") or query.get("experience_id") or [sim.channel])[0]
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
                self.send(fault.status or 200, data, fault.content_type or "application/json", fault.headers)
                return
            for _ in range(fault.publish):
                sim.publish_from_corpus(channel=channel)
            duplicate = fault.duplicate
        if not sim.accepts(self.bearer()):
            self.send_json(401, {"error": {"type": "unauthorized", "message": "invalid or missing access token"}})
            return
        try:
            first = max(1, min(sim.max_page_size, int((query.get("first") or [sim.default_page_size])[0])))
        except ValueError:
            self.send_json(400, {"error": {"message": "first must be an integer"}})
            return
        desc = (query.get("direction") or ["desc"])[0] != "asc"
        try:
            page, info = sim._select(channel, first, (query.get("after") or [None])[0], desc, duplicate)
        except ValueError:
            self.send_json(400, {"error": {"message": "invalid cursor"}})
            return
        self.send_json(200, {"data": page, "page_info": info})

    def _reset(self) -> None:
        reset(self.connection)
        self.close_connection = True
