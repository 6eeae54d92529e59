"""The parsers and `autosig reprocess`: parse throughput of v2 beside v1's over the public corpus repeated to --size
alerts (default 100k; the two run in alternating slices, so a shared machine's load falls on both alike), the worst
time for a 10 KB input, reprocess throughput on a file store holding as many raw alerts (against the bare parse rate
of the same run), and how right each version reads the public corpus and the case table: alerts read right, wrong
orders (a misreading at confidence >= 0.8, which the executor would trade) and safe misses."""

from __future__ import annotations

import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from autosig.commands.reprocess import reprocess
from autosig.events import open_store
from autosig.parsing import Alert, parser_for
from autosig.schema import RAW, payload_fields, raw_key
from benchmarks.common import Row
from tests.parsing import scoring

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "parsing" / "data" / "alerts_public.jsonl"
DEFAULT_SIZE = 100_000
MAX_SIZE = 200_000  # a --size of 1M would make this module alone take a quarter of an hour
CHUNKS = 5
VERSION = "2"  # the newest, which the worker and reprocess use by default
BASELINE = "1"
SLICE = 500  # alerts per alternating slice of v1 and v2


def _corpus() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _alerts(rows: list[dict[str, Any]], size: int) -> list[Alert]:
    """The corpus repeated to `size` alerts; replies point at their parent within the same repetition."""
    alerts: list[Alert] = []
    by_id: dict[str, Alert] = {}
    while len(alerts) < size:
        cycle = len(alerts) // len(rows)
        for row in rows:
            if len(alerts) >= size:
                break
            ident = f"{row['id']}-{cycle}"
            reply = f"{row['reply_to']}-{cycle}" if row["reply_to"] else None
            alert = Alert(row["text"], row["created_at"], ident, by_id.get(reply) if reply else None, reply)
            by_id[ident] = alert
            alerts.append(alert)
    return alerts


def _versus(alerts: list[Alert]) -> tuple[float, float]:
    """Alerts per second of v2 and of v1 over the same alerts, parsed in alternating slices (CPU time)."""
    new, old = parser_for(VERSION), parser_for(BASELINE)
    spent = {VERSION: 0.0, BASELINE: 0.0}
    clock = time.process_time
    for start in range(0, len(alerts), SLICE):
        chunk = alerts[start : start + SLICE]
        for version, parse in ((BASELINE, old), (VERSION, new)):
            began = clock()
            for alert in chunk:
                parse(alert)
            spent[version] += clock() - began
    return len(alerts) / spent[VERSION], len(alerts) / spent[BASELINE]


def _quality() -> list[Row]:
    """Right / wrong order / safe miss of v2 beside v1 on the public corpus and the case table."""
    rows = []
    for name, alerts in scoring.sets().items():
        new, old = scoring.score(VERSION, alerts), scoring.score(BASELINE, alerts)
        rows += [
            Row("parser", f"{name}: read right, v{VERSION} ({new.total} alerts)", 100 * new.right / new.total, "%",
                f"v{BASELINE} (same run)", 100 * old.right / old.total),
            Row("parser", f"{name}: wrong orders (confidence >= 0.8), v{VERSION}", new.wrong_order, "alerts",
                f"v{BASELINE} (same run)", old.wrong_order, "0", new.wrong_order == 0),
            Row("parser", f"{name}: safe misses, v{VERSION}", new.safe_miss, "alerts", f"v{BASELINE} (same run)",
                old.safe_miss),
        ]  # fmt: skip
    return rows


