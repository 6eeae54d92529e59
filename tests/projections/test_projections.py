from __future__ import annotations

from autosig.events.base import Problem
from autosig.projections import Projections
from projections.helpers import T0, completed, failed, parsed, raw, signal, started


def make(window: int = 10_000) -> Projections:
    return Projections("1", window=window, stale_after_seconds=90)


def feed(p: Projections, stream: str, *events) -> None:
    for e in events:
        p.apply(stream, e)


# --- latest signals -------------------------------------------------------------------------------------------------


def test_signals_newest_first_one_entry_per_signal():
    p = make()
    feed(p, "raw", raw(1, "m1", "BTO SPY"), raw(2, "m2", "BTO QQQ and IWM"), raw(3, "m3", "gm all"))
    feed(
        p,
        "parsed",
        parsed(1, 1, "m1"),
        parsed(2, 2, "m2", signals=[signal("QQQ"), signal("IWM")]),
        parsed(3, 3, "m3", kind="non_signal", reason="chatter"),
    )
    got = p.signals.signals()
    assert [(s["raw_seq"], s["signal"]["ticker"]) for s in got] == [(2, "QQQ"), (2, "IWM"), (1, "SPY")]
    first = got[0]
    assert first["text"] == "BTO QQQ and IWM"
    assert first["source_id"] == "m2" and first["parser_version"] == "1" and first["parsed_seq"] == 2
    assert first["created_at"].endswith("Z") and first["received_at"].endswith("Z")
    assert p.signals.signals(limit=2)[-1]["signal"]["ticker"] == "IWM"


def test_ticker_filter_ignores_case_and_after_seq_is_raw():
    p = make()
    for i in range(1, 6):
        feed(p, "raw", raw(i, f"m{i}", f"BTO {'SPY' if i % 2 else 'TSLA'}"))
        feed(p, "parsed", parsed(i, i, f"m{i}", signals=[signal("SPY" if i % 2 else "TSLA")]))
    assert [s["raw_seq"] for s in p.signals.signals(ticker="spy")] == [5, 3, 1]
    assert [s["raw_seq"] for s in p.signals.signals(ticker="TsLa")] == [4, 2]
    assert [s["raw_seq"] for s in p.signals.signals(after_seq=3)] == [5, 4]
    assert p.signals.signals(ticker="nope") == []


def test_parse_before_its_raw_event_is_joined_later():
    p = make()
    feed(p, "parsed", parsed(1, 1, "m1"))
    assert p.signals.signals() == []
    feed(p, "raw", raw(1, "m1", "BTO SPY"))
    assert [s["raw_seq"] for s in p.signals.signals()] == [1]


def test_active_version_wins_else_highest():
    p = make()
    feed(p, "raw", raw(1, "m1", "x"), raw(2, "m2", "y"))
    feed(
        p,
        "parsed",
        parsed(1, 1, "m1", version="1", signals=[signal("AAA")]),
        parsed(2, 1, "m1", version="2", signals=[signal("BBB")]),
        parsed(3, 2, "m2", version="3", signals=[signal("CCC")]),
        parsed(4, 2, "m2", version="10", signals=[signal("DDD")]),
    )
    # active "1" (the web's), so m1 shows v1; m2 has no v1 parse: the highest version (10 > 3 numerically)
    assert [s["signal"]["ticker"] for s in p.signals.signals()] == ["DDD", "AAA"]
    feed(p, "worker", started(1, version="2"))
    assert p.active_version() == "2"
    assert [s["signal"]["ticker"] for s in p.signals.signals()] == ["DDD", "BBB"]


def test_edit_shows_only_newest_version():
    p = make()
    feed(p, "raw", raw(1, "m1", "BTO SPY 600c @ 1.25"), raw(2, "m2", "other"))
    feed(p, "parsed", parsed(1, 1, "m1", signals=[signal("SPY", price=1.25)]), parsed(2, 2, "m2", signals=[signal("QQQ")]))
    feed(p, "raw", raw(3, "m1", "BTO SPY 600c @ 1.30", edited=True))
    # the edit is not parsed yet: the old version is hidden anyway (it is superseded)
    assert [s["signal"]["ticker"] for s in p.signals.signals()] == ["QQQ"]
    feed(p, "parsed", parsed(3, 3, "m1", signals=[signal("SPY", price=1.30)]))
    got = p.signals.signals()
    assert [(s["raw_seq"], s["signal"]["price"]) for s in got] == [(3, 1.30), (2, 1.25)]
    assert [a["raw_seq"] for a in p.signals.alerts()] == [3, 2]


