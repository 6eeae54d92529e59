"""The live stream through the Flask test client (cadence with shortened intervals; the real server test covers
delivery across processes)."""

from __future__ import annotations

import json
import time

from autosig.web import stream
from webapp.conftest import sig, synced, wait_until


def read_for(resp, seconds: float, until=None) -> str:
    out = []
    deadline = time.monotonic() + seconds
    for chunk in resp.response:
        out.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
        text = "".join(out)
        if (until and until(text)) or time.monotonic() > deadline:
            return text
    return "".join(out)


def test_status_heartbeat_signal_and_release(client, feed, monkeypatch):
    monkeypatch.setattr(stream, "STATUS_SECONDS", 0.2)
    monkeypatch.setattr(stream, "HEARTBEAT_SECONDS", 0.3)
    monkeypatch.setattr(stream, "WAKE_SECONDS", 0.05)
    feed.started()
    feed.completed()
    wait_until(synced(client, "worker", 2))
    resp = client.get("/api/stream", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    assert stream.open_streams(client.application) == 1
    text = read_for(resp, 1.0)
    assert text.count("event: status") >= 3 and text.count(": heartbeat") >= 2
    status = json.loads(text.split("event: status\ndata: ", 1)[1].split("\n", 1)[0])
    assert status["stale"] is False and status["web"]["ready"] is True
    raw_seq, parsed_seq = feed.alert("BTO LIVE 1c @ 1", signals=[sig("LIVE")])
    text = read_for(resp, 3.0, until=lambda t: "event: signal" in t)
    block = text[text.index(f"id: {parsed_seq}\nevent: signal\ndata: "):]
    entry = json.loads(block.split("data: ", 1)[1].split("\n", 1)[0])
    assert entry["raw_seq"] == raw_seq and entry["signal"]["ticker"] == "LIVE" and entry["text"] == "BTO LIVE 1c @ 1"
    resp.close()
    assert stream.open_streams(client.application) == 0


def test_last_event_id_resumes_and_cap(client, feed, monkeypatch):
    monkeypatch.setattr(stream, "STATUS_SECONDS", 0.1)
    monkeypatch.setattr(stream, "WAKE_SECONDS", 0.05)
    _, p1 = feed.alert("BTO ONE", signals=[sig("ONE")])
    _, p2 = feed.alert("BTO TWO", signals=[sig("TWO")])
    wait_until(synced(client, "parsed", p2))
    resp = client.get("/api/stream", headers={"Last-Event-ID": str(p1 - 1)}, buffered=False)
    text = read_for(resp, 3.0, until=lambda t: t.count("event: signal") >= 2)
    assert text.index(f"id: {p1}\n") < text.index(f"id: {p2}\n")
    resp.close()
    # without Last-Event-ID a new subscriber starts from now: no replay
    resp = client.get("/api/stream", buffered=False)
    assert "event: signal" not in read_for(resp, 0.5)
    resp.close()
    monkeypatch.setattr(stream, "MAX_STREAMS", 1)
    first = client.get("/api/stream", buffered=False)
    refused = client.get("/api/stream")
    assert refused.status_code == 503 and "too many" in refused.get_json()["error"]
    assert refused.headers["Retry-After"] == "5"
    first.close()
    again = client.get("/api/stream", buffered=False)
    assert again.status_code == 200
    again.close()
