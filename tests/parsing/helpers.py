"""Shared by the parsing tests: the corpus files, the scorer, and running `autosig parse` as a real process."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from autosig.parsing import newest_version

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "alerts_public.jsonl"
CHECKER = DATA / "check_corpus.py"
ROOT = Path(__file__).resolve().parents[2]


def checker() -> Any:
    spec = importlib.util.spec_from_file_location("check_corpus", CHECKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def corpus_lines(cases: list[dict[str, Any]]) -> str:
    return "".join(json.dumps({k: c[k] for k in ("id", "text", "created_at", "reply_to")}) + "\n" for c in cases)


def run_cli(
    args: list[str], stdin: str = "", env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "autosig", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=ROOT,
    )


PLUGINS = Path(__file__).parent / "plugins"
PLUGIN_MODULE = "autosig_test_parser_v90"
PLUGIN_VERSION = "90"
# The newest real version, which the test plugin answers like (and which reprocess compares it with).
BASE_VERSION = newest_version()


def plugin_env(**extra: str) -> dict[str, str]:
    """Environment that registers the test plugin (parser version 90) in a subprocess."""
    path = os.pathsep.join(p for p in (str(PLUGINS), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "AUTOSIG_EXTRA_PARSERS": PLUGIN_MODULE, "AUTOSIG_FSYNC": "never", **extra}


def message(
    mid: str,
    text: str | None,
    created_at: str = "2026-01-14T15:00:00Z",
    reply_to: str | None = None,
    updated_at: str | None = None,
    user: str = "user_ana",
) -> dict[str, Any]:
    """A Whop message as the worker records it."""
    return {
        "id": mid,
        "content": text,
        "created_at": created_at,
        "updated_at": updated_at,
        "is_edited": updated_at is not None,
        "message_type": "regular",
        "replying_to_message_id": reply_to,
        "user": {"id": user, "username": user.replace("user_", ""), "name": user},
    }


def raw_item(msg: dict[str, Any], edited: bool = False, channel: str = "chat_feed_test") -> tuple:
    """The raw event the worker appends for this message (built by the schema's constructors, as the worker does)."""
    from autosig.schema import alert_edited, alert_received

    return alert_edited(channel, msg) if edited else alert_received(channel, msg)
