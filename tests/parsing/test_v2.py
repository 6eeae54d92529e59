"""Parser v2: every rule case (v1's and the v2 families) read right, no wrong order at or above the executor's gate
on the public corpus and the case table, and a confidence that says when a reading is a guess."""

from __future__ import annotations

import pytest

from autosig.parsing import Alert, newest_version, parse

from . import scoring
from .cases import cases
from .cases_v2 import cases_v2
from .helpers import checker

ALL_CASES = cases() + cases_v2()
BY_ID = {c["id"]: c for c in ALL_CASES}
WED = "2026-01-14T15:00:00Z"


def _alert(case: dict) -> Alert:
    """The case as `autosig parse` would see it: its reply chain resolved against the cases before it."""
    parent = _alert(BY_ID[case["reply_to"]]) if case["reply_to"] in BY_ID else None
    return Alert(case["text"], case["created_at"], case["id"], parent, case["reply_to"])


def test_v2_is_the_newest_version_and_so_the_default():
    assert newest_version() == "2"
    text = Alert("out some AAPL 200c 1/16 here 2.50, letting the rest ride", WED)
    assert parse(text)["signals"][0]["action"] == "trim"


@pytest.mark.parametrize("case", ALL_CASES, ids=[c["id"] for c in ALL_CASES])
def test_rule_case(case):
    result = parse(_alert(case), "2")
    assert checker().check(case["expect"], result) == [], result
    if result["kind"] != "signal":
        assert result["signals"] == [] and result["reason"]


@pytest.mark.parametrize("name", ["public corpus", "case table"])
def test_no_wrong_order_at_or_above_the_gate(name):
    score = scoring.score("2", scoring.sets()[name])
    assert score.wrong_order_ids == []
    assert score.right == score.total


def test_v2_reads_the_families_v1_misreads():
    """The comparison the README's table reports: v1 trades wrongly on some of these, v2 on none."""
    v1, v2 = (scoring.score(v, cases_v2()) for v in ("1", "2"))
    assert v1.wrong_order > 0 and v2.wrong_order == 0
    assert v2.right > v1.right


PARENT = "BTO 3 SPY 600c 1/16 @ 1.25"
SAFE = [
    ("BTO SPY 600c 1/16 @ 1.25", None),
    ("SPY 600c 1/16 @ 1.25", None),  # the contract-and-price convention: an open at full confidence
    ("NVDA 140c 1/16 2.10", None),
    ("trim 2.10", PARENT),  # a contract taken from the alert a reply answers is no guess
    ("all out 2.60", PARENT),
    ("STC SPY260116C00600000 @ 2.10", None),
    ("Options Scale\nContract: SPY 600C 1/16\nScaling Price: 2.10", None),
    ("SOLD | SPY JAN 16 600c $2.10 1/2", None),
    ("Bought 50 shares of NVDA at 138.29", None),
    ("out nvda 1.50", None),
]
GUESSES = [
    ("BTO SPY 600c @ 1.25", "no expiry written"),
    ("BTO SPY 600c 1/16", "no price"),
    ('Alert: "BTO SPY 600c 1/16 @ 1.25"', "quoted"),
    ("STC SPY 600c @ 2.10 1/2", "could be an expiry"),
    ("1dte SPY 600c 1.20 holding into tmrw", "already held"),
    ("Long ON @ 52.30", "nothing marks as traded"),
    ("short 100 TSLA @ 250.10", "short sale"),
    ("STO 100 TSLA @ 250", "short sale"),
    ("BTC 100 TSLA @ 245", "short covered"),
    ("short 1 /ES @ 6000", "short sale"),
    ("covered TSLA short @ 245.50", "short covered"),
    ("BTO SPY 600c 1/16 @ 1.25\n" + "more words " * 100, "head of a long message"),
    ("SPY 600c next friday @ 1.25", "next Friday"),
    ("BTO SPY 600c 1/16 @ 1.25, now 1.40", "second price"),
]


@pytest.mark.parametrize(("text", "parent"), SAFE, ids=[t for t, _ in SAFE])
def test_what_is_read_for_certain_is_at_or_above_the_gate(text, parent):
    replied = Alert(parent, WED, "p") if parent else None
    result = parse(Alert(text, WED, "a", replied, "p" if parent else None), "2")
    assert result["kind"] == "signal"
    assert all(s["confidence"] >= scoring.GATE for s in result["signals"]), result


@pytest.mark.parametrize(("text", "why"), GUESSES, ids=[t[:40] for t, _ in GUESSES])
def test_a_guess_is_below_the_gate_and_says_why(text, why):
    result = parse(Alert(text, WED), "2")
    assert result["kind"] == "signal"
    assert all(s["confidence"] < scoring.GATE for s in result["signals"]), result
    assert why in result["reason"]


def test_the_reason_of_a_full_confidence_signal_is_null():
    result = parse(Alert("BTO 2 SPY 600c 1/16 @ 1.25", WED), "2")
    assert result["signals"][0]["confidence"] == 1.0 and result["reason"] is None
    low = parse(Alert("BTO 2 SPY 600c @ 1.25", WED), "2")
    assert low["reason"] == "SPY 0.75: no expiry written"
