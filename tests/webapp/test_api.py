"""API contracts (the README, "The dashboard and web API") through the Flask test client, over a real file store in tmp."""

from __future__ import annotations

import base64

from webapp.conftest import sig, synced, wait_until


def test_health_is_open_and_says_nothing_else(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}


def test_signals_contract_newest_first_one_entry_per_signal(client, feed):
    feed.started()
    feed.alert("BTO 2 SPY 600c 1/17 @ 1.25", signals=[sig("SPY")])
    feed.alert("gm everyone")
    _, last = feed.alert("BTO QQQ 500p and IWM 200c", signals=[sig("QQQ", right="P"), sig("IWM")])
    wait_until(synced(client, "parsed", last))
    body = client.get("/api/signals").get_json()
    assert list(body) == ["signals"]
    got = body["signals"]
    assert [s["signal"]["ticker"] for s in got] == ["QQQ", "IWM", "SPY"]
    first = got[0]
    assert {"raw_seq", "source_id", "created_at", "received_at", "parser_version", "text", "signal"} <= set(first)
    assert first["text"] == "BTO QQQ 500p and IWM 200c" and first["parser_version"] == "1"
    assert first["created_at"].endswith("Z") and first["received_at"].endswith("Z")
    assert [s["signal"]["ticker"] for s in client.get("/api/signals?ticker=spy").get_json()["signals"]] == ["SPY"]
    assert [s["raw_seq"] for s in client.get("/api/signals?after_seq=2").get_json()["signals"]] == [3, 3]
    assert len(client.get("/api/signals?limit=2").get_json()["signals"]) == 2


def test_limits(client, feed):
    for i in range(60):
        _, last = feed.alert(f"BTO T{i}", signals=[sig(f"T{i}")])
    wait_until(synced(client, "parsed", last))
    assert len(client.get("/api/signals").get_json()["signals"]) == 50
    assert len(client.get("/api/signals?limit=9999").get_json()["signals"]) == 60  # capped at 500, only 60 exist
    assert client.get("/api/signals?limit=0").status_code == 400
    assert client.get("/api/signals?limit=abc").status_code == 400
    assert client.get("/api/alerts?kind=bogus").status_code == 400


def test_alerts_kind_filter(client, feed):
    feed.alert("BTO SPY", signals=[sig()])
    feed.alert("BTO something at", kind="unparseable", reason="no strike")
    _, last = feed.alert("lunch", kind="non_signal", reason="chatter")
    wait_until(synced(client, "parsed", last))
    alerts = client.get("/api/alerts").get_json()["alerts"]
    assert [a["kind"] for a in alerts] == ["non_signal", "unparseable", "signal"]
    unparsed = client.get("/api/alerts?kind=unparseable").get_json()["alerts"]
    assert len(unparsed) == 1
    a = unparsed[0]
    assert set(a) == {"raw_seq", "source_id", "created_at", "received_at", "text", "kind", "reason", "parser_version",
                      "review"}  # review: beyond the contract, the newest review of the alert or null
    assert a["reason"] == "no strike" and a["text"] == "BTO something at"


def test_edit_shows_newest_version(client, feed):
    feed.alert("BTO SPY 600c @ 1.25", source_id="m1", signals=[sig(price=1.25)])
    _, last = feed.alert("BTO SPY 600c @ 1.30", source_id="m1", signals=[sig(price=1.30)], edited=True)
    wait_until(synced(client, "parsed", last))
    got = client.get("/api/signals").get_json()["signals"]
    assert [(s["source_id"], s["signal"]["price"]) for s in got] == [("m1", 1.30)]


