"""A real webhook receiver on 127.0.0.1: records every POST and answers with a scripted status."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from waiting import wait_until


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []  # every POST, failed or not
        self.failures: list = []  # statuses (or (status, headers)) to answer before succeeding, consumed in order
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    answer = receiver.failures.pop(0) if receiver.failures else 204
                    status, headers = answer if isinstance(answer, tuple) else (answer, {})
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "json": json.loads(body or b"null"), "status": status})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/s3cr3t-webhook-token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self) -> list[dict[str, Any]]:
        """Bodies of the accepted POSTs."""
        with self.lock:
            return [r["json"] for r in self.requests if 200 <= r["status"] < 300]

    def ids(self) -> list[str]:
        with self.lock:
            return [r["headers"].get("Idempotency-Key") for r in self.requests if 200 <= r["status"] < 300]

    def of_state(self, state: str) -> list[dict[str, Any]]:
        return [b for b in self.delivered() if b.get("state") == state]

    def wait_for(self, predicate, timeout: float = 15.0):  # noqa: ANN001, ANN201
        try:
            return wait_until(predicate, timeout, what="the receiver's condition")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; got {self.delivered()}") from None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
