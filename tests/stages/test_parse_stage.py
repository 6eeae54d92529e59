"""The parse stage's context: replies resolve only against earlier raw events; authors; payload forms."""

from __future__ import annotations

from parsing.helpers import message, raw_item

from autosig.events import open_store
from autosig.schema import PARSED, RAW
from autosig.stages.parse import ParseContext, parsed_draft

LATER = "2026-01-14T16:00:00Z"


def _store(log_dir, *items):
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    store.append_many(RAW, list(items))
    return store


def _parse_all(store, version="1", authors=frozenset()):
    ctx = ParseContext(authors)
    raws = list(store.read(RAW))
    for raw in raws:
        ctx.add(raw)
    return {raw.seq: ctx.parse(raw, version) for raw in raws}, raws


def test_reply_uses_the_replied_to_version_recorded_before_it(log_dir):
    parent = message("m1", "BTO SPY 600c 1/16 @ 1.25")
    reply = message("m2", "trim 2.10", LATER, reply_to="m1")
    edited = message("m1", "BTO QQQ 500p 1/16 @ 2", updated_at=LATER)
    store = _store(log_dir, raw_item(parent), raw_item(reply), raw_item(edited, edited=True))
    results, raws = _parse_all(store)
    trim = results[2]
    assert trim["kind"] == "signal"
    assert trim["signals"][0]["ticker"] == "SPY"  # not QQQ: the edit came after the reply
    assert trim["signals"][0]["refers_to"] == "m1"
    assert trim["raw_seq"] == 2 and trim["source_id"] == "m2" and trim["parser_version"] == "1"
    # the same answer from a context that has seen only the events up to the reply
    ctx = ParseContext()
    for raw in raws[:2]:
        ctx.add(raw)
    assert ctx.parse(raws[1], "1") == trim


def test_reply_recorded_before_its_parent_is_parsed_alone(log_dir):
    reply = message("m2", "trim 2.10", LATER, reply_to="m1")
    parent = message("m1", "BTO SPY 600c 1/16 @ 1.25")
    store = _store(log_dir, raw_item(reply), raw_item(parent))
    results, _ = _parse_all(store)
    assert results[1]["kind"] == "unparseable"
    assert results[2]["kind"] == "signal"


def test_reply_to_an_edited_parent_uses_the_latest_earlier_version(log_dir):
    first = message("m1", "BTO SPY 600c 1/16 @ 1.25")
    fixed = message("m1", "BTO QQQ 500p 1/16 @ 2", updated_at=LATER)
    reply = message("m2", "out", "2026-01-14T17:00:00Z", reply_to="m1")
    store = _store(log_dir, raw_item(first), raw_item(fixed, edited=True), raw_item(reply))
    results, _ = _parse_all(store)
    assert results[3]["signals"][0]["ticker"] == "QQQ"


def test_authors_filter_by_id_or_username_case_insensitively(log_dir):
    store = _store(
        log_dir,
        raw_item(message("m1", "BTO SPY 600c 1/16 @ 1.25", user="user_ana")),
        raw_item(message("m2", "BTO SPY 600c 1/16 @ 1.25", user="user_bob")),
        raw_item(message("m3", "BTO SPY 600c 1/16 @ 1.25", user="user_cal")),
    )
    results, _ = _parse_all(store, authors=frozenset({"USER_ANA", "cal"}))
    assert results[1]["kind"] == "signal"
    assert results[2] == {**results[2], "kind": "non_signal", "reason": "author not followed", "signals": []}
    assert results[3]["kind"] == "signal"  # username "cal"
    everyone, _ = _parse_all(store)
    assert all(r["kind"] == "signal" for r in everyone.values())


def test_payload_json_and_null_content(log_dir):
    odd = message("m1", "BTO SPY 600c 1/16 @ 1.25 \ud800")  # a lone surrogate: stored as payload_json
    empty = message("m2", None)
    store = _store(log_dir, raw_item(odd), raw_item(empty))
    results, raws = _parse_all(store)
    assert "payload_json" in raws[0].data
    assert results[1]["kind"] == "signal"
    assert results[2]["kind"] == "non_signal"


def test_a_raw_event_without_payload_is_unparseable_not_an_error(log_dir):
    store = _store(log_dir, ("alert.received", {"source": "whop", "source_id": "x"}, None, "whop:x:1"))
    results, _ = _parse_all(store)
    assert results[1]["kind"] == "unparseable"


def test_a_parse_draft_is_idempotent_under_its_key(log_dir):
    store = _store(log_dir, raw_item(message("m1", "BTO SPY 600c 1/16 @ 1.25")))
    results, raws = _parse_all(store)
    item = parsed_draft(results[1])
    assert item[0] == "alert.parsed" and item[3] == "parse:1:1"
    store.append_many(PARSED, [item, item])
    store.append_many(PARSED, [item])
    assert store.last_seq(PARSED) == 1


def test_context_keeps_only_what_replies_need(log_dir):
    store = _store(log_dir, raw_item(message("m1", "BTO SPY 600c 1/16 @ 1.25")))
    ctx = ParseContext()
    raw = next(iter(store.read(RAW)))
    ctx.add(raw)
    ctx.add(raw)  # repeats are ignored
    assert ctx._seqs == {"m1": [1]}
    version = ctx._versions["m1"][0]
    assert version.text == "BTO SPY 600c 1/16 @ 1.25" and not hasattr(version, "__dict__")