def test_memory_is_bounded_by_window_but_counts_are_exact():
    p = make(window=100)
    for i in range(1, 1001):
        feed(p, "raw", raw(i, f"m{i}", "BTO SPY"))
        feed(p, "parsed", parsed(i, i, f"m{i}", signals=[signal("SPY" if i % 2 else f"T{i}")]))
    s = p.signals
    assert len(s._raw) == 100 and len(s._parses) <= 100 and len(s._latest) == 100
    assert len(s._signal_seqs) <= 100 and sum(len(v) for v in s._tickers.values()) <= 100
    assert len(s._tickers) <= 51  # old one-off tickers were evicted with their alerts
    assert p.parse_stats()["1"] == {"signal": 1000, "non_signal": 0, "unparseable": 0, "total": 1000}
    assert len(s.signals(limit=500)) == 100
    # a late parse of an alert long out of the window is counted, not listed
    feed(p, "parsed", parsed(1001, 5, "m5", version="2"))
    assert p.parse_stats()["2"]["total"] == 1 and 5 not in s._parses


def test_alerts_kind_filter_and_unparsed_alerts():
    p = make()
    feed(p, "raw", raw(1, "m1", "BTO SPY"), raw(2, "m2", "gm"), raw(3, "m3", "BTO something @"), raw(4, "m4", "new"))
    feed(
        p,
        "parsed",
        parsed(1, 1, "m1"),
        parsed(2, 2, "m2", kind="non_signal", reason="chatter"),
        parsed(3, 3, "m3", kind="unparseable", reason="no strike"),
    )
    assert [(a["raw_seq"], a["kind"]) for a in p.signals.alerts()] == [(4, None), (3, "unparseable"), (2, "non_signal"), (1, "signal")]
    unparsed = p.signals.alerts(kind="unparseable")
    assert unparsed == [
        {
            "raw_seq": 3,
            "source_id": "m3",
            "created_at": unparsed[0]["created_at"],
            "received_at": unparsed[0]["received_at"],
            "text": "BTO something @",
            "kind": "unparseable",
            "reason": "no strike",
            "parser_version": "1",
        }
    ]
    assert p.signals.alerts(kind="signal")[0]["reason"] is None


def test_payload_json_and_epoch_created_at():
    p = make()
    e = raw(1, "m1", None)
    from autosig.schema import alert_received
    from projections.helpers import ev

    # A lone surrogate: orjson cannot encode it, so the event carries payload_json
    e = ev(1, alert_received("c", {"id": "m1", "content": "BTO SPY \ud800", "created_at": 1800000000000}))
    assert "payload_json" in e.data
    feed(p, "raw", e)
    feed(p, "parsed", parsed(1, 1, "m1"))
    got = p.signals.signals()[0]
    assert got["text"] == "BTO SPY \ud800"
    assert got["created_at"] == "2027-01-15T08:00:00.000000Z"


def test_sse_feed_since_parsed_seq():
    p = make()
    feed(p, "raw", raw(1, "m1", "a"), raw(2, "m2", "b"))
    feed(p, "parsed", parsed(7, 1, "m1"), parsed(8, 2, "m2", kind="non_signal"), parsed(9, 2, "m2", version="0"))
    got = p.signals.signals_since(0)
    assert [pseq for pseq, _ in got] == [7]
    assert p.signals.signals_since(7) == []


# --- ingestion -----------------------------------------------------------------------------------------------------


def test_never_polled_is_stale_and_red():
    p = make()
    st = p.status(now=T0)
    assert st["stale"] is True
    assert st["lag"]["poll_age_seconds"] is None and st["lag"]["success_age_seconds"] is None
    assert st["banner"]["level"] == "red" and "never polled" in st["banner"]["headline"]


def test_fresh_success_is_green_then_stale_by_workers_setting():
    p = make()
    feed(p, "worker", started(1, at=T0, stale=10), completed(2, at=T0 + 1))
    st = p.status(now=T0 + 5)
    assert st["stale"] is False and st["banner"]["level"] == "green"
    assert st["lag"]["poll_age_seconds"] == 4 and st["lag"]["success_age_seconds"] == 4
    assert st["worker"]["failing_since"] is None and st["worker"]["consecutive_failures"] == 0
    later = p.status(now=T0 + 12)
    assert later["stale"] is True and later["banner"]["level"] == "red"
    assert later["banner"]["headline"] == "No poll for 11 s"


