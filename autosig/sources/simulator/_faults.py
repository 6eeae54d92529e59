"""The faults the simulator can serve instead of (or before) a normal listing answer."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


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


def kind_of(fault: Fault) -> str:
    if fault.reset:
        return "reset"
    if fault.status is not None or fault.body is not None:
        return f"http_{fault.status or 200}"
    if fault.publish:
        return "shift"
    if fault.duplicate:
        return "duplicate"
    return "slow" if fault.delay else "none"
