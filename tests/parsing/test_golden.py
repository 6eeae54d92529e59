"""Frozen parser versions read every golden input exactly as when they were frozen (see tests/parsing/golden.py for
how the golden files are made and deliberately regenerated)."""

from __future__ import annotations

import json

import pytest

from autosig.parsing import versions

from . import golden

FROZEN = ["1", "2"]


@pytest.mark.parametrize("version", FROZEN)
def test_frozen_version_reads_every_golden_input_as_when_frozen(version):
    diff = golden.compare(version)
    assert not (diff.changed or diff.missing or diff.extra), (
        f"parser v{version} differs from {golden.path_of(version).name}:\n{diff.describe()}\n"
        f"(new inputs: python -m tests.parsing.golden {version}; an intended change: add --force)"
    )


def test_the_golden_covers_every_set_and_every_field():
    rows = [json.loads(line) for line in golden.path_of("1").read_text(encoding="utf-8").splitlines()]
    assert {row["set"] for row in rows} == {"cases", "cases_v2", "corpus", "simulator"}
    assert {row["kind"] for row in rows} == {"signal", "non_signal", "unparseable"}
    signal = next(row for row in rows if row["signals"])["signals"][0]
    assert len(signal) == 17  # every field of the signal model, not a summary


def test_a_changed_reading_is_reported_field_by_field(monkeypatch):
    """The guard can fail: a v1 that reads one confidence differently is caught and described."""
    from autosig.parsing import v1

    real = v1.parse

    def shifted(alert):
        result = real(alert)
        if alert.id == "act-bto":
            result["signals"][0]["confidence"] = 0.5
        return result

    monkeypatch.setattr(v1, "parse", shifted)
    diff = golden.compare("1")
    assert list(diff.changed) == ["cases/act-bto"]
    assert diff.changed["cases/act-bto"] == ["signals[0].confidence: golden 1.0, now 0.5"]
    assert "cases/act-bto" in diff.describe()


def test_frozen_versions_are_registered():
    assert set(FROZEN) <= set(versions())
