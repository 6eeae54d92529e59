"""`autosig reprocess` with one more parser version registered by the test plugin (tests/parsing/plugins)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import orjson
import pytest

from autosig.events import open_store
from autosig.schema import PARSED, RAW
from autosig.stages.parse import ParseContext

from .cases import cases
from .helpers import (
    BASE_VERSION,
    PLUGIN_MODULE,
    PLUGIN_VERSION,
    PLUGINS,
    ROOT,
    message,
    plugin_env,
    raw_item,
    run_cli,
)


def _fill(log_dir, count: int) -> int:
    """`count` raw events: the rule-case texts over and over, with replies and edits mixed in."""
    texts = [c["text"] for c in cases()]
    items = []
    for i in range(count):
        if i % 10 == 9:
            items.append(raw_item(message(f"m{i}", "trim 2.10", reply_to=f"m{i - 1}")))
        elif i % 10 == 8 and i > 20:
            items.append(
                raw_item(
                    message(f"m{i - 20}", texts[(i * 37) % len(texts)], updated_at=f"2026-01-14T16:{i % 60:02}:00Z"),
                    edited=True,
                )
            )
        else:
            items.append(raw_item(message(f"m{i}", texts[(i * 37) % len(texts)])))
    store = open_store(f"file:{log_dir}", writer="test", fsync=False)
    store.append_many(RAW, items)
    return store.last_seq(RAW)


def _parsed(log_dir) -> list[dict]:
    path = log_dir / "alerts_parsed.jsonl"
    if not path.exists():
        return []
    data = path.read_bytes()
    return [orjson.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines()]


def _assert_exactly_one_parse_each(log_dir, raw_count: int, version: str) -> list[dict]:
    mine = [e for e in _parsed(log_dir) if e["data"]["parser_version"] == version]
    seqs = Counter(e["data"]["raw_seq"] for e in mine)
    assert sorted(seqs) == list(range(1, raw_count + 1)), "a raw event has no parse"
    assert max(seqs.values()) == 1, "a raw event was parsed twice"
    assert all(e["key"] == f"parse:{e['data']['raw_seq']}:{version}" for e in mine)
    return mine


def _verify(log_dir) -> None:
    done = run_cli(["verify"], env={"AUTOSIG_LOG_DIR": str(log_dir), "AUTOSIG_STORE_URL": ""})
    assert done.returncode == 0, done.stdout + done.stderr


def test_reprocess_appends_one_parse_per_raw_event_and_a_rerun_appends_nothing(log_dir):
    raw_count = _fill(log_dir, 120)
    url = f"file:{log_dir}"
    first = run_cli(["reprocess", "--parser-version", BASE_VERSION, "--store", url], env=plugin_env())
    assert first.returncode == 0, first.stderr
    second = run_cli(["reprocess", "--parser-version", PLUGIN_VERSION, "--store", url], env=plugin_env())
    assert second.returncode == 0, second.stderr
    mine = _assert_exactly_one_parse_each(log_dir, raw_count, PLUGIN_VERSION)
    _assert_exactly_one_parse_each(log_dir, raw_count, BASE_VERSION)
    assert {e["meta"]["writer"] for e in mine} == {"reprocess"}
    # the summary compares with the version below: the plugin changes every non-signal reason and nothing else
    non_signals = sum(1 for e in mine if e["data"]["kind"] == "non_signal")
    assert f"{raw_count} parses appended" in second.stdout
    assert f"changed against v{BASE_VERSION}: {non_signals} of {raw_count}" in second.stdout
    assert f"v{BASE_VERSION}: non_signal (" in second.stdout and "v90: non_signal (v90: " in second.stdout
    assert "%" in second.stderr  # tqdm progress goes to stderr
    size = (log_dir / "alerts_parsed.jsonl").stat().st_size
    rerun = run_cli(["reprocess", "--parser-version", PLUGIN_VERSION, "--store", url], env=plugin_env())
    assert rerun.returncode == 0
    assert "0 parses appended" in rerun.stdout and f"{raw_count} already parsed" in rerun.stdout
    assert (log_dir / "alerts_parsed.jsonl").stat().st_size == size
    _verify(log_dir)


def test_reprocess_results_equal_a_fresh_parse_of_the_history(log_dir):
    """Reproducible: what reprocess appends is what parsing the raw stream from the start gives."""
    raw_count = _fill(log_dir, 60)
    done = run_cli(["reprocess", "--parser-version", "1", "--store", f"file:{log_dir}", "--quiet"])
    assert done.returncode == 0, done.stderr
    store = open_store(f"file:{log_dir}", fsync=False)
    ctx = ParseContext()
    expected = {}
    for raw in store.read(RAW):
        ctx.add(raw)
        expected[raw.seq] = ctx.parse(raw, "1")
    got = {e.data["raw_seq"]: e.data for e in store.read(PARSED)}
    assert len(got) == raw_count and got == expected


def test_reprocess_killed_midway_then_rerun_has_no_gap_or_duplicate(log_dir):
    raw_count = _fill(log_dir, 400)
    env = {**os.environ, **plugin_env(AUTOSIG_TEST_PARSER_DELAY="0.01")}
    cmd = [
        sys.executable,
        "-m",
        "autosig",
        "reprocess",
        "--parser-version",
        PLUGIN_VERSION,
        "--store",
        f"file:{log_dir}",
        "--batch",
        "20",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(_parsed(log_dir)) < 60:
            assert proc.poll() is None, "reprocess ended before it could be killed"
            assert time.monotonic() < deadline, "reprocess made no progress"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    partial = len(_parsed(log_dir))
    assert 0 < partial < raw_count
    done = run_cli(["reprocess", "--parser-version", PLUGIN_VERSION, "--store", f"file:{log_dir}"], env=plugin_env())
    assert done.returncode == 0, done.stderr
    assert f"{raw_count - partial} parses appended" in done.stdout
    _assert_exactly_one_parse_each(log_dir, raw_count, PLUGIN_VERSION)
    _verify(log_dir)


def test_unknown_version_is_refused(log_dir):
    done = run_cli(["reprocess", "--parser-version", "42", "--store", f"file:{log_dir}"])
    assert done.returncode == 2 and "42" in done.stderr


def test_in_process_registration_by_monkeypatching(monkeypatch, log_dir):
    from autosig import parsing
    from autosig.commands.reprocess import reprocess

    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setattr(parsing, "_extra", parsing._extra)  # the registration ends with the test
    parsing.register([PLUGIN_MODULE])
    assert parsing.versions()[-1] == PLUGIN_VERSION
    raw_count = _fill(log_dir, 30)
    store = open_store(f"file:{log_dir}", writer="reprocess", fsync=False)
    summary = reprocess(store, PLUGIN_VERSION, progress=False)
    assert summary.appended == raw_count and summary.previous == BASE_VERSION and summary.compared == 0
    assert sum(summary.kinds.values()) == raw_count
    again = reprocess(store, PLUGIN_VERSION, progress=False)
    assert again.appended == 0 and again.already == raw_count
    assert store.last_seq(PARSED) == raw_count


@pytest.mark.slow
def test_reprocess_beside_a_live_worker_loses_and_duplicates_nothing(tmp_path, log_dir, monkeypatch):
    """The worker ingests from the simulator (which keeps publishing) and parses with v1, while reprocess runs the
    test plugin's version over and over on the same streams."""
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "worker"))
    from worker_harness import TOKEN, WorkerProc, verify_chain, wait_until

    from autosig.sources.simulator import Simulator

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    sim = Simulator(TOKEN, history=30, seed=11).start()
    worker = WorkerProc(log_dir, sim.url, out_dir, AUTOSIG_PARSER_VERSION="1")
    stop = threading.Event()

    def publish() -> None:
        n = 0
        while not stop.is_set():
            sim.publish_many(1, prefix=f"live-{n}")
            n += 1
            stop.wait(0.01)

    publisher = threading.Thread(target=publish, daemon=True)
    try:
        wait_until(lambda: (log_dir / "alerts_raw.jsonl").exists(), 30, what="first raw events")
        publisher.start()
        env = plugin_env()
        for _ in range(4):
            done = run_cli(
                ["reprocess", "--parser-version", PLUGIN_VERSION, "--store", f"file:{log_dir}", "--batch", "7"], env=env
            )
            assert done.returncode == 0, done.stderr
        stop.set()
        publisher.join(10)
        total = len(sim.messages())
        wait_until(lambda: len({e["data"]["source_id"] for e in _raw(log_dir)}) >= total, 30, what="worker catch-up")
        rc, _ = worker.terminate()
        assert rc == 0, worker.stderr()
        final = run_cli(["reprocess", "--parser-version", PLUGIN_VERSION, "--store", f"file:{log_dir}"], env=env)
        assert final.returncode == 0, final.stderr
    finally:
        stop.set()
        worker.ensure_dead()
        sim.stop()
    raw_count = len(_raw(log_dir))
    assert raw_count >= total > 60
    _assert_exactly_one_parse_each(log_dir, raw_count, PLUGIN_VERSION)
    _assert_exactly_one_parse_each(log_dir, raw_count, "1")
    writers = Counter((e["data"]["parser_version"], e["meta"]["writer"]) for e in _parsed(log_dir))
    assert writers[("1", "worker")] > 0 and writers[(PLUGIN_VERSION, "reprocess")] > 0
    # the parses were interleaved: reprocess appended while the worker was still appending
    order = [e["meta"]["writer"] for e in _parsed(log_dir)]
    first_reprocess = order.index("reprocess")
    assert "worker" in order[first_reprocess:]
    for stream in ("raw", "parsed", "worker"):
        verify_chain(log_dir, stream)


def _raw(log_dir) -> list[dict]:
    path = log_dir / "alerts_raw.jsonl"
    if not path.exists():
        return []
    data = path.read_bytes()
    return [orjson.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines()]
