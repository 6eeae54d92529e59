"""The public corpus and the rule cases, through the real `autosig parse` process, scored by the corpus checker."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from autosig.parsing import Alert, parse

from .cases import cases
from .helpers import CHECKER, CORPUS, checker, corpus_lines, run_cli

RULE_CASES = cases()


def test_public_corpus_scores_100_percent_through_the_cli(tmp_path):
    done = run_cli(["parse"], CORPUS.read_text(encoding="utf-8"))
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out.jsonl"
    out.write_text(done.stdout, encoding="utf-8")
    scored = subprocess.run(
        [sys.executable, str(CHECKER), str(CORPUS), str(out), "--verbose"], capture_output=True, text=True
    )
    total = sum(1 for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip())
    assert scored.stdout.strip().endswith(f"score: {total}/{total}"), scored.stdout
    assert scored.returncode == 0


def test_rule_cases_through_the_cli():
    done = run_cli(["parse", "--parser-version", "1"], corpus_lines(RULE_CASES))
    assert done.returncode == 0, done.stderr
    got = {}
    for line in done.stdout.splitlines():
        obj = json.loads(line)
        got[obj["id"]] = obj
    check = checker().check
    failures = {c["id"]: check(c["expect"], got.get(c["id"])) for c in RULE_CASES}
    assert {k: v for k, v in failures.items() if v} == {}


@pytest.mark.parametrize("case", RULE_CASES, ids=[c["id"] for c in RULE_CASES])
def test_rule_case(case):
    """The same cases in-process, one test each, so a failure names its rule."""
    by_id = {c["id"]: c for c in RULE_CASES}
    parent = None
    if case["reply_to"] in by_id:
        p = by_id[case["reply_to"]]
        parent = Alert(p["text"], p["created_at"], p["id"])
    alert = Alert(case["text"], case["created_at"], case["id"], parent, case["reply_to"])
    result = parse(alert, "1")
    assert checker().check(case["expect"], result) == [], result
    if result["kind"] == "signal":
        assert result["reason"] is None
    else:
        assert result["signals"] == [] and result["reason"]


def test_the_cases_cover_every_kind_and_action():
    kinds = {c["expect"]["kind"] for c in RULE_CASES}
    actions = {s.get("action") for c in RULE_CASES for s in c["expect"].get("signals", [])}
    assert kinds == {"signal", "non_signal", "unparseable"}
    assert {"open", "close", "trim", "add", "update"} <= actions
    assert len(RULE_CASES) >= 150
