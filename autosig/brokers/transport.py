"""The HTTP seam under the adapters, like httpx's transports: an adapter builds a Request and hands it to a Transport.

    RequestsTransport(connect_timeout=5, read_timeout=10)   the default: one requests.Session, no retries at all
    MockTransport(handler)                                  tests: handler(Request) -> Response, or raises

A transport raises only TransportError (timeout, reset, refused connection), with a text of its own: never the HTTP
library's message, which can carry the URL and headers.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from autosig.netutil import exception_chain

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # carries the keys: never shown
    params: tuple[tuple[str, str], ...] = ()
    json: Any = None
    form: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        lower = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lower:
                return value
        return None


class TransportError(Exception):
    """`kind`: "connect" (no connection was made: the request was not sent), "timeout" (sent, no answer in time),
    "reset" (the connection broke: sent or not, unknown)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail

    @property
    def maybe_sent(self) -> bool:
        return self.kind != "connect"


class Transport:
    def send(self, request: Request) -> Response:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass


class MockTransport(Transport):
    """Answers every request with `handler(request)`; the handler may raise TransportError."""

    def __init__(self, handler: Callable[[Request], Response]) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    def send(self, request: Request) -> Response:
        self.requests.append(request)
        return self.handler(request)


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    return any(isinstance(cur, kinds) for cur in exception_chain(exc))


class RequestsTransport(Transport):
    """A requests.Session with explicit (connect, read) timeouts and no retries: urllib3 would otherwise resend a
    request whose connection dropped, and an order POST must reach the broker at most once per call."""

    def __init__(
        self,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self._session = session or requests.Session()
        adapter = HTTPAdapter(max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.trust_env = False  # a proxy or netrc from the environment must not see the keys

    def send(self, request: Request) -> Response:
        host = requests.utils.urlparse(request.url).hostname or "the broker"
        kwargs: dict[str, Any] = {"headers": dict(request.headers), "timeout": self.timeout, "allow_redirects": False}
        if request.params:
            kwargs["params"] = list(request.params)
        if request.json is not None:
            kwargs["json"] = request.json
        if request.form is not None:
            kwargs["data"] = list(request.form)
        try:
            resp = self._session.request(request.method, request.url, **kwargs)
            return Response(resp.status_code, dict(resp.headers), resp.content)
        except requests.exceptions.ConnectTimeout:
            raise TransportError("connect", f"timed out connecting to {host}") from None
        except requests.exceptions.Timeout:
            raise TransportError("timeout", f"timed out waiting for {host}") from None
        except requests.exceptions.ConnectionError as exc:
            if _caused_by(exc, (ConnectionRefusedError, socket.gaierror)):
                raise TransportError("connect", f"could not connect to {host}") from None
            raise TransportError("reset", f"connection to {host} broke before an answer") from None
        except requests.exceptions.RequestException as exc:
            raise TransportError("reset", f"request to {host} failed ({type(exc).__name__})") from None
        except UnicodeEncodeError:
            # a header value must be latin-1; the exception text would quote the key around the bad character
            raise TransportError("connect", "a key or token contains characters that cannot be sent") from None

    def close(self) -> None:
        self._session.close()
