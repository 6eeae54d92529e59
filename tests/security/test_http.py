"""Security headers on every answer (errors too), /health revealing nothing, and the loopback rule over real sockets
(the exact gunicorn command bound to 0.0.0.0, reached over a veth pair from a network namespace the test creates)."""

from __future__ import annotations

import base64
import time

import pytest
import requests
from netns import netns_fixture  # noqa: F401 - the "netns" fixture
from webapp.conftest import Feed, sig
from webapp.test_gunicorn import Server

from autosig.events import open_store
from security.conftest import concrete_paths

PASSWORD = "dash-Pw-7Hq2Kx9"
PUBLIC = {"/health", "/health/ingestion"}
# every header a client could use to claim to be someone else
SPOOF_HEADERS = [
    {"X-Forwarded-For": "127.0.0.1"},
    {"X-Forwarded-For": "127.0.0.1, 127.0.0.1"},
    {"X-Real-IP": "127.0.0.1"},
    {"Forwarded": "for=127.0.0.1;proto=http;by=127.0.0.1"},
    {"Forwarded": 'for="[::1]"'},
    {"X-Client-IP": "127.0.0.1", "True-Client-IP": "127.0.0.1", "CF-Connecting-IP": "127.0.0.1",
     "X-Cluster-Client-IP": "127.0.0.1", "X-Originating-IP": "127.0.0.1", "Client-IP": "127.0.0.1"},
    {"X-Forwarded-Host": "localhost", "X-Forwarded-Proto": "http", "X-Forwarded-Port": "80"},
    {"Host": "localhost"},
    {"Host": "127.0.0.1"},
]


def check_headers(r: requests.Response, what: str) -> None:
    h = r.headers
    csp = h.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", f"{what}: {csp!r}"
    assert directives.get("script-src") == "script-src 'self'", f"{what}: {csp!r}"
    assert directives.get("object-src") == "object-src 'none'", f"{what}: {csp!r}"
    assert "unsafe-inline" not in directives.get("script-src", "") and "unsafe-eval" not in csp, what
    assert h.get("X-Content-Type-Options") == "nosniff", what
    assert h.get("X-Frame-Options") == "DENY", what


def _seed(log_dir) -> None:
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    feed = Feed(store)
    feed.started(stale=600)
    feed.completed()
    feed.alert("BTO SPY 600c @ 1", signals=[sig("SPY")])
    store.close()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("http-open") / "logs"
    log_dir.mkdir()
    _seed(log_dir)
    server = Server(log_dir)
    yield server, log_dir
    server.stop()


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("http-locked") / "logs"
    log_dir.mkdir()
    server = Server(log_dir, {"DASHBOARD_PASSWORD": PASSWORD})  # nothing ever polled: /health/ingestion is 503
    yield server, log_dir
    server.stop()


def test_headers_on_every_answer_including_errors(open_server, locked_server):
    server, log_dir = open_server
    seen = set()
    for path in concrete_paths(log_dir):
        if path == "/api/stream":
            with requests.get(server.url + path, stream=True, timeout=5) as r:
                check_headers(r, path)
                seen.add(r.status_code)
            continue
        r = server.get(path)
        check_headers(r, path)
        seen.add(r.status_code)
    for path, kwargs in [("/nope", {}), ("/static/nope.js", {}), ("/api/signals?limit=x", {}),
                         ("/../../etc/passwd", {})]:
        r = server.get(path, **kwargs)
        check_headers(r, path)
        seen.add(r.status_code)
    r = requests.post(server.url + "/api/status", timeout=5)  # 405
    check_headers(r, "POST")
    seen.add(r.status_code)
    locked, _ = locked_server
    for path in ("/", "/api/status", "/nope"):
        r = locked.get(path)
        assert r.status_code == 401
        check_headers(r, f"401 {path}")
    r = locked.get("/health/ingestion")
    assert r.status_code == 503
    check_headers(r, "503")
    seen |= {401, 503}
    assert {200, 400, 401, 404, 405, 503} <= seen


