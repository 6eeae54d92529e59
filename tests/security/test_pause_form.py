"""The pause switch against the exact gunicorn command: without the password (401), without a valid CSRF token
(403: none, forged, expired, another password's, another form's), cross-site (403) or while DASHBOARD_PASSWORD is
unset (refused), a POST changes nothing — the `control` stream stays as it was; with all of them it appends exactly
the switch asked for. A store this process cannot write hides the switch."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from pathlib import Path

import pytest
import requests
from webapp.conftest import Feed
from webapp.test_gunicorn import Server

from autosig.config import load_settings
from autosig.events import open_store
from autosig.schema import CONTROL, EXECUTION_PAUSED
from autosig.web import writes

PASSWORD = "pause-Pw-2290"
AUTH = {"Authorization": f"Bearer {PASSWORD}"}


def control(log_dir: Path) -> list:
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    try:
        return [(e.type, e.data) for e in store.read(CONTROL)]
    finally:
        store.close()


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on /orders"
    return found.group(1)


def forged(secret: str, purpose: str, issued: int) -> str:
    mac = hmac.new(secret.encode(), f"autosig-{purpose}-csrf:{issued}".encode(), hashlib.sha256).hexdigest()
    return f"{issued}.{mac}"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("pause") / "logs"
    log_dir.mkdir()
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    Feed(store).started()
    store.close()
    server = Server(log_dir, {"DASHBOARD_PASSWORD": PASSWORD})
    yield server, log_dir
    server.stop()


def post(server: Server, path: str, data: dict, headers: dict | None = None) -> requests.Response:
    return requests.post(server.url + path, data=data, headers={"Connection": "close", **(headers or {})},
                         allow_redirects=False, timeout=10)


def test_refused_posts_change_nothing(served):
    server, log_dir = served
    html = server.get("/orders", headers=AUTH).text
    good = token_of(html)
    now = int(time.time())
    attempts = [
        ("no password", {}, {"reason": "x", "csrf_token": good}, 401),
        ("wrong password", {"Authorization": "Bearer nope"}, {"csrf_token": good}, 401),
        ("no token", AUTH, {"reason": "x"}, 403),
        ("empty token", AUTH, {"csrf_token": ""}, 403),
        ("garbage token", AUTH, {"csrf_token": "123.abc"}, 403),
        ("another password's token", AUTH, {"csrf_token": forged("another", "orders", now)}, 403),
        ("the review form's token", AUTH, {"csrf_token": forged(PASSWORD, "review", now)}, 403),
        ("an expired token", AUTH, {"csrf_token": forged(PASSWORD, "orders", now - 13 * 3600)}, 403),
        ("cross-site", {**AUTH, "Sec-Fetch-Site": "cross-site"}, {"csrf_token": good}, 403),
        ("cross-origin", {**AUTH, "Origin": "https://evil.example"}, {"csrf_token": good}, 403),
    ]
    for path in ("/orders/pause", "/orders/resume"):
        for what, headers, data, status in attempts:
            r = post(server, path, data, headers)
            assert r.status_code == status, (path, what, r.status_code, r.text[:200])
            assert PASSWORD not in r.text
    # GET never switches, whatever it carries
    for path in ("/orders/pause", "/orders/resume"):
        r = requests.get(server.url + path + f"?csrf_token={good}", headers=AUTH, timeout=10)
        assert r.status_code == 405
    assert control(log_dir) == []


def test_a_valid_form_appends_exactly_the_switch_asked_for(served):
    server, log_dir = served
    good = token_of(server.get("/orders", headers=AUTH).text)
    r = post(server, "/orders/pause", {"reason": "broker looks off", "cancel_entries": "true", "csrf_token": good},
             {**AUTH, "Origin": server.url})
    assert r.status_code == 303 and r.headers["Location"].endswith("/orders?done=paused#pause")
    assert post(server, "/orders/pause", {"cancel_entries": "maybe", "csrf_token": good}, AUTH).status_code == 400
    assert post(server, "/orders/pause", {"reason": "x" * 501, "csrf_token": good}, AUTH).status_code == 400
    r = post(server, "/orders/resume", {"csrf_token": good}, AUTH)
    assert r.status_code == 303
    assert control(log_dir) == [
        (EXECUTION_PAUSED, {"by": "dashboard", "reason": "broker looks off", "cancel_entries": True}),
        ("execution.resumed", {"by": "dashboard", "reason": "", "cancel_entries": False}),
    ]
    # a browser's refused form gets the page, with the refusal where the switch is (escaped)
    r = post(server, "/orders/pause", {"csrf_token": "<b>x</b>"}, {**AUTH, "Accept": "text/html"})
    assert r.status_code == 403 and "Not switched: Missing or invalid CSRF token" in r.text
    assert "<b>x</b>" not in r.text


def test_refused_while_no_password_is_set(log_dir):
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    Feed(store).started()
    store.close()
    server = Server(log_dir)  # loopback clients only, and no password
    try:
        html = server.get("/orders").text
        assert "DASHBOARD_PASSWORD is not set" in html and 'name="csrf_token"' not in html
        for path in ("/orders/pause", "/orders/resume"):
            r = post(server, path, {"reason": "x", "csrf_token": forged("", "orders", int(time.time()))})
            assert r.status_code == 403 and "DASHBOARD_PASSWORD is not set" in r.json()["error"]
    finally:
        server.stop()
    assert control(log_dir) == []


def test_a_store_this_process_cannot_write_hides_the_switch(tmp_path, monkeypatch):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    settings = load_settings({"AUTOSIG_LOG_DIR": str(log_dir)})
    assert writes.unwritable_reason(settings, CONTROL) is None
    # root may write anything, so the permission check itself is what is replaced here
    monkeypatch.setattr(writes.os, "access", lambda path, mode: Path(path) != log_dir)
    assert "may not write the event store directory" in writes.unwritable_reason(settings, CONTROL)
    (log_dir / "control.jsonl").touch()
    monkeypatch.setattr(writes.os, "access", lambda path, mode: Path(path).name != "control.jsonl")
    assert "control.jsonl" in writes.unwritable_reason(settings, CONTROL)
    missing = load_settings({"AUTOSIG_LOG_DIR": str(tmp_path / "elsewhere")})
    assert "does not exist here" in writes.unwritable_reason(missing, CONTROL)
    assert writes.unwritable_reason(load_settings({"AUTOSIG_STORE_URL": "postgresql://db/x"}), CONTROL) is None


def test_the_page_hides_the_switch_and_says_why_when_the_store_is_not_writable(make_app, feed, log_dir,
                                                                               monkeypatch):
    feed.started()
    monkeypatch.setattr(writes, "unwritable_reason", lambda settings, stream: "the volume is mounted read-only")
    app = make_app(DASHBOARD_PASSWORD=PASSWORD)
    client = app.test_client()
    html = client.get("/orders", headers=AUTH).get_data(as_text=True)
    assert "Pause is hidden: the volume is mounted read-only" in html and 'id="pause-form"' not in html
    r = client.post("/orders/pause", data={"csrf_token": forged(PASSWORD, "orders", int(time.time()))}, headers=AUTH)
    assert r.status_code == 503 and "read-only" in r.get_json()["error"]
    assert not (log_dir / "control.jsonl").exists()