def test_failures_keep_last_error_after_success_and_failing_since():
    p = make()
    feed(p, "worker", started(1, at=T0, stale=100), completed(2, at=T0 + 1))
    feed(p, "worker", failed(3, at=T0 + 31), failed(4, at=T0 + 61))
    st = p.status(now=T0 + 62)
    w = st["worker"]
    assert w["consecutive_failures"] == 2
    assert w["failing_since"] == "2027-01-15T08:00:31.000000Z"
    assert w["last_error"] == {"reason": "auth", "detail": "HTTP 401", "http_status": 401, "at": "2027-01-15T08:01:01.000000Z"}
    assert st["stale"] is False and st["banner"]["level"] == "amber"
    assert st["banner"]["headline"] == "Whop rejects the token" and st["banner"]["since"] == w["failing_since"]
    assert st["lag"]["poll_age_seconds"] == 1 and st["lag"]["success_age_seconds"] == 61
    assert p.status(now=T0 + 200)["banner"]["level"] == "red"
    feed(p, "worker", completed(5, at=T0 + 91))
    w = p.status(now=T0 + 92)["worker"]
    assert w["failing_since"] is None and w["consecutive_failures"] == 0
    assert w["last_error"]["at"] == "2027-01-15T08:01:01.000000Z"


def test_mode_and_parser_version_come_from_worker_started():
    p = Projections("1", dry_run=True, live_trading=False)
    assert p.status(now=T0)["mode"] == {"dry_run": True, "live_trading": False}
    feed(p, "worker", started(1, dry_run=False, live=True, version="3"))
    st = p.status(now=T0)
    assert st["mode"] == {"dry_run": False, "live_trading": True}
    assert st["parser_version"] == "3"


def test_stale_after_defaults_to_three_poll_intervals_of_the_worker():
    p = make()
    feed(p, "worker", started(1, at=T0, poll=2, stale=None), completed(2, at=T0))
    assert p.status(now=T0 + 5.9)["stale"] is False
    assert p.status(now=T0 + 6.1)["stale"] is True


def test_parse_backlog_counts_raw_without_active_parse():
    p = make()
    feed(p, "raw", *[raw(i, f"m{i}", "x") for i in range(1, 6)])
    feed(p, "parsed", parsed(1, 1, "m1"), parsed(2, 2, "m2"), parsed(3, 1, "m1", version="0"))
    assert p.status(now=T0)["lag"]["parse_backlog"] == 3
    feed(p, "worker", started(1, version="0"))
    assert p.status(now=T0)["lag"]["parse_backlog"] == 4


def test_gap_and_stopped_are_amber_while_fresh():
    p = make()
    feed(p, "worker", started(1, at=T0), completed(2, at=T0, gap=True))
    assert p.status(now=T0 + 1)["banner"]["headline"].startswith("Gap")
    feed(p, "worker", completed(3, at=T0 + 2))
    assert p.status(now=T0 + 3)["banner"]["level"] == "green"


def test_streams_problems_and_latency():
    p = make()
    feed(p, "raw", raw(1, "m1", "x", at=T0 + 3))
    p.problem(Problem("parsed", 7, "invalid JSON"))
    p.problem(Problem("parsed", 7, "invalid JSON"))
    st = p.status(now=T0 + 10)
    assert st["streams"]["raw"] == {"seq": 1, "last_ts": "2027-01-15T08:00:03.000000Z"}
    assert st["streams"]["parsed"] == {"seq": 0, "last_ts": None}
    assert st["problems"] == [{"stream": "parsed", "line": 7, "error": "invalid JSON"}]
    assert st["lag"]["alert_latency_seconds"]["median"] == 2.0


def test_status_has_contract_shape():
    st = make().status(now=T0)
    assert set(st) >= {"worker", "streams", "lag", "stale", "mode", "parser_version", "problems"}
    assert set(st["worker"]) >= {"last_poll_at", "last_success_at", "last_error", "failing_since", "consecutive_failures"}
    assert set(st["streams"]) == {"raw", "parsed", "worker"}
    assert set(st["lag"]) >= {"poll_age_seconds", "success_age_seconds", "parse_backlog"}
    assert set(st["mode"]) == {"dry_run", "live_trading"}


def test_stats_per_hour_and_types():
    p = make()
    feed(p, "raw", raw(1, "a", "x", at=T0), raw(2, "b", "y", at=T0 + 60), raw(3, "c", "z", at=T0 + 3600))
    s = p.stats()
    assert s["alerts_per_hour"] == [
        {"hour": "2027-01-15T08:00:00Z", "count": 2},
        {"hour": "2027-01-15T09:00:00Z", "count": 1},
    ]
    assert s["types"]["raw"] == {"alert.received": 3}
