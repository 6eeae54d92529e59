"""Large realistic event logs for the benchmarks, written fast and deleted afterwards.

    with generated_log(1_000_000) as log:      # a temporary directory holding the three streams
        ... log.directory, log.size ...        # log.size may be smaller than asked when the disk is short

N raw alerts cycle through the simulator's bundled alerts (autosig/sources/data/alerts.jsonl: their texts, authors
and reply chains), shaped like the Whop messages the worker records; every 20th is an edit of the one before.
Each has its parse by parser v1 (the parse of each bundled alert is computed once and reused, so the parses are real
but generation stays fast), and the worker stream has a worker.started and one poll.completed per 20 alerts.
Lines are encoded directly with the record format (the hash chain is valid) and written without fsync.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autosig.events.record import ZERO_HASH, encode
from autosig.parsing import Alert, parser_for
from autosig.schema import STREAM_FILES, parse_key, raw_key
from autosig.sources.simulator import load_corpus

CHANNEL = "chat_feed_1CTsQpXzDy7nbhbD3fVNNc"
PARSER_VERSION = "1"
EDIT_EVERY = 20  # every 20th raw alert is an edit of the message before it
POLL_EVERY = 20  # one poll.completed per 20 raw alerts
# Bytes on disk per raw alert (raw line + parse line + its share of the worker stream), measured; used to check the
# free space before writing.
BYTES_PER_ALERT = 1600
T0 = 1_767_600_000  # 2026-01-05, the first message's created_at (epoch seconds)
_AUTHORS = {
    "ana_trades": {"id": "user_sim_ana", "username": "ana_trades", "name": "Ana"},
    "benflow": {"id": "user_sim_ben", "username": "benflow", "name": "Ben"},
    "cal_options": {"id": "user_sim_cal", "username": "cal_options", "name": "Cal"},
}
_META = {"host": "bench", "pid": 1, "writer": "worker"}


@dataclass
class Log:
    directory: Path
    size: int  # raw alerts written
    seconds: float  # time taken to write them

    def path(self, stream: str) -> Path:
        return self.directory / STREAM_FILES[stream]


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def _write(path: Path, records: Iterable[tuple[str, str | None, str, dict[str, Any]]]) -> None:
    """Writes (type, key, ts, data) records as a stream with a valid hash chain."""
    prev = ZERO_HASH
    with open(path, "wb", buffering=1 << 20) as f:
        for seq, (type_, key, ts, data) in enumerate(records, 1):
            ev = encode(seq, f"00000000-0000-4000-8000-{seq:012x}", type_, key, ts, data, _META, prev)
            f.write(ev.line)
            prev = ev.hash


def _corpus_parses(corpus: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parser v1's result for each bundled alert in its reply context, computed once."""
    parse = parser_for(PARSER_VERSION)
    alerts: dict[str, Alert] = {}
    out = []
    for i, entry in enumerate(corpus):
        reply = entry.get("reply_to")
        alert = Alert(entry["text"], _iso(T0 + i * 30), entry["id"], alerts.get(reply) if reply else None, reply)
        alerts[entry["id"]] = alert
        out.append(parse(alert))
    return out


def signal_tickers() -> list[str]:
    """Tickers that carry signals in a generated log, most frequent first (each repeats once per corpus cycle)."""
    counts: dict[str, int] = {}
    for body in _corpus_parses(load_corpus()):
        for signal in body.get("signals") or []:
            if signal.get("ticker"):
                counts[signal["ticker"]] = counts.get(signal["ticker"], 0) + 1
    return sorted(counts, key=lambda t: (-counts[t], t))


