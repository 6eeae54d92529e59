"""A worker SIGKILLed between its raw and parsed appends on a young store, while `autosig reprocess` of a second
parser version runs: the next worker must still parse those raw events with its own version (no parse hole)."""

from __future__ import annotations

import os
import subprocess
import sys

from worker.worker_harness import TOKEN, WorkerProc, of_type, wait_polls

from autosig.events import open_store
from autosig.schema import payload_fields, raw_key
from autosig.sources.simulator import Simulator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGINS = os.path.join(ROOT, "tests", "parsing", "plugins")


def test_raw_events_of_a_killed_worker_get_the_active_versions_parse_despite_a_reprocess(tmp_path, log_dir):
    sim = Simulator(TOKEN, history=0, seed=4).start()
    try:
        messages = sim.publish_many(5)
        # what a worker killed right after its first raw append leaves behind (exactly its events and keys)
        store = open_store(f"file:{log_dir}", writer="worker", fsync=False)
        items = [("alert.received", {"source": "whop", "channel": sim.channel, "source_id": m["id"],
                                     **payload_fields(m)}, None, raw_key(m)) for m in messages]
        store.append_many("raw", items)
        store.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOSIG_")}
        env.update(PYTHONPATH=os.pathsep.join(p for p in (PLUGINS, env.get("PYTHONPATH", "")) if p),
                   AUTOSIG_EXTRA_PARSERS="autosig_test_parser_v90", AUTOSIG_LOG_DIR=str(log_dir), AUTOSIG_FSYNC="never")
        done = subprocess.run([sys.executable, "-m", "autosig", "reprocess", "--parser-version", "90", "--quiet"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        out = tmp_path / "out"
        out.mkdir()
        w = WorkerProc(log_dir, sim.url, out, AUTOSIG_PARSER_VERSION="1")
        try:
            wait_polls(log_dir, 2)
        finally:
            assert w.terminate()[0] == 0
    finally:
        sim.stop()
    v1 = sorted(p["data"]["raw_seq"] for p in of_type(log_dir, "parsed", "alert.parsed")
                if p["data"]["parser_version"] == "1")
    assert v1 == [1, 2, 3, 4, 5], f"raw events without a parse by the active version: {sorted({1, 2, 3, 4, 5} - set(v1))}"
