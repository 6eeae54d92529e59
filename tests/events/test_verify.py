"""`autosig verify` and `autosig export`, run as real processes against real stream files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autosig.events.file import FileStore
from autosig.events.verify import verify_stream

ROOT = Path(__file__).resolve().parents[2]


def autosig(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "autosig", *args], capture_output=True, cwd=ROOT, env=full_env, timeout=60
    )


@pytest.fixture
def logs(log_dir: Path) -> Path:
    store = FileStore(log_dir, writer="test", fsync=False)
    for i in range(6):
        store.append("raw", "alert.received", {"i": i, "text": f'BTO {i} SPY 600c 🚀 "quoted"'}, key=f"k{i}")
    store.append_many(
        "parsed", [("alert.parsed", {"raw_seq": 1}, None, None), ("alert.parsed", {"raw_seq": 2}, None, None)]
    )
    return log_dir


def raw_lines(logs: Path) -> list[bytes]:
    return (logs / "alerts_raw.jsonl").read_bytes().splitlines(keepends=True)


def write_raw(logs: Path, lines: list[bytes]) -> None:
    (logs / "alerts_raw.jsonl").write_bytes(b"".join(lines))


def verify(logs: Path, *args: str) -> tuple[int, str, str]:
    result = autosig("verify", "--store", f"file:{logs}", *args)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_intact_store_prints_counts_and_heads(logs: Path) -> None:
    head = FileStore(logs).head("raw")
    code, out, _ = verify(logs)
    assert code == 0, out
    assert f"raw: 6 events, head seq 6 hash {head.hash}" in out
    assert "parsed: 2 events, head seq 2 hash " in out
    assert "worker: 0 events (empty)" in out


def test_store_comes_from_the_environment(logs: Path) -> None:
    result = autosig("verify", "--stream", "raw", env={"AUTOSIG_LOG_DIR": str(logs), "AUTOSIG_STORE_URL": ""})
    assert result.returncode == 0
    assert b"raw: 6 events" in result.stdout and b"parsed" not in result.stdout
    bad = autosig("verify", env={"AUTOSIG_LOG_DIR": str(logs), "AUTOSIG_FSYNC": "sometimes"})
    assert bad.returncode == 2
    assert bad.stderr.decode().count("\n") == 1 and "AUTOSIG_FSYNC" in bad.stderr.decode()


def test_edited_byte_is_named(logs: Path) -> None:
    lines = raw_lines(logs)
    lines[2] = lines[2].replace(b'"i":2', b'"i":7')
    write_raw(logs, lines)
    code, out, _ = verify(logs, "--stream", "raw")
    assert code == 1
    assert "raw: line 3 (seq 3): hash does not match" in out


def test_edited_hash_is_named(logs: Path) -> None:
    lines = raw_lines(logs)
    cut = lines[3].rfind(b'"hash":"') + 8
    flipped = b"0" if lines[3][cut : cut + 1] != b"0" else b"1"
    lines[3] = lines[3][:cut] + flipped + lines[3][cut + 1 :]
    write_raw(logs, lines)
    code, out, _ = verify(logs)
    assert code == 1 and "raw: line 4 (seq 4): hash does not match" in out
    assert "parsed: 2 events" in out  # other streams are still checked


def test_deleted_line_is_named(logs: Path) -> None:
    lines = raw_lines(logs)
    del lines[2]
    write_raw(logs, lines)
    code, out, _ = verify(logs)
    assert code == 1 and "raw: line 3 (seq 4): seq 4 where 3 was expected" in out


def test_swapped_lines_are_named(logs: Path) -> None:
    lines = raw_lines(logs)
    lines[3], lines[4] = lines[4], lines[3]
    write_raw(logs, lines)
    code, out, _ = verify(logs)
    assert code == 1 and "raw: line 4 (seq 5): seq 5 where 4 was expected" in out


def test_invalid_json_is_named(logs: Path) -> None:
    lines = raw_lines(logs)
    lines[1] = lines[1].replace(b'"data":{', b'"data":{{', 1)
    write_raw(logs, lines)
    code, out, _ = verify(logs)
    assert code == 1 and "raw: line 2 (seq 2): invalid JSON" in out


def test_rechained_forgery_is_still_caught_by_prev(logs: Path) -> None:
    """Editing a line and fixing its own hash breaks the next line's prev."""
    import hashlib

    lines = raw_lines(logs)
    body = lines[2][: lines[2].rfind(b',"hash":"')] + b"}"
    body = body.replace(b'"i":2', b'"i":9')
    digest = hashlib.sha256(body).hexdigest().encode()
    lines[2] = body[:-1] + b',"hash":"' + digest + b'"}\n'
    write_raw(logs, lines)
    code, out, _ = verify(logs)
    assert code == 1 and "raw: line 4 (seq 4): prev does not match" in out


