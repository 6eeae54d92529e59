"""The password check: constant time, and wrong passwords rate-limited per client address (on the Clock seam, so a
minute passes in microseconds)."""

from __future__ import annotations

import ast
import base64
import inspect

import pytest

from autosig.web import auth
from autosig.web.auth import FAILURE_LIMIT, LOCKOUT_S, LoginLimiter, client_key

PASSWORD = "s3cret-Pw-Zz81"
ATTACKER = {"REMOTE_ADDR": "203.0.113.9"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"u:{password}".encode()).decode()}


@pytest.fixture
def locked(make_app, manual_clock):
    app = make_app(clock=manual_clock, DASHBOARD_PASSWORD=PASSWORD)
    return app.test_client(), manual_clock


def status(client, headers: dict[str, str] | None = None, who: dict[str, str] = ATTACKER) -> int:
    return client.get("/api/status", headers=headers or {}, environ_base=who).status_code


def test_compare_is_hmac_compare_digest_on_every_attempt(locked, monkeypatch):
    client, _ = locked
    calls = []
    real = auth.hmac.compare_digest

    def spy(a, b):  # noqa: ANN001, ANN202
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert status(client, basic(PASSWORD)) == 200
    assert status(client, basic("wrong")) == 401
    assert status(client, {"Authorization": "Bearer " + PASSWORD[:-1]}) == 401
    assert status(client) == 401  # nothing presented: compared all the same
    assert calls == [(PASSWORD.encode(), PASSWORD.encode()), (b"wrong", PASSWORD.encode()),
                     (PASSWORD[:-1].encode(), PASSWORD.encode()), (b"", PASSWORD.encode())]


def test_no_ordinary_comparison_touches_the_password():
    """Code inspection: in auth.py no ==, !=, startswith or `in` involves a password value."""
    tree = ast.parse(inspect.getsource(auth))
    suspicious = {"given", "expected", "password", "presented"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            assert not (names & suspicious) or all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops), (
                f"line {node.lineno}: {ast.unparse(node)}"
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("startswith", "endswith", "find", "index", "__eq__"):
                names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                assert not (names & suspicious), f"line {node.lineno}: {ast.unparse(node)}"
    assert auth.passwords_match(PASSWORD.encode(), PASSWORD.encode())
    assert not auth.passwords_match(None, b"")  # nothing presented never matches, even an empty password
    assert not auth.passwords_match(b"x", PASSWORD.encode())


def test_ten_failures_in_a_minute_lock_the_address_out(locked):
    client, clock = locked
    for n in range(FAILURE_LIMIT):
        assert status(client, basic(f"guess{n}")) == 401, n
    r = client.get("/api/status", headers=basic("guess"), environ_base=ATTACKER)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) == LOCKOUT_S
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    # the right password is not even checked while locked out
    assert status(client, basic(PASSWORD)) == 429
    assert status(client) == 429
    # other addresses are unaffected; /health stays open
    assert status(client, basic(PASSWORD), who=OWNER) == 200
    assert client.get("/health", environ_base=ATTACKER).status_code == 200
    clock.advance(LOCKOUT_S / 2)
    r = client.get("/api/status", headers=basic(PASSWORD), environ_base=ATTACKER)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == LOCKOUT_S / 2
    clock.advance(LOCKOUT_S / 2 + 0.001)
    assert status(client, basic(PASSWORD)) == 200  # after the window the right password works
    # and the count started over
    for n in range(FAILURE_LIMIT - 1):
        assert status(client, basic(f"again{n}")) == 401


def test_slow_guessing_and_successes_do_not_lock(locked):
    client, clock = locked
    for _ in range(3):
        for n in range(FAILURE_LIMIT - 1):
            assert status(client, basic(f"g{n}")) == 401
        clock.advance(61)  # the failures of the last minute only
    for n in range(FAILURE_LIMIT - 1):
        assert status(client, basic(f"h{n}")) == 401
    assert status(client, basic(PASSWORD)) == 200  # a success clears the count
    for n in range(FAILURE_LIMIT - 1):
        assert status(client, basic(f"i{n}")) == 401
    assert status(client, basic(PASSWORD)) == 200
    # a browser's first request, without credentials, is not a failed login
    for _ in range(3 * FAILURE_LIMIT):
        assert status(client) == 401


def test_ipv6_clients_are_counted_per_64():
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:203.0.113.9") == client_key("203.0.113.9") == "203.0.113.9"
    assert client_key(None) == ""


def test_the_limiter_memory_is_bounded():
    limiter = LoginLimiter(max_tracked=100)
    for i in range(10_000):
        for _ in range(3):
            limiter.failed(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", now=float(i))
    assert len(limiter) == 100
    assert all(len(e.failures) <= limiter.limit for e in limiter._by_addr.values())
    # the most recent addresses are the ones kept
    assert limiter._by_addr.keys() >= {"10.0.39.15"}
    # one address failing forever holds at most `limit` timestamps
    one = LoginLimiter()
    for i in range(100_000):
        one.failed("198.51.100.1", now=i * 10.0)
    assert len(one) == 1 and len(one._by_addr["198.51.100.1"].failures) <= one.limit
