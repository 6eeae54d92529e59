"""Small network helpers shared by the Whop client, the broker transport and both simulators. A leaf."""

from __future__ import annotations

import signal
import socket
import struct
import threading
from collections.abc import Callable, Iterator


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """Every exception behind `exc` (causes, contexts, wrapped args, urllib3's `reason`), each once: how a client
    tells a refused connection from a reset without reading an HTTP library's message (which may carry secrets)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        stack.extend([cur.__cause__, cur.__context__])
        stack.extend(a for a in getattr(cur, "args", ()) if isinstance(a, BaseException))
        reason = getattr(cur, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)


def reset(connection: socket.socket) -> None:
    """Closes a connection with a TCP RST (SO_LINGER 0): the client sees "connection reset by peer"."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
    except OSError:
        pass


def serve_until_signalled(url: str, stop: Callable[[], None]) -> int:
    """A simulator process's main loop: print the URL on the first stdout line, serve until SIGTERM/SIGINT, stop."""
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    print(url, flush=True)
    while not done.wait(0.5):
        pass
    stop()
    return 0
