"""The Whop client against the simulator over real HTTP: paging, and every failure classified without the token."""

from __future__ import annotations

import random
import socket
from datetime import UTC, datetime

import pytest

from autosig.redact import Secret
from autosig.sources.simulator import Simulator
from autosig.sources.whop import (
    BACKOFF_CAP_S,
    WhopClient,
    WhopError,
    channel_of,
    parse_retry_after,
    retry_delay,
)

TOKEN = "whop-client-tok-7hQ2xY9Lmw"


@pytest.fixture
def sim():
    s = Simulator(TOKEN, history=0, seed=3).start()
    yield s
    s.stop()


def _client(sim, **kw):
    return WhopClient(sim.url, Secret(TOKEN), **kw)


def _error(client, after=None) -> WhopError:
    with pytest.raises(WhopError) as info:
        client.fetch_page(after)
    err = info.value
    assert TOKEN not in str(err) and TOKEN not in err.detail and TOKEN not in repr(err.args)
    assert err.__cause__ is None and (
        err.__suppress_context__ or err.__context__ is None
    )  # requests' text (with headers) is not chained in
    return err


def test_pages_newest_first_with_cursor(sim):
    published = sim.publish_many(25)
    client = _client(sim, page_size=10)
    seen, after, pages = [], None, 0
    while True:
        page = client.fetch_page(after)
        pages += 1
        seen += [m["id"] for m in page.messages]
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert pages == 3
    assert seen == [m["id"] for m in reversed(published)]
    assert page.http_status == 200


def test_request_carries_bearer_first_and_direction():
    client = WhopClient("https://api.whop.com/api/v1/messages?channel_id=chat_feed_1&direction=asc", Secret("t"))
    url = client.page_url("abc")
    assert "channel_id=chat_feed_1" in url and "first=50" in url and "direction=desc" in url and "after=abc" in url
    assert "direction=asc" not in url
    assert "first=7" in WhopClient("https://x/api/v1/messages?first=7", None).page_url(None)


def test_channel_of_urls():
    assert channel_of("https://api.whop.com/api/v1/messages?channel_id=chat_feed_X") == "chat_feed_X"
    assert channel_of("https://api.whop.com/api/v1/forum_posts?experience_id=exp_Y") == "exp_Y"
    assert channel_of("https://api.whop.com/api/v1/messages") == "/api/v1/messages"


@pytest.mark.parametrize(
    ("fault", "reason", "status", "words"),
    [
        ({"status": 401}, "auth", 401, "WHOP_ACCESS_TOKEN"),
        ({"status": 403}, "auth", 403, "WHOP_ACCESS_TOKEN"),
        ({"status": 429}, "rate_limited", 429, "no Retry-After"),
        ({"status": 502}, "http_5xx", 502, "502"),
        ({"status": 422}, "http_4xx", 422, "422"),
        ({"delay": 1.0}, "timeout", None, "timed out"),
        ({"reset": True}, "network", None, "reset"),
        (
            {"status": 200, "body": "<html><body>Sign in</body></html>", "content_type": "text/html"},
            "bad_response",
            200,
            "expected Whop JSON, got text/html (an expired token often looks like this)",
        ),
        ({"status": 200, "body": '{"items": []}'}, "bad_response", 200, "without"),
        ({"status": 200, "body": '{"data": [1, 2]}'}, "bad_response", 200, "objects"),
        ({"status": 200, "body": b"\xff\xfe garbage", "content_type": "application/json"}, "bad_response", 200, "JSON"),
    ],
)
def test_every_failure_is_classified(sim, fault, reason, status, words):
    sim.fault(**fault)
    err = _error(_client(sim, read_timeout=0.3))
    assert err.reason == reason
    if status is not None:
        assert err.http_status == status
    assert words in err.detail


def test_302_is_not_followed_into_a_login_page(sim):
    # requests follows redirects; a redirect to an HTML page must still end up as bad_response, not a crash
    sim.fault(status=302, headers={"Location": "/health"}, body="")
    err = _error(_client(sim))
    assert err.reason == "bad_response"


def test_wrong_token_is_auth_and_not_echoed(sim):
    err = _error(WhopClient(sim.url, Secret("wrong-token-abcdef")))
    assert err.reason == "auth" and "wrong-token-abcdef" not in err.detail


def test_refused_is_network():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = _error(WhopClient(f"http://127.0.0.1:{port}/api/v1/messages?channel_id=c", Secret(TOKEN)))
    assert err.reason == "network" and "refused" in err.detail


def test_unresolvable_host_is_network_and_shows_no_secret_query():
    client = WhopClient("http://nonexistent.invalid/api/v1/messages?channel_id=c&token=sekrit", Secret(TOKEN))
    err = _error(client)
    assert err.reason == "network" and "sekrit" not in err.detail


def test_json_with_lone_surrogates_and_big_ints_is_decoded(sim):
    sim.publish_raw({"id": "m1", "content": "a\ud800b", "big": 2**80, "created_at": 1, "updated_at": 1})
    page = _client(sim).fetch_page()
    assert page.messages[0]["content"] == "a\ud800b" and page.messages[0]["big"] == 2**80


def test_retry_after_forms():
    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after({"retry-after": "17"}, now) == 17
    assert parse_retry_after({"retry-after": "Sat, 28 Nov 2026 12:01:30 GMT"}, now) == 90
    assert parse_retry_after({"retry-after": "Sat, 28 Nov 2026 11:00:00 GMT"}, now) == 0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}, now) == 0.25
    assert parse_retry_after({"retry-after": "soon"}, now) is None
    assert parse_retry_after({}, now) is None


def test_rate_limit_retry_after_reaches_the_error(sim):
    sim.fault(status=429, headers={"Retry-After": "42"})
    err = _error(_client(sim))
    assert err.retry_after == 42 and "42" in err.detail


def test_retry_delay_policy():
    rng = random.Random(1)
    assert retry_delay("rate_limited", 1, 30, None, rng) == 60
    assert retry_delay("rate_limited", 1, 30, 120, rng) == 120
    assert retry_delay("rate_limited", 1, 30, 5, rng) == 30  # never sooner than the poll interval
    assert retry_delay("rate_limited", 1, 30, 10**9, rng) == 3600  # a silly header cannot silence ingestion for days
    for reason in ("auth", "http_4xx", "bad_response"):
        assert retry_delay(reason, 9, 30, None, rng) == 30  # reported loudly on every poll
    for reason in ("http_5xx", "timeout", "network", "store"):
        delays = [retry_delay(reason, n, 30, None, rng) for n in range(1, 12)]
        assert delays[0] == 30
        for n, d in enumerate(delays, 1):
            ceiling = min(BACKOFF_CAP_S, 30 * 2 ** (n - 1))
            assert max(30, ceiling / 2) <= d <= ceiling
        assert delays[-1] <= BACKOFF_CAP_S and max(delays) > 150
    assert retry_delay("http_5xx", 10_000, 30, None, rng) <= BACKOFF_CAP_S  # no overflow after days of failures
    jittered = {retry_delay("http_5xx", 5, 30, None, random.Random(s)) for s in range(20)}
    assert len(jittered) > 10
