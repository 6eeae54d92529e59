"""POSTing one message until the receiver accepts it: exponential backoff with jitter, capped, honouring Retry-After.

Only the receiver's scheme and host are ever logged (see messages.target): a webhook URL is itself a secret, and
requests' exception texts quote the URL's path, so errors are reported by type and status only.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass

import requests

from autosig.clock import Clock
from autosig.notify.messages import Message, body_for, format_for, target

log = logging.getLogger("autosig.notify")

BASE_SECONDS = 1.0
CAP_SECONDS = 300.0
TIMEOUT_SECONDS = 10.0
USER_AGENT = "autosig-notify"


@dataclass(frozen=True)
class Delivery:
    status: int
    attempts: int
    format: str


@dataclass
class Backoff:
    base: float = BASE_SECONDS
    cap: float = CAP_SECONDS
    rng: random.Random | None = None

    def delay(self, failures: int) -> float:
        """Full jitter between half and all of base * 2^(failures-1), capped: retries from several senders spread."""
        ceiling = min(self.cap, self.base * (2 ** max(0, failures - 1)))
        rng = self.rng or random
        return ceiling * (0.5 + 0.5 * rng.random())


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare for webhooks; the normal backoff applies


def deliver(
    url: str,
    message: Message,
    *,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
    backoff: Backoff | None = None,
    session: requests.Session | None = None,
    max_attempts: int | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> Delivery | None:
    """POSTs until a 2xx. Returns None when `stop` was set or `max_attempts` ran out before a receiver accepted."""
    clock = clock or Clock()
    backoff = backoff or Backoff()
    http = session or requests
    fmt = format_for(url)
    body = body_for(fmt, message)
    headers = {"Idempotency-Key": message.id, "User-Agent": USER_AGENT}
    attempts = 0
    while not (stop is not None and stop.is_set()):
        attempts += 1
        wait: float | None = None
        try:
            response = http.post(url, json=body, headers=headers, timeout=timeout)
            if 200 <= response.status_code < 300:
                return Delivery(response.status_code, attempts, fmt)
            problem = f"HTTP {response.status_code}"
            if response.status_code == 429:
                wait = _retry_after(response)
                # Discord also says how long in its JSON body (seconds, fractional)
                if wait is None and fmt == "discord":
                    try:
                        wait = float(response.json().get("retry_after"))
                    except (ValueError, TypeError, AttributeError):
                        wait = None
        except requests.RequestException as exc:
            problem = type(exc).__name__
        if max_attempts is not None and attempts >= max_attempts:
            log.warning("notification %s to %s failed (%s); giving up after %d attempts",
                        message.id, target(url), problem, attempts)
            return None
        delay = min(backoff.cap, wait) if wait is not None else backoff.delay(attempts)
        log.warning("notification %s to %s failed (%s), attempt %d; retrying in %.1f s",
                    message.id, target(url), problem, attempts, delay)
        if clock.sleep(delay, stop):
            return None
    return None
