"""Every way a broker answer can fail, per adapter, through a mock transport: the kind the executor acts on, and
never a key or token in any text or repr (here the broker even echoes the keys back, and they must be masked)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from autosig.brokers import (
    AlpacaBroker,
    AuthRefused,
    BrokerError,
    DuplicateClientOrderId,
    Leg,
    MockTransport,
    NotFound,
    OrderRequest,
    OutcomeUnknown,
    RateLimited,
    Refused,
    Request,
    RequestsTransport,
    Response,
    TransportError,
)
from autosig.brokers.errors import short_message
from autosig.brokers.tradier import TradierBroker
from autosig.clock import ManualClock

KEY_ID = "PKMOCKKEYID00000001"
SECRET = "mock-secret-0123456789abcdef"
TOKEN = "mock-tradier-token-fedcba987654"
SECRETS = (KEY_ID, SECRET, TOKEN)
ORDER = OrderRequest("as-0123456789abcdef01234567", "stock", (Leg("SPY", "buy"),), 1, Decimal("600.10"))


def answer(status: int, body, headers=None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return lambda request: Response(status, {"Content-Type": "application/json", **(headers or {})}, data)


def fails(kind: str):
    def handler(request):
        raise TransportError(kind, "simulated")

    return handler


def alpaca(handler, clock=None):
    return AlpacaBroker(KEY_ID, SECRET, transport=MockTransport(handler), clock=clock)


def tradier(handler, clock=None):
    return TradierBroker(TOKEN, "VA000001", transport=MockTransport(handler), clock=clock)


ECHO = f"key {KEY_ID} secret {SECRET} Bearer {TOKEN}"
CASES = [
    # (name, adapter, handler, expected kind)
    ("alpaca 429", alpaca, answer(429, {"message": "too many requests"}, {"Retry-After": "3"}), RateLimited),
    ("alpaca 500", alpaca, answer(500, {"message": ECHO}), OutcomeUnknown),
    ("alpaca 504", alpaca, answer(504, b"<html>gateway timeout</html>"), OutcomeUnknown),
    ("alpaca timeout", alpaca, fails("timeout"), OutcomeUnknown),
    ("alpaca reset", alpaca, fails("reset"), OutcomeUnknown),
    ("alpaca refused connection", alpaca, fails("connect"), OutcomeUnknown),
    ("alpaca 2xx not json", alpaca, answer(200, b"<html>login</html>"), OutcomeUnknown),
    ("alpaca 2xx without id", alpaca, answer(200, {"status": "new"}), OutcomeUnknown),
    ("alpaca 401", alpaca, answer(401, {"code": 40110000, "message": ECHO}), AuthRefused),
    ("alpaca 403 forbidden", alpaca, answer(403, {"message": "forbidden."}), AuthRefused),
    ("alpaca 403 buying power", alpaca, answer(403, {"code": 40310000, "message": ECHO}), Refused),
    ("alpaca 422", alpaca, answer(422, {"code": 40010001, "message": f"invalid limit_price {ECHO}"}), Refused),
    ("alpaca 422 duplicate", alpaca, answer(422, {"code": 40010001, "message": "client_order_id must be unique"}),
     DuplicateClientOrderId),
    ("alpaca 400 plain text", alpaca, answer(400, ECHO.encode()), Refused),
    ("tradier 429", tradier, answer(429, b"Rate limit exceeded", {"X-Ratelimit-Expiry": "1800000009000"}),
     RateLimited),
    ("tradier 502", tradier, answer(502, b"Bad Gateway"), OutcomeUnknown),
    ("tradier timeout", tradier, fails("timeout"), OutcomeUnknown),
    ("tradier reset", tradier, fails("reset"), OutcomeUnknown),
    ("tradier xml", tradier, answer(200, b"<?xml version='1.0'?><order/>"), OutcomeUnknown),
    ("tradier 401", tradier, answer(401, f"Invalid Access Token {TOKEN}".encode()), AuthRefused),
    ("tradier 400 errors", tradier, answer(400, {"errors": {"error": [ECHO]}}), Refused),
    ("tradier 200 errors", tradier, answer(200, {"errors": {"error": "Invalid Parameter: price"}}), Refused),
    ("tradier 200 without id", tradier, answer(200, {"order": {"status": "ok"}}), OutcomeUnknown),
]


def assert_no_secret(exc: BaseException) -> None:
    texts = [str(exc), repr(exc), repr(exc.args), getattr(exc, "detail", ""), getattr(exc, "broker_message", "")]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, text


@pytest.mark.parametrize("name, adapter, handler, kind", CASES, ids=[c[0] for c in CASES])
def test_every_failure_is_its_kind_and_shows_no_key(name, adapter, handler, kind):
    broker = adapter(handler, ManualClock(1_800_000_000.0))
    with pytest.raises(kind) as info:
        broker.submit(ORDER)
    assert_no_secret(info.value)
    assert "***" in str(info.value) or ECHO not in str(info.value)
    assert isinstance(info.value, BrokerError)
    for read in (broker.account, broker.positions, broker.clock):
        try:
            read()
        except BrokerError as exc:
            assert_no_secret(exc)
    assert all(secret not in repr(broker) for secret in SECRETS)


def test_retry_after_comes_from_the_brokers_headers():
    clock = ManualClock(1_800_000_000.0)
    with pytest.raises(RateLimited) as seconds:
        alpaca(answer(429, {}, {"Retry-After": "3"}), clock).submit(ORDER)
    assert seconds.value.retry_after == 3
    with pytest.raises(RateLimited) as reset:
        alpaca(answer(429, {}, {"X-RateLimit-Reset": "1800000012"}), clock).submit(ORDER)
    assert reset.value.retry_after == 12
    with pytest.raises(RateLimited) as expiry:
        tradier(answer(429, b"", {"X-Ratelimit-Expiry": "1800000009000"}), clock).submit(ORDER)
    assert expiry.value.retry_after == 9
    with pytest.raises(RateLimited) as date:
        alpaca(answer(429, {}, {"Retry-After": "Fri, 15 Jan 2027 08:00:05 GMT"}), ManualClock(1_800_000_000.0)
               ).submit(ORDER)
    assert date.value.retry_after == 5
    with pytest.raises(RateLimited) as none:
        alpaca(answer(429, {}), clock).submit(ORDER)
    assert none.value.retry_after is None


def test_a_refused_connection_says_the_order_was_not_sent_and_a_timeout_that_it_may_have_been():
    with pytest.raises(OutcomeUnknown) as refused:
        alpaca(fails("connect")).submit(ORDER)
    assert refused.value.maybe_sent is False
    with pytest.raises(OutcomeUnknown) as timeout:
        alpaca(fails("timeout")).submit(ORDER)
    assert timeout.value.maybe_sent is True


def test_lookups_of_what_the_broker_does_not_have():
    assert alpaca(answer(404, {"code": 40410000, "message": "order not found"})).find("as-x") is None
    with pytest.raises(NotFound):
        alpaca(answer(404, {"code": 40410000, "message": "order not found"})).get_order("nope")
    assert alpaca(answer(404, {"code": 40410000, "message": "not found"})).contract("SPY261218C00600000") is None
    assert tradier(answer(200, {"orders": "null"})).find("as-x") is None


def test_short_messages_are_one_line_bounded_and_mask_credential_looking_text():
    assert short_message("a\nb   c") == "a b c"
    assert len(short_message("x" * 500)) == 200
    assert "abc123" not in short_message("Authorization: Bearer abc123")
    assert "hunter2" not in short_message("password=hunter2 rejected")


def test_the_requests_transport_never_retries_and_never_leaks():
    """urllib3 would resend a request whose connection broke: the transport mounts adapters with no retries."""
    transport = RequestsTransport(connect_timeout=0.5, read_timeout=0.5)
    for prefix in ("http://", "https://"):
        assert transport._session.get_adapter(prefix).max_retries.total == 0
    with pytest.raises(TransportError) as info:
        transport.send(Request("POST", "http://127.0.0.1:9/v2/orders", {"APCA-API-SECRET-KEY": SECRET}))
    assert info.value.kind == "connect" and SECRET not in str(info.value)
    assert SECRET not in repr(Request("GET", "http://x", {"APCA-API-SECRET-KEY": SECRET}))
