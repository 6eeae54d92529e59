"""The Whop v1 listing client (the README, "The worker"): one page per call, every failure classified.

    client = WhopClient(url, token)           # token: a Secret (WHOP_ACCESS_TOKEN) or credentials (whop_auth)
    page = client.fetch_page(after=None)      # newest first; page.end_cursor / page.has_next_page
    # raises WhopError(reason, detail, http_status, retry_after) on any failure

With OAuth credentials the client asks them for the current access token before each request, and after a 401
lets them renew it once and retries that request once.

Failure texts are built here, never copied from requests: its exception messages can carry URLs and headers, and
the token must not reach a log, an event or an error.
"""

from __future__ import annotations

import json
import random
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from autosig import __version__
from autosig.netutil import exception_chain
from autosig.redact import Secret, redact_url
from autosig.sources.whop_auth import CredentialsError, OAuthCredentials, StaticToken

REASONS = ("auth", "rate_limited", "http_5xx", "http_4xx", "timeout", "network", "bad_response", "store")
DEFAULT_PAGE_SIZE = 50
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 30.0
RATE_LIMIT_DEFAULT_S = 60.0
# A Retry-After of days would silence ingestion for days; beyond an hour we poll again and let the server say no.
RATE_LIMIT_MAX_S = 3600.0
BACKOFF_CAP_S = 300.0
# Query parameters that name the channel, in order of preference.
_CHANNEL_PARAMS = ("channel_id", "experience_id", "feed_id", "chat_feed_id", "forum_id")


