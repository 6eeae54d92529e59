"""`autosig parse` as a real process: one output line per input line, in order, replies against earlier lines."""

from __future__ import annotations

import json

from .helpers import run_cli


def _lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_one_result_per_line_in_order_with_replies_and_bad_lines():
    lines = [
        json.dumps(
            {"id": "a", "text": "BTO 3 SPY 600c 1/16 @ 1.25", "created_at": "2026-01-14T15:00:00Z", "reply_to": None}
        ),
        "this is not json",
        json.dumps(["a", "list"]),
        json.dumps({"id": "b", "text": "trim 2.10", "created_at": "2026-01-14T16:00:00Z", "reply_to": "a"}),
        json.dumps({"id": "c", "text": "trim 2.10", "created_at": "2026-01-14T16:00:00Z", "reply_to": "d"}),
        json.dumps(
            {"id": "d", "text": "BTO QQQ 500p 1/16 @ 2", "created_at": "2026-01-14T15:00:00Z", "reply_to": None}
        ),
        json.dumps({"id": 7, "text": None, "created_at": None}),
    ]
    done = run_cli(["parse"], "\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    out = _lines(done.stdout)
    assert [o["id"] for o in out] == ["a", None, None, "b", "c", "d", 7]
    assert all(list(o) == ["id", "kind", "reason", "signals"] for o in out)
    assert out[1]["kind"] == out[2]["kind"] == "unparseable" and "line 2" in out[1]["reason"]
    assert out[3]["signals"][0]["ticker"] == "SPY" and out[3]["signals"][0]["refers_to"] == "a"
    assert out[4]["kind"] == "unparseable"  # "d" comes later: replies see only earlier lines
    assert out[6]["kind"] == "non_signal"


def test_parser_version_option_and_unknown_version():
    line = json.dumps(
        {"id": "a", "text": "BTO SPY 600c 1/16 @ 1", "created_at": "2026-01-14T15:00:00Z", "reply_to": None}
    )
    v0 = _lines(run_cli(["parse", "--parser-version", "0"], line + "\n").stdout)
    assert v0[0]["kind"] == "unparseable"
    bad = run_cli(["parse", "--parser-version", "99"], line + "\n")
    assert bad.returncode == 2 and "99" in bad.stderr


def test_active_version_from_the_environment():
    line = json.dumps(
        {"id": "a", "text": "BTO SPY 600c 1/16 @ 1", "created_at": "2026-01-14T15:00:00Z", "reply_to": None}
    )
    out = _lines(run_cli(["parse"], line + "\n", env={"AUTOSIG_PARSER_VERSION": "0"}).stdout)
    assert out[0]["kind"] == "unparseable"
    out = _lines(run_cli(["parse"], line + "\n", env={"AUTOSIG_PARSER_VERSION": "1"}).stdout)
    assert out[0]["kind"] == "signal"


def test_empty_input_and_blank_lines():
    done = run_cli(["parse"], "\n\n")
    assert done.returncode == 0 and done.stdout == ""


def test_non_utf8_input_does_not_crash():
    import subprocess
    import sys

    from .helpers import ROOT

    data = b'{"id": "a", "text": "BTO SPY 600c 1/16 @ 1 \xff", "created_at": null, "reply_to": null}\n'
    done = subprocess.run(
        [sys.executable, "-m", "autosig", "parse"], input=data, capture_output=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1
