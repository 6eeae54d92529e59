"""Properties of parser v1 over generated input: never raises or hangs, one well-formed result, deterministic."""

from __future__ import annotations

import io
import json
import time

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
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _well_formed(result: dict) -> None:
    assert result["kind"] in ("signal", "non_signal", "unparseable")
    assert isinstance(result["signals"], list)
    if result["kind"] == "signal":
        assert result["signals"] and result["reason"] is None
    else:
        assert result["signals"] == [] and isinstance(result["reason"], str) and result["reason"]
    json.dumps(result)  # serializable as-is


@SETTINGS
@given(text=any_text, created_at=created, parent=st.one_of(st.none(), trade_text))
def test_never_raises_and_is_deterministic(text, created_at, parent):
    reply = Alert(parent, created_at, "p") if parent is not None else None
    alert = Alert(text, created_at, "a", reply, "p" if parent is not None else None)
    first = parse(alert, "1")
    _well_formed(first)
    assert parse(alert, "1") == first


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(trade_text, st.text(max_size=80)), min_size=1, max_size=15))
def test_parse_command_gives_one_result_per_line_in_order(texts):
    lines = [
        json.dumps({"id": f"m{i}", "text": t, "created_at": "2026-01-14T15:00:00Z", "reply_to": None})
        for i, t in enumerate(texts)
    ]
    out = io.StringIO()
    parse_lines(io.StringIO("\n".join(lines) + "\n"), out, "1")
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


def test_adversarial_10kb_inputs_finish_quickly():
    """A hang detector, not a benchmark (benchmarks/bench_parse.py measures): each input well under a second."""
    for text in ADVERSARIAL:
        started = time.perf_counter()
        _well_formed(parse(Alert(text, "2026-01-14T15:00:00Z"), "1"))
        assert time.perf_counter() - started < 1.0, text[:20]
