"""Stream names and, for the file store, the file each stream lives in."""

from __future__ import annotations

RAW = "raw"  # alert.received / alert.edited: Whop messages verbatim, never altered
PARSED = "parsed"  # alert.parsed: one per (raw event, parser version)
WORKER = "worker"  # worker.started / worker.stopped / poll.completed / poll.failed
ORDERS = "orders"  # the executor's decisions, submissions, fills and positions
CONTROL = "control"  # execution.paused / execution.resumed
INBOX = "inbox"  # verified Whop webhook deliveries: wake-ups for the worker, never a second truth
REVIEWS = "reviews"  # reviewers' readings of alerts
NOTIFICATIONS = "notifications"  # delivered alarms, so a restart never resends one

# The streams every store lists even before they hold an event.
STREAMS = (RAW, PARSED, WORKER)
# File names of the file store; any other stream is stored as <stream>.jsonl.
STREAM_FILES = {RAW: "alerts_raw.jsonl", PARSED: "alerts_parsed.jsonl", WORKER: "worker.jsonl"}


def stream_file(stream: str) -> str:
    """The file store's file name for a stream."""
    return STREAM_FILES.get(stream, f"{stream}.jsonl")