class WhopError(Exception):
    """A failed listing request. `reason` is one of REASONS; `detail` is safe to log and store."""

    def __init__(
        self, reason: str, detail: str, http_status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.http_status = http_status
        self.retry_after = retry_after


@dataclass
class Page:
    messages: list[dict[str, Any]]
    end_cursor: str | None
    has_next_page: bool
    http_status: int = 200
    raw_page_info: dict[str, Any] = field(default_factory=dict)


def channel_of(url: str) -> str:
    """The channel a listing URL reads: its channel_id / experience_id query value, else its redacted path."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name in _CHANNEL_PARAMS:
        if query.get(name):
            return query[name]
    return parts.path or redact_url(url)


def parse_retry_after(headers: Any, now: datetime) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date; None when absent/invalid."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            value = float(ms) / 1000.0
            if value >= 0 and value == value:
                return value
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
        return value if value >= 0 and value == value else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_delay(
    reason: str,
    attempt: int,
    poll_interval: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """How long to wait before the next poll after `attempt` consecutive failures (1 = the first).

    Transient failures (5xx, timeouts, resets, the store) back off exponentially from the poll interval with equal
    jitter, capped at 5 minutes, so that a fleet of workers does not retry in lockstep. A 429 waits what the server
    asked (or 60 s). Failures a retry cannot fix soon (auth, 4xx, bad_response) are retried at the normal pace so the
    problem is reported loudly on every poll and recovery is noticed as soon as someone fixes it.
    """
    rng = rng or random
    if reason == "rate_limited":
        wait = RATE_LIMIT_DEFAULT_S if retry_after is None else min(retry_after, RATE_LIMIT_MAX_S)
        return max(wait, poll_interval)
    if reason in ("http_5xx", "timeout", "network", "store"):
        cap = max(BACKOFF_CAP_S, poll_interval)
        # 2**min(...) keeps the float finite after days of failures.
        ceiling = min(cap, poll_interval * 2 ** min(max(attempt, 1) - 1, 60))
        return max(poll_interval, ceiling / 2 + rng.uniform(0, ceiling / 2))
    return poll_interval


def _network_detail(exc: BaseException, host: str) -> str:
    """A plain description of a connection failure from the exception chain (never its text)."""
    for cur in exception_chain(exc):
        if isinstance(cur, ConnectionRefusedError):
            return f"connection to {host} refused"
        if isinstance(cur, ConnectionResetError):
            return f"connection to {host} reset"
        if isinstance(cur, socket.gaierror):
            return f"cannot resolve {host}"
        if isinstance(cur, BrokenPipeError):
            return f"connection to {host} broken"
    return f"network error talking to {host} ({type(exc).__name__})"


class WhopClient:
    """Reads one Whop v1 listing URL page by page, newest first."""

    def __init__(
        self,
        url: str,
        token: Secret | StaticToken | OAuthCredentials | None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        session: requests.Session | None = None,
        clock_now: Any = None,
    ) -> None:
        self.url = url
        self.shown_url = redact_url(url)
        self.channel = channel_of(url)
        self.host = urlsplit(url).hostname or "the Whop API"
        self.credentials = token if isinstance(token, StaticToken | OAuthCredentials) else StaticToken(token)
        self.page_size = page_size
        self.timeout = (connect_timeout, read_timeout)
        self._session = session or requests.Session()
        self._now = clock_now or (lambda: datetime.now(UTC))

    def close(self) -> None:
        self._session.close()

    def page_url(self, after: str | None) -> str:
        parts = urlsplit(self.url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("direction", "after")]
        if not any(k == "first" for k, _ in query):
            query.append(("first", str(self.page_size)))
        # desc is what makes `after` walk back in time; a user URL saying otherwise would break gap detection.
        query.append(("direction", "desc"))
        if after is not None:
            query.append(("after", after))
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))

    def fetch_page(self, after: str | None = None) -> Page:
        try:
            token = self.credentials.access_token()
        except CredentialsError as exc:
            raise WhopError(exc.reason, exc.detail) from None
        status, headers, content_type, body = self._get(self.page_url(after), token)
        if status == 401 and self.credentials.kind == "oauth":
            # a user token Whop no longer takes (expired early, or renewed elsewhere): renew once, retry once
            try:
                renewed = self.credentials.unauthorized(token)
            except CredentialsError as exc:
                raise WhopError(exc.reason, exc.detail, status) from None
            if renewed is not None:
                status, headers, content_type, body = self._get(self.page_url(after), renewed)
        return self._interpret(status, headers, content_type, body)

    def _get(self, url: str, token: Secret | None) -> tuple[int, Any, str, bytes]:
        headers = {"Accept": "application/json", "User-Agent": f"autosig/{__version__}"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        try:
            resp = self._session.get(url, headers=headers, timeout=self.timeout)
            return resp.status_code, resp.headers, resp.headers.get("content-type", ""), resp.content
        except requests.exceptions.Timeout as exc:
            kind = "connecting to" if isinstance(exc, requests.exceptions.ConnectTimeout) else "waiting for"
            raise WhopError("timeout", f"timed out {kind} {self.host}") from None
        except requests.exceptions.ContentDecodingError:
            raise WhopError("bad_response", f"{self.host} sent a body that could not be decompressed") from None
        except requests.exceptions.RequestException as exc:
            raise WhopError("network", _network_detail(exc, self.host)) from None
        except UnicodeEncodeError:
            # a header value must be latin-1; the exception text would locate the offending character in the token
            raise WhopError("auth", f"{self._token_name()} contains characters that cannot be sent in an HTTP header; "
                            "copy it again") from None  # fmt: skip

    def _token_name(self) -> str:
        return "WHOP_ACCESS_TOKEN" if self.credentials.kind == "static" else "the Whop sign-in's access token"

    def _interpret(self, status: int, headers: Any, content_type: str, body: bytes) -> Page:
        if status in (401, 403):
            if self.credentials.kind == "static":
                check = "check WHOP_ACCESS_TOKEN and its permissions"
            else:
                check = "is the signed-in Whop user still a member with chat:read? (autosig whop-login --status)"
            raise WhopError(
                "auth", f"Whop refused the access token (HTTP {status}); {check} for {self.channel}", status
            )
        if status == 429:
            retry_after = parse_retry_after(headers, self._now())
            said = "no Retry-After" if retry_after is None else f"Retry-After {retry_after:g} s"
            raise WhopError("rate_limited", f"Whop rate limit reached (HTTP 429, {said})", status, retry_after)
        if 500 <= status <= 599:
            raise WhopError("http_5xx", f"Whop server error (HTTP {status})", status)
        if 400 <= status <= 499:
            raise WhopError("http_4xx", f"Whop rejected the request (HTTP {status}) for {self.shown_url}", status)
        if status != 200:
            raise WhopError("bad_response", f"unexpected HTTP {status} from {self.host}", status)
        kind = content_type.split(";", 1)[0].strip().lower() or "no content type"
        try:
            doc = json.loads(body)  # standard library: accepts lone surrogates and big integers
        except (ValueError, UnicodeDecodeError, RecursionError):
            hint = " (an expired token often looks like this)" if "html" in kind or body.lstrip()[:1] == b"<" else ""
            raise WhopError("bad_response", f"expected Whop JSON, got {kind}{hint}", status) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            raise WhopError(
                "bad_response", "expected Whop JSON with a data list, got JSON without one", status
            ) from None
        messages = doc["data"]
        if not all(isinstance(m, dict) for m in messages):
            raise WhopError("bad_response", "expected Whop JSON whose data items are objects", status)
        info = doc.get("page_info")
        info = info if isinstance(info, dict) else {}
        cursor = info.get("end_cursor")
        cursor = None if cursor is None else str(cursor)
        return Page(messages, cursor, info.get("has_next_page") is True, status, info)
