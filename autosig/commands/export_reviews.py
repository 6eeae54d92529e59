"""`autosig export-reviews`: every reviewed alert as a parser test case, in the corpus format, one JSON line each:

    {"id", "text", "created_at", "reply_to", "expect": {"kind", "signals"}}

The newest review of each alert is exported, oldest alert first. `expect` holds what the reviewer stated: signal
fields left empty (null, or an empty list) and the parser's own `confidence` are left out, because the corpus scorer
checks exactly the fields present. The id is the Whop message id (with `@<raw seq>` when several versions of one
edited message were reviewed).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Any

from autosig.commands._store import add_store_argument, open_from_args
from autosig.events import EventStore
from autosig.projections.reviews import ReviewsProjection
from autosig.projections.signals import time_string
from autosig.schema import RAW, RAW_TYPES, REVIEWS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    add_store_argument(parser)


def _payload(data: dict[str, Any]) -> dict[str, Any]:
    payload = data.get("payload")
    if payload is None and isinstance(data.get("payload_json"), str):
        try:
            payload = json.loads(data["payload_json"])
        except ValueError:
            payload = None
    return payload if isinstance(payload, dict) else {}


def stated(signal: dict[str, Any]) -> dict[str, Any]:
    """The fields a reviewer stated: no nulls, no empty lists, no confidence."""
    out = {}
    for key, value in signal.items():
        if key == "confidence" or value is None or value == []:
            continue
        if key == "legs" and isinstance(value, list):
            value = [{k: v for k, v in leg.items() if v is not None} if isinstance(leg, dict) else leg for leg in value]
        out[key] = value
    return out


def cases(store: EventStore) -> list[dict[str, Any]]:
    reviews = ReviewsProjection()
    for event in store.read(REVIEWS):
        reviews.apply(event)
    wanted = {r["raw_seq"]: r for r in reviews.reviews()}
    if not wanted:
        return []
    alerts: dict[int, dict[str, Any]] = {}
    last = max(wanted)
    for event in store.read(RAW):
        if event.seq > last:
            break
        if event.seq in wanted and event.type in RAW_TYPES and isinstance(event.data, dict):
            alerts[event.seq] = event.data
    sources: dict[str, int] = {}
    for review in wanted.values():
        sources[str(review.get("source_id"))] = sources.get(str(review.get("source_id")), 0) + 1
    out = []
    for raw_seq in sorted(wanted):
        data = alerts.get(raw_seq)
        if data is None:
            continue  # a review of an alert that is not in this store (should not happen): nothing to test
        review = wanted[raw_seq]
        payload = _payload(data)
        source = str(data.get("source_id"))
        expect = review.get("expect") or {}
        case_expect: dict[str, Any] = {"kind": expect.get("kind")}
        if expect.get("kind") == "signal":
            case_expect["signals"] = [stated(s) for s in expect.get("signals") or [] if isinstance(s, dict)]
        reply = payload.get("replying_to_message_id")
        out.append({
            "id": source if sources[source] == 1 else f"{source}@{raw_seq}",
            "text": payload.get("content") if isinstance(payload.get("content"), str) else "",
            "created_at": time_string(payload.get("created_at")),
            "reply_to": None if reply is None else str(reply),
            "expect": case_expect,
        })  # fmt: skip
    return out


def write(found: list[dict[str, Any]], out: IO[str]) -> None:
    for case in found:
        out.write(json.dumps(case, ensure_ascii=False) + "\n")


def run(args: argparse.Namespace) -> int:
    with open_from_args(args, writer="export-reviews") as store:
        found = cases(store)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            write(found, f)
    else:
        write(found, sys.stdout)
        sys.stdout.flush()
    print(f"{len(found)} reviewed alert(s) exported", file=sys.stderr)
    return 0
