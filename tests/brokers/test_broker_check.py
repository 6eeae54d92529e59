"""`autosig broker-check` against the broker simulator: what it reads, that it sends nothing, and its exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from autosig.brokers.simulator import DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, Simulator

ROOT = Path(__file__).resolve().parents[2]


def check(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOSIG_", "APCA_", "TRADIER_"))}
    return subprocess.run([sys.executable, "-m", "autosig", "broker-check"], env={**clean, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_broker_check_reads_the_account_and_sends_no_order():
    with Simulator() as sim:
        done = check({"AUTOSIG_BROKER": "sim", "AUTOSIG_BROKER_URL": sim.url, "DRY_RUN": "false",
                      "APCA_API_KEY_ID": DEFAULT_KEY_ID, "APCA_API_SECRET_KEY": DEFAULT_SECRET_KEY})  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "account: ...ATED (paper)" in done.stdout and "mode AutoSig would run in: paper" in done.stdout
        assert "options level: 3" in done.stdout and "buying power: 100,000.00" in done.stdout
        assert sim.order_counts() == {}
        assert DEFAULT_SECRET_KEY not in done.stdout + done.stderr


def test_refused_credentials_exit_1_with_one_line_and_no_key():
    with Simulator() as sim:
        done = check({"AUTOSIG_BROKER": "sim", "AUTOSIG_BROKER_URL": sim.url, "DRY_RUN": "false",
                      "APCA_API_KEY_ID": DEFAULT_KEY_ID, "APCA_API_SECRET_KEY": "not-the-secret-123"})  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "refused the credentials" in done.stderr
    assert "not-the-secret-123" not in done.stdout + done.stderr


def test_tradier_dialect():
    with Simulator() as sim:
        done = check({"AUTOSIG_BROKER": "tradier", "AUTOSIG_BROKER_URL": sim.url + "/v1", "DRY_RUN": "false",
                      "TRADIER_ACCESS_TOKEN": "sim-tradier-token", "TRADIER_ACCOUNT_ID": "VA000001"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "account: ...0001 (paper)" in done.stdout
