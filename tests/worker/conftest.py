from __future__ import annotations

import pytest
from worker_harness import TOKEN, WorkerProc

from autosig.sources.simulator import Simulator


@pytest.fixture
def sim():
    s = Simulator(TOKEN, history=0, seed=7).start()
    yield s
    s.stop()


@pytest.fixture
def workers(tmp_path, log_dir):
    """Starts worker subprocesses (kills any still running at the end): workers(url, **env) -> WorkerProc."""
    started: list[WorkerProc] = []
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def start(url: str, **env: str) -> WorkerProc:
        w = WorkerProc(log_dir, url, out_dir, **env)
        started.append(w)
        return w

    start.out_dir = out_dir
    start.all = started
    yield start
    for w in started:
        w.ensure_dead()
