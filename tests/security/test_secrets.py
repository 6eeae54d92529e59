"""WHOP_ACCESS_TOKEN, DASHBOARD_PASSWORD and secrets in WHOP_ALERTS_URL's query appear in no file of the log directory,
no output, event, page, API answer, error or traceback — through every failure the worker can meet (HTTP errors,
resets, timeouts, refused connections, a proxy that is down, a token requests refuses to send, invalid
configuration), and the URL is shown redacted wherever it is shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests
from webapp.test_gunicorn import Server
from worker.worker_harness import ROOT, WorkerProc, of_type, wait_until

from autosig.redact import redact_url, url_secrets
from autosig.sources.simulator import Simulator
from security.conftest import concrete_paths

TOKEN = "whop-SecTok-9vQ3Lm2Xw7"
PASSWORD = "dash-SecPw-4Kz8Rt1Yq"
URL_SECRETS = {"token": "urlTok-3Jf8Wq1", "api_key": "urlKey-6Hs2Pd9", "client_secret": "urlSec-1Nb7Vc4"}
SECRETS = [TOKEN, PASSWORD, *URL_SECRETS.values()]


def secret_url(base: str) -> str:
    return base + "".join(f"&{k}={v}" for k, v in URL_SECRETS.items())


def leaks_in(data: bytes) -> list[str]:
    return [s for s in SECRETS if s.encode() in data or s.encode("utf-16-le") in data]


def leaked_files(*dirs: Path) -> dict[str, list[str]]:
    found = {}
    for d in dirs:
        for p in d.rglob("*"):
            if p.is_file() and (hit := leaks_in(p.read_bytes())):
                found[str(p)] = hit
    return found


def test_redact_url_hides_every_secret_looking_part():
    url = ("https://user:pa55word@api.whop.com/api/v1/messages?channel_id=chat_feed_1&token=T1&api_key=K1"
           "&access-token=T2&X-Api-Key=K2&client_secret=S1&auth_token=T3&sig=G1&first=10#access_token=T4")
    shown = redact_url(url)
    for value in ("pa55word", "user", "T1", "K1", "T2", "K2", "S1", "T3", "G1", "T4"):
        assert f"={value}" not in shown and f"{value}@" not in shown and f":{value}" not in shown, (value, shown)
    assert "channel_id=chat_feed_1" in shown and "first=10" in shown and "api.whop.com" in shown
    assert set(url_secrets(url)) == {"pa55word", "T1", "K1", "T2", "K2", "S1", "T3", "G1", "T4"}
    assert redact_url("http://[::1?token=T9") == "<unparseable url>"


@pytest.fixture
def sim():
    s = Simulator(TOKEN, history=0, seed=21).start()
    yield s
    s.stop()


def test_nothing_secret_anywhere_through_every_failure(sim, tmp_path, log_dir):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    procs: list[WorkerProc] = []
    common = {"DASHBOARD_PASSWORD": PASSWORD, "WHOP_TIMEOUT_SECONDS": "0.3", "WHOP_ACCESS_TOKEN": TOKEN}
    try:
        sim.publish_many(3)
        w = WorkerProc(log_dir, secret_url(sim.url), out_dir, **common)
        procs.append(w)
        wait_until(lambda: len(of_type(log_dir, "raw", "alert.received")) == 3, what="ingest")
        for fault in ({"status": 401}, {"status": 404}, {"status": 500}, {"delay": 0.6}, {"reset": True},
                      {"status": 200, "body": "<html>login</html>", "content_type": "text/html"},
                      {"status": 200, "body": f'{{"echo": "{TOKEN}"'}):
            before = len(of_type(log_dir, "worker", "poll.failed"))
            sim.fault(**fault)
            wait_until(lambda b=before: len(of_type(log_dir, "worker", "poll.failed")) > b, what=str(fault))
        assert w.terminate()[0] == 0
        failed = of_type(log_dir, "worker", "poll.failed")
        http_4xx = [e for e in failed if e["data"]["reason"] == "http_4xx"]
        assert http_4xx and "token=***" in http_4xx[0]["data"]["detail"]  # the URL is shown, redacted
        started = of_type(log_dir, "worker", "worker.started")[0]["data"]
        assert any("api_key=***" in s and "client_secret=***" in s for s in started["sources"])
        # failures raised inside requests itself, one worker each (one worker per store at a time)
        closed = secret_url(sim.url.replace(f":{sim.url.split(':')[2].split('/')[0]}", ":9"))  # refused
        proxy = {"HTTP_PROXY": f"http://proxyuser:{PASSWORD}@127.0.0.1:9", "http_proxy": None,
                 "NO_PROXY": None, "no_proxy": None}
        cases = [
            (closed, {}),
            (secret_url(sim.url), proxy),
            (secret_url(sim.url), {"WHOP_ACCESS_TOKEN": TOKEN + "\r\nX-Injected: 1"}),  # requests refuses it
            (secret_url(sim.url), {"WHOP_ACCESS_TOKEN": TOKEN + "\u2603"}),  # cannot be encoded in a header
        ]
        for url, extra in cases:
            before = len(of_type(log_dir, "worker", "poll.failed"))
            w = WorkerProc(log_dir, url, out_dir, **{**common, **extra})
            procs.append(w)
            wait_until(lambda b=before: len(of_type(log_dir, "worker", "poll.failed")) > b + 1, what=str(extra))
            assert w.terminate()[0] == 0
        details = [e["data"]["detail"] for e in of_type(log_dir, "worker", "poll.failed")]
        assert any("cannot be sent in an HTTP header" in d for d in details)  # reported as such, not a crash
        reasons = {e["data"]["reason"] for e in of_type(log_dir, "worker", "poll.failed")}
        assert {"auth", "http_4xx", "http_5xx", "timeout", "network", "bad_response"} <= reasons
    finally:
        for p in procs:
            p.ensure_dead()
    # the web over the same store, with every secret in its environment
    server = Server(log_dir, {"DASHBOARD_PASSWORD": PASSWORD, "WHOP_ACCESS_TOKEN": TOKEN,
                              "WHOP_ALERTS_URL": secret_url(sim.url)})
    try:
        auth = {"Authorization": f"Bearer {PASSWORD}"}
        for path in concrete_paths(log_dir):
            if path == "/api/stream":
                with requests.get(server.url + path, headers=auth, stream=True, timeout=5) as r:
                    chunk = next(r.iter_content(65536))
                    assert not leaks_in(chunk) and not leaks_in(str(r.headers).encode())
                continue
            for headers in (auth, {}, {"Authorization": "Bearer wrong"}):
                r = server.get(path, headers=headers)
                assert not leaks_in(r.content), (path, leaks_in(r.content))
                assert not leaks_in(str(r.headers).encode()), path
        # the dashboard shows the failures, without secrets
        page = server.get("/", headers=auth).text
        assert "Last error" in page
    finally:
        out = server.stop()
    assert not leaks_in(out.encode())
    assert leaked_files(log_dir, out_dir, log_dir.parent) == {}
    assert (log_dir / "app.log").stat().st_size > 0


@pytest.mark.parametrize("bad", [
    {"POLL_INTERVAL_SECONDS": "abc"},
    {"WHOP_ALERTS_URL": "ftp://whop.example/x?token=" + URL_SECRETS["token"]},
    {"WHOP_ALERTS_URL": "http://[::1/api?token=" + URL_SECRETS["token"]},  # urlsplit raises
    {"WHOP_ALERTS_URL": "http://whop.example:99999/x?api_key=" + URL_SECRETS["api_key"]},
    {"LIVE_TRADING": "maybe"},
    {"AUTOSIG_STORE_URL": "mysql://u:" + PASSWORD + "@h/db"},
])
def test_invalid_configuration_says_one_line_without_secrets(tmp_path, bad):
    env = {"PATH": "/usr/bin:/bin", "WHOP_ALERTS_URL": secret_url("http://127.0.0.1:9/api/v1/messages?channel_id=c"),
           "WHOP_ACCESS_TOKEN": TOKEN, "DASHBOARD_PASSWORD": PASSWORD, "AUTOSIG_LOG_DIR": str(tmp_path / "logs"),
           **bad}
    for argv in ([sys.executable, "main.py"], [sys.executable, "-c", "import web"]):
        r = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (argv, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "invalid configuration" in lines[0], r.stderr
        assert "Traceback" not in r.stderr
        assert not leaks_in((r.stdout + r.stderr).encode()), r.stderr