def test_status_shape_and_stale_from_worker_settings(make_app, feed, manual_clock):
    app = make_app(clock=manual_clock)
    client = app.test_client()
    assert client.get("/health/ingestion").status_code == 503  # never polled
    feed.started(poll=1, stale=3)
    feed.completed()
    wait_until(synced(client, "worker", 2))
    st = client.get("/api/status").get_json()
    assert set(st) >= {"worker", "streams", "lag", "stale", "mode", "parser_version", "problems"}
    assert set(st["worker"]) >= {"last_poll_at", "last_success_at", "last_error", "failing_since", "consecutive_failures"}
    assert set(st["lag"]) >= {"poll_age_seconds", "success_age_seconds", "parse_backlog"}
    assert st["stale"] is False and st["mode"] == {"dry_run": True, "live_trading": False}
    assert st["worker"]["last_success_at"].endswith("Z")
    r = client.get("/health/ingestion")
    assert r.status_code == 200 and r.get_json() == {"stale": False}
    manual_clock.advance(10)
    st = client.get("/api/status").get_json()
    assert st["stale"] is True and st["lag"]["success_age_seconds"] > 9
    r = client.get("/health/ingestion")
    assert r.status_code == 503 and r.get_json() == {"stale": True}


def test_failures_reported_with_last_error(client, feed):
    feed.started()
    feed.completed()
    feed.failed()
    feed.failed()
    wait_until(synced(client, "worker", 4))
    w = client.get("/api/status").get_json()["worker"]
    assert w["consecutive_failures"] == 2 and w["failing_since"] is not None
    assert w["last_error"]["reason"] == "auth" and w["last_error"]["http_status"] == 401
    feed.completed()
    wait_until(synced(client, "worker", 5))
    w = client.get("/api/status").get_json()["worker"]
    assert w["failing_since"] is None and w["last_error"]["reason"] == "auth"


def test_corrupt_line_is_a_problem_and_service_continues(client, feed, store):
    feed.alert("BTO SPY", signals=[sig("SPY")])
    wait_until(synced(client, "parsed", 1))
    path = store.path_of("parsed")
    with open(path, "ab") as f:
        f.write(b'{"seq":2,"this is not json\n')
    _, last = feed.alert("BTO QQQ", signals=[sig("QQQ")])
    wait_until(lambda: client.get("/api/status").get_json()["problems"])
    st = client.get("/api/status").get_json()
    assert st["problems"][0]["stream"] == "parsed" and st["problems"][0]["line"] == 2
    wait_until(lambda: len(client.get("/api/signals").get_json()["signals"]) == 2)


def test_security_headers_everywhere(client):
    for path in ("/health", "/api/status", "/", "/static/dashboard.js", "/nope"):
        h = client.get(path).headers
        assert "script-src 'self'" in h["Content-Security-Policy"], path
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert "unsafe-inline" not in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-AutoSig-Worker"].isdigit()


# --- auth -----------------------------------------------------------------------------------------------------------


def _basic(password: str, user: str = "anyone") -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_password_basic_and_bearer(make_app):
    client = make_app(DASHBOARD_PASSWORD="s3cret-pw").test_client()
    for path in ("/api/status", "/", "/api/signals", "/metrics", "/api/stats", "/static/dashboard.js"):
        r = client.get(path)
        assert r.status_code == 401, path
        assert "s3cret-pw" not in r.get_data(as_text=True)
    assert client.get("/api/status", headers=_basic("s3cret-pw")).status_code == 200
    assert client.get("/api/status", headers=_basic("s3cret-pw", user="")).status_code == 200
    assert client.get("/api/status", headers={"Authorization": "Bearer s3cret-pw"}).status_code == 200
    assert client.get("/api/status", headers=_basic("wrong")).status_code == 401
    assert client.get("/api/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/status", headers={"Authorization": "Basic !!!"}).status_code == 401
    r = client.get("/api/status")
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    # health stays open; a remote client with the password is served too
    assert client.get("/health").status_code == 200
    assert client.get("/health/ingestion").status_code in (200, 503)
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/api/status", environ_base=remote, headers=_basic("s3cret-pw")).status_code == 200


