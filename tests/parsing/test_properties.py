"""Properties of the parsers over generated input: no rule ever fails, nothing hangs, one well-formed result,
deterministic. A parser catches its own exceptions (one bad alert must not stop ingestion) and says so in the reason,
so "never raises" is checked on that reason: a result saying the parser failed is a failure here."""

from __future__ import annotations

import io
import json
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autosig.commands.parse import parse_lines
from autosig.parsing import Alert, parse

# Fragments of real alert language, so generated texts reach deep into the rules, not just "no ticker".
FRAGMENTS = [
    "BTO", "STC", "STO", "BTC", "in", "out", "all out", "trim", "sold", "1/2", "half", "add", "avg down", "SPY",
    "$spy", "/ES", "NQ", "600c", "282.5C", "415 C", "calls", "puts", "@", "at", ".45", "1.85-1.9", "$2.70",
    "from", "0dte", "weekly", "本周", "进", "March", "15 mar 24", "Jan 17 2025", "12/29", "1/17/25", "SL", "PT1:",
    "85%TS10%", "3.9TS10%", "HOD", "BE", "2% size", "1/4 size", "lotto", "swing", "high risk", "+1", "-1",
    "Limit", "debit to open", "credit to close", "3x", "100 shares", ",", "\n", "?", "eyeing", "watchlist",
    "🔥", "<@&123>", "+100%", "(", ")", "exp", "x5", "TARGET", "Entry", "-", "/", "%", ":",
]  # fmt: skip

trade_text = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map(" ".join)
any_text = st.one_of(st.text(max_size=300), trade_text, st.none())
created = st.one_of(
    st.none(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
    st.text(max_size=30),
)
VERSIONS = ["1", "2"]
FAILED = re.compile(r"parser v\S+ failed")
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _well_formed(result: dict) -> None:
    assert result["kind"] in ("signal", "non_signal", "unparseable")
    assert isinstance(result["signals"], list)
    if result["kind"] == "signal":
        # v1 gives signals no reason; later versions say what lowered a confidence, or nothing
        assert result["signals"] and (result["reason"] is None or isinstance(result["reason"], str))
    else:
        assert result["signals"] == [] and isinstance(result["reason"], str) and result["reason"]
        assert not FAILED.match(result["reason"]), result["reason"]
    json.dumps(result)  # serializable as-is


@pytest.mark.parametrize("version", VERSIONS)
@SETTINGS
@given(text=any_text, created_at=created, parent=st.one_of(st.none(), trade_text))
def test_no_rule_fails_and_the_result_is_deterministic(version, text, created_at, parent):
    reply = Alert(parent, created_at, "p") if parent is not None else None
    alert = Alert(text, created_at, "a", reply, "p" if parent is not None else None)
    first = parse(alert, version)
    _well_formed(first)
    assert parse(alert, version) == first


@pytest.mark.parametrize("version", VERSIONS)
def test_the_property_fails_when_a_rule_raises(version, monkeypatch):
    """The property above can fail: with one rule of the parser raising, it finds an alert that shows it."""
    rules = __import__(f"autosig.parsing.v{version}._levels", fromlist=["LevelRules"]).LevelRules

    def broken(self):
        raise RuntimeError("injected")

    monkeypatch.setattr(rules, "scan_price", broken)
    assert parse(Alert("BTO SPY 600c 1/16 @ 1.25", "2026-01-14T15:00:00Z"), version)["reason"] == (
        f"parser v{version} failed: RuntimeError"
    )  # caught by the parser, as it must be…
    with pytest.raises(AssertionError, match="failed: RuntimeError"):
        test_no_rule_fails_and_the_result_is_deterministic(version)  # …and still caught by the property


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(trade_text, st.text(max_size=80)), min_size=1, max_size=15))
def test_parse_command_gives_one_result_per_line_in_order(version, texts):
    lines = [
        json.dumps({"id": f"m{i}", "text": t, "created_at": "2026-01-14T15:00:00Z", "reply_to": None})
        for i, t in enumerate(texts)
    ]
    out = io.StringIO()
    parse_lines(io.StringIO("\n".join(lines) + "\n"), out, version)
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in results] == [f"m{i}" for i in range(len(texts))]
    for r in results:
        _well_formed({k: r[k] for k in ("kind", "reason", "signals")})


ADVERSARIAL = [
    "1/1/1/1/" * 1300,
    "$" * 10_000,
    "+1 " * 3400,
    "PT " * 3400,
    "SL: " * 2500,
    "1.1-" * 2500,
    "BTO SPY 600c 1/17 @ 1.25, " * 400,
    "BTO SPY 600c 1/17 @ 1.25\n" * 400,
    "a" * 10_000,
    "9" * 10_000,
    ".5" * 5000,
    "(" * 10_000,
    "trim 1/2 " * 1100,
    "1,000," * 1600,
]


@pytest.mark.parametrize("version", VERSIONS)
def test_adversarial_10kb_inputs_finish_quickly(version):
    """A hang detector, not a benchmark (benchmarks/bench_parse.py measures): each input well under a second."""
    for text in ADVERSARIAL:
        started = time.perf_counter()
        _well_formed(parse(Alert(text, "2026-01-14T15:00:00Z"), version))
        assert time.perf_counter() - started < 1.0, text[:20]
