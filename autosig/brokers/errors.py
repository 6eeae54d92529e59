"""What can go wrong talking to a broker, in kinds the executor acts on differently.

Every text here is AutoSig's own words plus, for a refusal, the broker's short message (cut to 200 characters and
stripped of anything that looks like a credential). Keys and tokens never reach an error: adapters build these
from status codes and parsed fields, never from an HTTP library's exception text (which can carry URLs and headers).

    RateLimited        the broker said "not now" (429): it did not take the request; `retry_after` seconds if it said
    OutcomeUnknown     a timeout, a reset, a 5xx or an unreadable answer: the request may or may not have been acted
                       on (`maybe_sent` is False only when no connection was ever made)
    Refused            any other 4xx, or a 200 whose body carries errors (Tradier): the broker did not take it
    DuplicateClientOrderId   Alpaca's "client_order_id must be unique": an order with this id already exists
    AuthRefused        the keys or token were refused (401, or a 403 that is not an order refusal)
    NotFound           the order (or contract) the request named does not exist at the broker
"""

from __future__ import annotations

import re

MAX_BROKER_MESSAGE = 200
# Things that must never be echoed even if a broker put them in a message: bearer tokens, key-like runs.
_SECRETISH = re.compile(r"(?i)(bearer\s+\S+|(?:key|secret|token|password)[\"'=: ]+\S+)")


def short_message(text: object) -> str:
    """The broker's message as AutoSig shows it: one line, at most 200 characters, nothing that looks like a key."""
    if text is None:
        return ""
    if isinstance(text, list | tuple):
        text = "; ".join(str(t) for t in text)
    line = " ".join(str(text).split())
    line = _SECRETISH.sub("***", line)
    return line if len(line) <= MAX_BROKER_MESSAGE else line[: MAX_BROKER_MESSAGE - 1] + "…"


class BrokerError(Exception):
    """Base of every broker failure. `detail` is safe to log and store; `http_status` is the answer's status."""

    def __init__(self, detail: str, *, http_status: int | None = None, broker_message: str = "") -> None:
        self.detail = detail
        self.http_status = http_status
        self.broker_message = short_message(broker_message)
        text = f"{detail}: {self.broker_message}" if self.broker_message else detail
        super().__init__(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class RateLimited(BrokerError):
    def __init__(
        self, detail: str, *, retry_after: float | None, http_status: int | None = 429, broker_message: str = ""
    ) -> None:
        super().__init__(detail, http_status=http_status, broker_message=broker_message)
        self.retry_after = retry_after


class OutcomeUnknown(BrokerError):
    def __init__(
        self, detail: str, *, maybe_sent: bool = True, http_status: int | None = None, broker_message: str = ""
    ) -> None:
        super().__init__(detail, http_status=http_status, broker_message=broker_message)
        self.maybe_sent = maybe_sent


class Refused(BrokerError):
    """`code` is the broker's own error code when it gives one (Alpaca's 40310000 …)."""

    def __init__(
        self, detail: str, *, http_status: int | None, broker_message: str = "", code: str | None = None
    ) -> None:
        super().__init__(detail, http_status=http_status, broker_message=broker_message)
        self.code = code


class DuplicateClientOrderId(BrokerError):
    pass


class AuthRefused(BrokerError):
    pass


class NotFound(BrokerError):
    pass
