"""The shape of every result: exactly the fields of the signal model, unknowns null, lists empty; reasons for
non-signals."""

from __future__ import annotations

import pytest

from autosig.parsing import Alert, parse
from autosig.parsing.model import LEG_FIELDS, SIGNAL_FIELDS, new_signal

from .cases import cases

ALLOWED = {
    "action": {"open", "close", "trim", "add", "update"},
    "instrument": {"stock", "option", "spread", "future"},
    "limit_kind": {None, "debit", "credit"},
}


def _results():
    for case in cases():
        yield case["id"], parse(Alert(case["text"], case["created_at"], case["id"]), "1")


@pytest.mark.parametrize(("cid", "result"), list(_results()), ids=[c["id"] for c in cases()])
def test_result_shape(cid, result):
    assert list(result) == ["kind", "reason", "signals"]
    for signal in result["signals"]:
        assert tuple(signal) == SIGNAL_FIELDS
        for name, allowed in ALLOWED.items():
            assert signal[name] in allowed
        assert isinstance(signal["legs"], list) and isinstance(signal["targets"], list)
        assert isinstance(signal["tags"], list)
        assert set(signal["tags"]) <= {"lotto", "0dte", "swing", "high_risk"}
        assert 0 <= signal["confidence"] <= 1
        assert signal["ticker"] and signal["ticker"] == signal["ticker"].upper()
        for leg in signal["legs"]:
            assert tuple(leg) == LEG_FIELDS
            assert leg["side"] in ("buy", "sell") and leg["right"] in ("C", "P")
        if signal["instrument"] == "spread":
            assert len(signal["legs"]) >= 2
        if signal["instrument"] in ("stock", "future"):
            assert signal["legs"] == []


def test_new_signal_defaults_and_rejects_unknown_fields():
    s = new_signal(action="open")
    assert s["legs"] == [] and s["targets"] == [] and s["tags"] == [] and s["price"] is None
    with pytest.raises(KeyError):
        new_signal(colour="red")


def test_confidence_is_lower_when_less_is_known():
    full = parse(Alert("BTO 2 SPY 600c 1/16 @ 1.25", "2026-01-14T15:00:00Z"), "1")["signals"][0]["confidence"]
    implicit = parse(Alert("SPY 600c 1/16 1.25", "2026-01-14T15:00:00Z"), "1")["signals"][0]["confidence"]
    no_expiry = parse(Alert("BTO SPY 600c @ 1.25", "2026-01-14T15:00:00Z"), "1")["signals"][0]["confidence"]
    assert full == 1.0
    assert implicit < full and no_expiry < full


def test_missing_expiry_stays_null_never_guessed():
    s = parse(Alert("BTO SPY 600c @ 1.25", "2026-01-14T15:00:00Z"), "1")["signals"][0]
    assert s["legs"][0]["expiry"] is None


def test_relative_dates_need_created_at():
    """Without created_at nothing relative can be resolved: null, not today's date."""
    s = parse(Alert("BTO SPY 600c 0dte @ 1.25", None), "1")["signals"][0]
    assert s["legs"][0]["expiry"] is None
    s = parse(Alert("BTO SPY 600c 1/16/2026 @ 1.25", None), "1")["signals"][0]
    assert s["legs"][0]["expiry"] == "2026-01-16"


@pytest.mark.parametrize("text", [None, "", "  ", 12345, ["BTO"], {"a": 1}])
def test_odd_text_values_never_raise(text):
    result = parse(Alert(text, "2026-01-14T15:00:00Z"), "1")
    assert result["kind"] in ("non_signal", "unparseable", "signal")


def test_parser_failure_becomes_unparseable(monkeypatch):
    from autosig.parsing import v1

    def boom(*_args):
        raise RuntimeError("bug")

    monkeypatch.setattr(v1, "_parse", boom)
    result = v1.parse(Alert("BTO SPY 600c 1/16 @ 1", "2026-01-14T15:00:00Z"))
    assert result == {"kind": "unparseable", "reason": "parser v1 failed: RuntimeError", "signals": []}


def test_only_the_head_of_a_long_message_is_read():
    from autosig.parsing.v1 import READ_CHARS

    head = "BTO SPY 600c 1/16 @ 1.25\n"
    result = parse(Alert(head + "blah " * READ_CHARS + "\nBTO QQQ 500p 1/16 @ 2", "2026-01-14T15:00:00Z"), "1")
    assert [s["ticker"] for s in result["signals"]] == ["SPY"]
    assert result["signals"][0]["confidence"] < 1
    # the cut never splits a number: 1.25 must not become 1.2
    text = "x" * (READ_CHARS - 10) + " BTO SPY 600c 1/16 @ 1.25"
    result = parse(Alert(text, "2026-01-14T15:00:00Z"), "1")
    assert all(s["price"] != 1.2 for s in result["signals"])


def test_registry_orders_versions_numerically():
    from autosig.parsing import newest_version, versions

    assert versions()[:2] == ["0", "1"]
    assert newest_version() == versions()[-1]
