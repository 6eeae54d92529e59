"""Alert text and fields are written by strangers: stored without loss, never a crash, never a duplicate."""

from __future__ import annotations

import json

from worker_harness import events, of_type, polls, wait_polls, wait_until

from autosig.schema import payload_of


def _msg(i, **fields):
    base = {
        "id": f"post_hostile_{i}",
        "content": "x",
        "created_at": "2026-01-05T14:30:00.000Z",
        "updated_at": "2026-01-05T14:30:00.000Z",
        "is_edited": False,
        "message_type": "regular",
        "replying_to_message_id": None,
        "user": {"id": "user_1", "username": "u", "name": "U"},
    }
    base.update(fields)
    return base


HOSTILE = [
    _msg(1, content=None),
    _msg(2, content="A" * 200_000 + " BTO 1 SPY 600c 1/17 @ 1.25"),
    _msg(3, content="BTO\x00 1 SPY\x00 600c"),
    _msg(4, content="\u202eBTO 1 SPY 600c 1/17 @ 1.25\u200f\u2066"),
    _msg(5, content="lone \ud800 surrogate and \udfff"),
    _msg(6, content="big", reactions_count=2**70, nested={"n": -(2**65)}),
    _msg(7, id=2**70, content="an id beyond 64 bits"),
    _msg(8, id=12345, content="integer id"),
    _msg(9, id="id with spaces, ünïcödé : colons / slashes", content="odd id"),
    _msg(10, id="9b2f0c56-1a7e-4d1e-8a5b-0c7f6a3d2e11", content="uuid id"),
    _msg(11, content="epoch seconds", created_at=1767623400, updated_at=1767623400),
    _msg(12, content="epoch ms", created_at=1767623400123, updated_at=1767623400123),
    _msg(13, content="offset iso", created_at="2026-01-05T09:30:00-05:00", updated_at="2026-01-05T09:30:00-05:00"),
    _msg(14, content="string epoch", created_at="1767623400", updated_at=None),
    _msg(15, content="</script><script>alert(1)</script> {{7*7}} ${jndi:ldap://x}", user=None),
    _msg(16, content="emoji 🚀🔥 and 中文 and \t tabs \r\n CRLF"),
]


def test_hostile_messages_are_stored_exactly_and_parsed(sim, workers, log_dir):
    for m in HOSTILE:
        sim.publish_raw(m)
    w = workers(sim.url + "&first=5")
    wait_until(lambda: len(events(log_dir, "raw")) == len(HOSTILE), what="hostile alerts")
    wait_until(lambda: len(of_type(log_dir, "parsed", "alert.parsed")) == len(HOSTILE), what="parses")
    wait_polls(log_dir, 3)
    assert w.terminate()[0] == 0
    raw = events(log_dir, "raw")
    expected = [json.loads(json.dumps(m)) for m in HOSTILE]  # what a JSON round trip gives (tuples -> lists etc.)
    assert [payload_of(e["data"]) for e in raw] == expected
    with_json = {e["data"]["source_id"] for e in raw if "payload_json" in e["data"]}
    assert with_json == {"post_hostile_5", "post_hostile_6", str(2**70)}
    # nothing was re-recorded by the later polls (every id format round-trips through the index)
    assert all(p["type"] == "poll.completed" for p in polls(log_dir))
    assert sum(p["data"]["new"] for p in polls(log_dir)) == len(HOSTILE)

    # a restart rebuilds the index from the stream and still recognises every message
    w2 = workers(sim.url + "&first=5")
    wait_until(
        lambda: len(polls(log_dir)) > 0 and events(log_dir, "worker")[-1]["type"] == "poll.completed", what="poll"
    )
    wait_polls(log_dir, 2)
    assert w2.terminate()[0] == 0
    assert len(events(log_dir, "raw")) == len(HOSTILE)
    assert "Traceback" not in w.stderr() + w2.stderr()
