"""Reviewers' readings of alerts (`reviews`) — the body is built and validated by autosig.projections.reviews."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from autosig.schema.draft import Draft
from autosig.schema.types import REVIEW_RECORDED


def canonical(body: dict[str, Any]) -> bytes:
    """One byte string per reading, whatever the order of its keys."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def review_key(raw_seq: int, body: dict[str, Any]) -> str:
    """review:<raw seq>:<16 hex of sha256 of the reading>: recording the same reading twice is one event."""
    return f"review:{raw_seq}:{hashlib.sha256(canonical(body)).hexdigest()[:16]}"


def review_recorded(data: dict[str, Any]) -> Draft:
    """A review as built by build_review (with `reviewer` added); keyed by what it says, not who said it."""
    key = review_key(data["raw_seq"], {k: data[k] for k in ("raw_seq", "expect", "note")})
    return Draft(REVIEW_RECORDED, data, None, key)