def write_log(directory: Path, n: int) -> None:
    """Writes n raw alerts, their parses and the worker's poll events into `directory` (which must exist)."""
    corpus = load_corpus()
    parses = _corpus_parses(corpus)
    # message i is made from corpus entry i % len(corpus), except edits, which re-post the previous message
    ids: list[str] = []

    def raw() -> Iterator[tuple[str, str | None, str, dict[str, Any]]]:
        latest_of_entry: dict[str, str] = {}  # corpus id -> message id of its latest posting
        message: dict[str, Any] = {}
        for i in range(n):
            entry = corpus[i % len(corpus)]
            created = T0 + i * 30
            if i % EDIT_EVERY == EDIT_EVERY - 1 and message:
                message = {**message, "content": message["content"] + " (edit: filled)", "is_edited": True,
                           "updated_at": _iso(created)}  # fmt: skip
                kind = "alert.edited"
            else:
                mid = f"post_1CUx{i:012d}"
                reply = entry.get("reply_to")
                message = {
                    "id": mid,
                    "content": entry["text"],
                    "created_at": _iso(created),
                    "updated_at": _iso(created),
                    "is_edited": False,
                    "is_pinned": False,
                    "message_type": "regular",
                    "replying_to_message_id": latest_of_entry.get(reply) if reply else None,
                    "user": _AUTHORS.get(entry.get("author"), _AUTHORS["benflow"]),
                    "view_count": 3 + i % 397,
                    "reaction_counts": [],
                    "poll": None,
                    "poll_votes": [],
                }
                latest_of_entry[entry["id"]] = mid
                kind = "alert.received"
            ids.append(message["id"])
            data = {"source": "whop", "channel": CHANNEL, "source_id": message["id"], "payload": message}
            yield kind, raw_key(message), _iso(created + 0.5), data

    def parsed() -> Iterator[tuple[str, str | None, str, dict[str, Any]]]:
        for i in range(n):
            body = parses[i % len(corpus)]
            data = {"raw_seq": i + 1, "source_id": ids[i], "parser_version": PARSER_VERSION, **body}
            yield "alert.parsed", parse_key(i + 1, PARSER_VERSION), _iso(T0 + i * 30 + 0.6), data

    def worker() -> Iterator[tuple[str, str | None, str, dict[str, Any]]]:
        settings = {"poll_interval_seconds": 30, "stale_after_seconds": 90, "parser_version": PARSER_VERSION,
                    "dry_run": True, "live_trading": False, "channels": [CHANNEL]}  # fmt: skip
        yield "worker.started", None, _iso(T0 - 1), settings
        for i in range(0, n, POLL_EVERY):
            done = min(POLL_EVERY, n - i)
            body = {"new": done, "edited": 0, "pages": 1, "http_status": 200, "duration_ms": 80.0, "gap": False,
                    "initial": i == 0}  # fmt: skip
            yield "poll.completed", None, _iso(T0 + (i + done) * 30), body

    _write(directory / STREAM_FILES["raw"], raw())
    _write(directory / STREAM_FILES["parsed"], parsed())
    _write(directory / STREAM_FILES["worker"], worker())


def fitting_size(n: int, where: Path, *, copies: int = 1) -> int:
    """n, or fewer alerts when the free disk at `where` cannot hold `copies` logs of n alerts with room to spare
    (says so on stderr)."""
    free = shutil.disk_usage(where).free
    room = int(free * 0.5) // (BYTES_PER_ALERT * copies)  # leave half the free space to everyone else
    if room >= n:
        return n
    smaller = max(1000, room // 1000 * 1000)
    print(
        f"  only {free / 1e9:.1f} GB free at {where}: generating {smaller:,} raw alerts instead of {n:,}",
        file=sys.stderr,
        flush=True,
    )
    return smaller


@contextmanager
def generated_log(n: int, *, prefix: str = "autosig-bench-") -> Iterator[Log]:
    """A temporary directory with a generated log of (up to) n raw alerts; deleted on exit."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        size = fitting_size(n, base)
        began = time.perf_counter()
        write_log(base, size)
        took = time.perf_counter() - began
        print(f"  generated {size:,} raw alerts + parses + polls in {took:.1f} s", file=sys.stderr, flush=True)
        yield Log(base, size, took)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    import argparse

    cli = argparse.ArgumentParser(description="write a generated log into a directory (kept)")
    cli.add_argument("directory", type=Path)
    cli.add_argument("--size", type=int, default=200_000)
    args = cli.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    count = fitting_size(args.size, args.directory)
    write_log(args.directory, count)
    print(f"{count:,} raw alerts in {time.perf_counter() - started:.1f} s -> {args.directory}")