def _chunk_rates(alerts: list[Alert]) -> list[float]:
    """Alerts parsed per second in each of CHUNKS slices."""
    parse = parser_for(VERSION)
    step = max(1, len(alerts) // CHUNKS)
    rates = []
    for start in range(0, len(alerts), step):
        chunk = alerts[start : start + step]
        began = time.perf_counter()
        for alert in chunk:
            parse(alert)
        rates.append(len(chunk) / (time.perf_counter() - began))
    return rates


def _parse_rate(alerts: list[Alert]) -> float:
    """Median over CHUNKS slices of alerts parsed per second."""
    return statistics.median(_chunk_rates(alerts))


def _bare_rates(rows: list[dict[str, Any]], size: int) -> list[float]:
    alerts = _alerts(rows, size)
    rates = _chunk_rates(alerts)
    del alerts  # 100k live Alert objects would slow every garbage collection during the reprocess run
    gc.collect()
    return rates


def _big_inputs(rows: list[dict[str, Any]]) -> dict[str, str]:
    realistic = ""
    i = 0
    while len(realistic) < 10_240:
        realistic += (rows[i % len(rows)]["text"] or "") + "\n"
        i += 1
    return {
        "corpus texts": realistic[:10_240],
        "one alert per line": ("BTO 2 SPY 600c 1/17 @ 1.25\n" * 400)[:10_240],
        "comma list": ("BTO SPY 600c 1/17 @ 1.25, " * 400)[:10_240],
        "slashes": ("1/1/" * 2560),
        "dollars": "$" * 10_240,
        "ranges": "1.1-" * 2560,
        "leading dots": ".5" * 5120,
        "labels": "SL: PT " * 1463,
        "parentheses": "(" * 10_240,
        "one word": "a" * 10_240,
    }


def _worst_10kb(rows: list[dict[str, Any]]) -> tuple[float, str]:
    """The slowest input's median time (ms) over 5 runs each."""
    parse = parser_for(VERSION)
    worst, name_of_worst = 0.0, ""
    for name, text in _big_inputs(rows).items():
        alert = Alert(text, "2026-01-14T15:00:00Z", "big")
        times = []
        for _ in range(5):
            began = time.perf_counter()
            parse(alert)
            times.append(time.perf_counter() - began)
        median_ms = statistics.median(times) * 1000
        if median_ms > worst:
            worst, name_of_worst = median_ms, name
    return worst, name_of_worst


def _fill_store(url: str, rows: list[dict[str, Any]], size: int) -> None:
    store = open_store(url, writer="bench", fsync=False)
    batch: list[tuple] = []
    for n in range(size):
        row = rows[n % len(rows)]
        cycle = n // len(rows)
        message = {
            "id": f"{row['id']}-{cycle}",
            "content": row["text"],
            "created_at": row["created_at"],
            "updated_at": None,
            "replying_to_message_id": f"{row['reply_to']}-{cycle}" if row["reply_to"] else None,
            "user": {"id": "user_bench", "username": "bench"},
        }
        body = {"source": "whop", "channel": "chat_feed_bench", "source_id": message["id"], **payload_fields(message)}
        batch.append(("alert.received", body, None, raw_key(message)))
        if len(batch) >= 5000:
            store.append_many(RAW, batch)
            batch.clear()
    if batch:
        store.append_many(RAW, batch)
    store.close()


def run(args: Any) -> list[Row]:
    size = getattr(args, "size", None) or DEFAULT_SIZE
    if size > MAX_SIZE:
        print(f"  bench_parse: {MAX_SIZE:,} alerts instead of {size:,} (rates do not change with size)", file=sys.stderr)
        size = MAX_SIZE
    rows = _corpus()
    alerts = _alerts(rows, size)
    new_rate, old_rate = _versus(alerts)
    del alerts
    gc.collect()
    # The bare rate is measured before and after the reprocess run and the median of all slices taken, so that the
    # ratio follows the load of a shared machine rather than the moment either was measured.
    before = _bare_rates(rows, size)
    rate = statistics.median(before)
    single_ms = 1000 / rate
    worst_ms, worst_name = _worst_10kb(rows)
    with tempfile.TemporaryDirectory(prefix="autosig-bench-parse-") as tmp:
        url = f"file:{tmp}"
        _fill_store(url, rows, size)
        store = open_store(url, writer="reprocess", fsync=False)
        began = time.perf_counter()
        summary = reprocess(store, VERSION, progress=False)
        reprocess_rate = summary.appended / (time.perf_counter() - began)
        store.close()
    bare = statistics.median(before + _bare_rates(rows, size))
    return [
        Row("parser", f"parse v{VERSION}, corpus x{size // len(rows)} ({size} alerts), slices alternating with v1",
            new_rate, "alerts/s", f"parse v{BASELINE}, the same alerts (same run)", old_rate, ">= 0.8x baseline",
            new_rate >= 0.8 * old_rate),
        Row("parser", f"parse v{VERSION}, corpus x{size // len(rows)} ({size} alerts), median of {CHUNKS}", rate,
            "alerts/s"),
        Row("parser", f"worst 10 KB input ({worst_name}), median of 5", worst_ms, "ms",
            "one corpus alert (same run)", single_ms, "<= 10 ms", worst_ms <= 10),
        Row("parser", f"reprocess v{VERSION}, file store of {size} raw alerts", reprocess_rate, "alerts/s",
            "bare parse rate (same run, before and after)", bare, ">= 0.5x baseline", reprocess_rate >= 0.5 * bare),
        *_quality(),
    ]  # fmt: skip
