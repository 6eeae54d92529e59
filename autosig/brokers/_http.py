"""What both adapters share: sending through the transport, reading JSON, the retry-after a 429 gave, decimals."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from autosig.brokers.errors import OutcomeUnknown, RateLimited
from autosig.brokers.transport import Request, Response, Transport, TransportError

RATE_LIMIT_MAX_S = 3600.0


class Secrets:
    """The values that go into headers and nowhere else. Its repr never shows them."""

    __slots__ = ("_values",)

    def __init__(self, **values: str) -> None:
        self._values = dict(values)

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def scrub(self, text: str) -> str:
        for value in self._values.values():
            if len(value) >= 4:  # a one-letter test key would turn every message into stars
                text = text.replace(value, "***")
        return text

    def __repr__(self) -> str:
        return "Secrets(***)"


def host_of(url: str) -> str:
    return urlsplit(url).hostname or url


def retry_after(resp: Response, now: datetime) -> float | None:
    """Seconds to wait from Retry-After (seconds or an HTTP date), else the reset time a broker's rate-limit headers
    give (Alpaca: X-RateLimit-Reset in epoch seconds; Tradier: X-Ratelimit-Expiry in epoch milliseconds)."""
    raw = (resp.header("Retry-After") or "").strip()
    if raw:
        try:
            value = float(raw)
            if value >= 0 and value == value:
                return min(value, RATE_LIMIT_MAX_S)
        except ValueError:
            try:
                when = parsedate_to_datetime(raw)
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                return min(max(0.0, (when - now).total_seconds()), RATE_LIMIT_MAX_S)
            except (TypeError, ValueError, IndexError):
                pass
    for name, scale in (("X-RateLimit-Reset", 1.0), ("X-Ratelimit-Expiry", 1000.0)):
        raw = (resp.header(name) or "").strip()
        try:
            epoch = float(raw) / scale
        except ValueError:
            continue
        if epoch == epoch:
            return min(max(0.0, epoch - now.timestamp()), RATE_LIMIT_MAX_S)
    return None


def read_json(resp: Response, broker: str) -> Any:
    """The body as JSON; an unreadable body is an OutcomeUnknown (the broker may have acted on the request)."""
    try:
        return json.loads(resp.body) if resp.body.strip() else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        kind = (resp.header("Content-Type") or "no content type").split(";")[0]
        raise OutcomeUnknown(
            f"{broker} answered HTTP {resp.status} with a body that is not JSON ({kind})", http_status=resp.status
        ) from None


def send(
    transport: Transport, request: Request, broker: str, now: Callable[[], datetime]
) -> Response:
    """One request, no retry. Transport failures and 5xx become OutcomeUnknown, 429 becomes RateLimited; every
    other answer is returned for the adapter to read."""
    try:
        resp = transport.send(request)
    except TransportError as exc:
        what = "the request was not sent" if not exc.maybe_sent else "it may or may not have been acted on"
        raise OutcomeUnknown(f"{broker}: {exc.detail}; {what}", maybe_sent=exc.maybe_sent) from None
    if resp.status == 429:
        wait = retry_after(resp, now())
        said = "no retry time given" if wait is None else f"retry after {wait:g} s"
        raise RateLimited(f"{broker} rate limit reached (HTTP 429, {said})", retry_after=wait)
    if resp.status >= 500:
        raise OutcomeUnknown(f"{broker} server error (HTTP {resp.status})", http_status=resp.status)
    return resp


def dec(value: Any) -> Decimal | None:
    """A broker number (string, int or float) as a Decimal; None for null, "", "null" and anything unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def plain(value: Decimal) -> str:
    """A Decimal as brokers want it: no exponent, no trailing zeros beyond the cents."""
    text = format(value.normalize(), "f")
    if "." in text:
        whole, frac = text.split(".")
        text = f"{whole}.{frac.ljust(2, '0')}" if len(frac) < 2 else text
    return text


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (with Z or an offset, any fraction length), aware; None when unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:
        head, rest = text.split(".", 1)
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        tail = rest[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