def test_expect_head_catches_lines_cut_from_the_end(logs: Path) -> None:
    head = FileStore(logs).head("raw")
    expect = f"raw:{head.seq}:{head.hash}"
    assert verify(logs, "--expect-head", expect)[0] == 0
    write_raw(logs, raw_lines(logs)[:4])
    code, out, _ = verify(logs)
    assert code == 0  # the chain alone cannot see it ...
    code, out, _ = verify(logs, "--expect-head", expect)
    assert code == 1  # ... a head kept elsewhere can
    assert "expected head seq 6" in out and "removed from its end" in out
    # The right seq with another hash (a rewritten history) fails too.
    other = FileStore(logs).head("raw")
    code, out, _ = verify(logs, "--expect-head", f"raw:{other.seq}:{'0' * 64}")
    assert code == 1 and f"line 4 (seq 4): hash {other.hash} differs" in out
    code, _, err = verify(logs, "--expect-head", "raw:x:y")
    assert code == 2 and "SEQ must be a positive integer" in err


def test_torn_tail_is_a_warning(logs: Path) -> None:
    with open(logs / "alerts_raw.jsonl", "ab") as f:
        f.write(b'{"seq":7,"id":"unfinis')
    code, out, _ = verify(logs)
    assert code == 0
    assert "raw: 6 events" in out and "raw: warning: 22 bytes after the last newline" in out


def test_unknown_stream_is_refused(logs: Path) -> None:
    code, _, err = verify(logs, "--stream", "nope")
    assert code == 2 and "nope" in err


def test_export_is_byte_identical(logs: Path) -> None:
    result = autosig("export", "--stream", "raw", "--store", f"file:{logs}")
    assert result.returncode == 0
    assert result.stdout == (logs / "alerts_raw.jsonl").read_bytes()
    with open(logs / "alerts_raw.jsonl", "ab") as f:
        f.write(b'{"seq":7,"torn')
    again = autosig("export", "--stream", "raw", "--store", f"file:{logs}")
    assert again.stdout == result.stdout  # complete lines only
    empty = autosig("export", "--stream", "worker", "--store", f"file:{logs}")
    assert empty.returncode == 0 and empty.stdout == b""
    assert autosig("export", "--stream", "nope", "--store", f"file:{logs}").returncode == 2


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_changed_byte_is_detected(logs: Path, data: st.DataObject) -> None:
    original = (logs / "alerts_raw.jsonl").read_bytes()
    # Any byte but the final newline (removing that one makes a torn tail: a truncation, which --expect-head covers).
    pos = data.draw(st.integers(0, len(original) - 2))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != original[pos]))
    try:
        (logs / "alerts_raw.jsonl").write_bytes(original[:pos] + bytes([new]) + original[pos + 1 :])
        report = verify_stream(FileStore(logs), "raw")
        assert report.problem is not None, (pos, new)
    finally:
        (logs / "alerts_raw.jsonl").write_bytes(original)