def test_500_answers_carry_the_headers_too(make_app):
    app = make_app()
    app.config["TESTING"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom-for-test")
    def boom():  # noqa: ANN202
        raise RuntimeError("boom")

    r = app.test_client().get("/boom-for-test")
    assert r.status_code == 500
    h = r.headers
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"] and h["X-Content-Type-Options"] == "nosniff"
    assert "boom" not in r.get_data(as_text=True) and "Traceback" not in r.get_data(as_text=True)


def test_health_reveals_nothing_else(open_server, locked_server):
    """Exactly {"status": "ok"}; headers: gunicorn's own (Server without a version), the security headers, the
    worker pid the operators' checks use — no framework, version or host names."""
    for server, _ in (open_server, locked_server):
        r = server.get("/health")
        assert r.status_code == 200 and r.content == b'{"status":"ok"}'
        names = {k.lower() for k in r.headers}
        assert names == {"server", "date", "connection", "content-type", "content-length", "content-security-policy",
                         "x-content-type-options", "x-frame-options", "referrer-policy", "cache-control",
                         "x-autosig-worker"}, names
        assert r.headers["Server"] == "gunicorn"  # gunicorn's name only, never its version
        assert r.headers["X-AutoSig-Worker"].isdigit()
        assert r.headers["Content-Type"] == "application/json"
    # no query, header or method variant says more
    server, _ = locked_server
    r = server.get("/health?verbose=1&debug=1", headers={"Authorization": f"Bearer {PASSWORD}"})
    assert r.content == b'{"status":"ok"}'
    r = server.get("/health/ingestion")
    assert r.content == b'{"stale":true}'


def test_loopback_rule_cannot_be_bypassed_with_headers(open_server, netns):
    server, log_dir = open_server
    # the client runs in a network namespace of its own and connects over a veth pair: its address is not loopback
    host_address, client = netns
    base = f"http://{host_address}:{server.port}"
    paths = [p for p in concrete_paths(log_dir)]
    cases = [(spoof, path) for spoof in [{}, *SPOOF_HEADERS] for path in paths]
    replies = client.get_all([(base + path, {"Connection": "close", **spoof}) for spoof, path in cases])
    assert len(replies) == len(cases)
    for (spoof, path), r in zip(cases, replies, strict=True):
        if path in PUBLIC:
            assert r.status_code in (200, 503), (path, spoof)
            continue
        assert r.status_code == 401, f"{path} with {spoof} answered {r.status_code}"
        assert "DASHBOARD_PASSWORD" in r.json()["error"]
        check_headers(r, path)
    # the same server answers loopback clients, so the 401s above are the rule, not a broken server
    assert server.get("/api/status").status_code == 200


def _basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"any:{password}".encode()).decode()}


def test_wrong_passwords_are_rate_limited_by_real_gunicorn(locked_server):
    server, _ = locked_server
    assert server.get("/api/status", headers=_basic(PASSWORD)).status_code == 200
    limited: dict[str, requests.Response] = {}
    # Two worker processes, each with its own count: both must start refusing. The kernel does not share accepts out
    # evenly (one worker can take most of them under load), so keep guessing until both refuse or 30 s pass; the
    # lockout (60 s) outlasts the loop, so a worker that refused once still refuses at the end.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = server.get("/api/status", headers=_basic("guess"))
        assert r.status_code in (401, 429)
        if r.status_code == 429:
            limited[r.headers["X-AutoSig-Worker"]] = r
        if set(limited) >= server.pids:
            break
    assert set(limited) == server.pids, f"only {set(limited)} of {server.pids} limited"
    for r in limited.values():
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        check_headers(r, "429")
    # while locked out even the right password is not checked (a right guess must look like a wrong one)
    r = server.get("/api/status", headers=_basic(PASSWORD))
    assert r.status_code == 429 and PASSWORD not in r.text
    # /health stays open
    assert server.get("/health").status_code == 200
