"""What every part needs to know about a raw alert event's body (DESIGN §3, §4): its payload, its idempotency key,
and its timestamps. Kept in one place so the worker, the parser pipeline and the projections agree."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import orjson

# Epoch values above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 100_000_000_000
# An epoch as a string: what float() reads, except the words it also takes ("nan", "inf", "1_000")
_EPOCH = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def payload_of(data: dict[str, Any]) -> dict[str, Any]:
    """The message as received: `payload`, or `payload_json` decoded by the standard library (lone surrogates,
    integers beyond 64 bits) when orjson could not encode it."""
    if "payload" in data:
        return data["payload"]
    return json.loads(data["payload_json"])


def payload_fields(message: dict[str, Any]) -> dict[str, Any]:
    """The event body fields carrying `message`: {"payload": …}, or {"payload_json": …} when orjson cannot encode it."""
    try:
        orjson.dumps(message)
        return {"payload": message}
    except TypeError:
        return {"payload_json": json.dumps(message, ensure_ascii=True)}


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def version_tag(message: dict[str, Any]) -> str:
    """First 16 hex of sha256(content + "\\n" + updated_at) — which version of a message this is."""
    stamp = message.get("updated_at")
    if stamp is None:
        stamp = message.get("created_at")
    text = _as_text(message.get("content")) + "\n" + _as_text(stamp)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def raw_key(message: dict[str, Any]) -> str:
    return f"whop:{_as_text(message.get('id'))}:{version_tag(message)}"


def parse_key(raw_seq: int, parser_version: str) -> str:
    return f"parse:{raw_seq}:{parser_version}"


def to_utc(value: Any) -> datetime | None:
    """A Whop timestamp (ISO 8601, or epoch seconds / milliseconds as number or string) as an aware UTC datetime;
    None when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if not _EPOCH.fullmatch(text):  # ISO 8601, the usual case: tried first, as a failed float() is slow
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                return None
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        value = float(text)
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _MS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None