def test_no_password_loopback_only_and_forwarded_for_ignored(client):
    assert client.get("/api/status", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    assert client.get("/api/status", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    remote = client.get("/api/status", environ_base={"REMOTE_ADDR": "203.0.113.9"},
                        headers={"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"})
    assert remote.status_code == 401
    assert "DASHBOARD_PASSWORD" in remote.get_json()["error"]
    assert client.get("/", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 401
    assert client.get("/health", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/health/ingestion", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 503
    local_spoofed = client.get("/api/status", environ_base={"REMOTE_ADDR": "127.0.0.1"},
                               headers={"X-Forwarded-For": "203.0.113.9"})
    assert local_spoofed.status_code == 200


# --- metrics, dashboard ---------------------------------------------------------------------------------------------


def test_metrics_prometheus_text_with_pid(client, feed):
    import os

    feed.started()
    feed.completed()
    _, last = feed.alert("BTO SPY", signals=[sig()])
    wait_until(synced(client, "parsed", last))
    r = client.get("/metrics")
    assert r.status_code == 200 and r.content_type.startswith("text/plain")
    text = r.get_data(as_text=True)
    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert all(name.startswith("autosig_") for name in families)
    seqs = {s.labels["stream"]: s.value for s in families["autosig_stream_seq"].samples}
    assert seqs == {"raw": 1, "parsed": 1, "worker": 2}
    assert families["autosig_stale"].samples[0].value == 0
    assert families["autosig_stale"].samples[0].labels["pid"] == str(os.getpid())
    assert families["autosig_parse_backlog"].samples[0].value == 0


def test_dashboard_escapes_hostile_text(client, feed):
    hostile = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
    _, last = feed.alert(hostile, signals=[sig("EVIL")])
    feed.alert(hostile + " unparsed", kind="unparseable", reason="<b>no strike</b>")
    wait_until(synced(client, "parsed", last + 1))
    html = client.get("/").get_data(as_text=True)
    assert "<script>window" not in html and "<img src=x" not in html and "<b>no strike" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "EVIL" in html


def test_dashboard_banner_states(make_app, feed, manual_clock):
    app = make_app(clock=manual_clock)
    client = app.test_client()
    html = client.get("/").get_data(as_text=True)
    assert 'data-level="red"' in html and "never polled" in html
    feed.started(stale=60)
    feed.completed()
    wait_until(synced(client, "worker", 2))
    assert 'data-level="green"' in client.get("/").get_data(as_text=True)
    feed.failed()
    wait_until(synced(client, "worker", 3))
    html = client.get("/").get_data(as_text=True)
    assert 'data-level="amber"' in html and "Whop rejects the token" in html
    manual_clock.advance(7 * 60)
    html = client.get("/").get_data(as_text=True)
    assert 'data-level="red"' in html and "Whop rejects the token" in html
    feed.started(live=True, dry_run=False)
    wait_until(synced(client, "worker", 4))
    html = client.get("/").get_data(as_text=True)
    # the mode comes from the executor alone: a worker saying LIVE_TRADING=true trades nothing by itself
    assert "Executor never started — nothing is traded" in html and "real money" not in html


def test_create_app_starts_no_threads(env, monkeypatch):
    import threading

    from autosig.config import load_settings
    from autosig.web import create_app

    before = threading.active_count()
    create_app(load_settings(env))
    assert threading.active_count() == before


def test_importing_web_module_starts_no_threads(env):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = "import threading, web; assert web.app.name; print(threading.active_count())"
    r = subprocess.run([sys.executable, "-c", code], cwd=root, env={**os.environ, **env}, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"


def test_read_errors_of_this_process_are_shown(app, client, feed):
    feed.started()
    feed.completed()
    wait_until(synced(client, "worker", 2))
    assert client.get("/api/status").get_json()["banner"]["level"] == "green"
    app.extensions["autosig"].host.errors["raw"] = "OSError: [Errno 5] Input/output error"
    st = client.get("/api/status").get_json()
    assert st["web"]["errors"] == {"raw": "OSError: [Errno 5] Input/output error"} and st["web"]["ready"] is True
    assert st["banner"]["level"] == "amber" and st["banner"]["headline"] == "The web cannot read the event store"
    assert "Input/output error" in client.get("/").get_data(as_text=True)
    assert "autosig_web_read_errors{" in client.get("/metrics").get_data(as_text=True)
