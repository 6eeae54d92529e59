"""Raw alert events (`raw`) and their parses (`parsed`): bodies, idempotency keys and the payload they carry.

A raw body is {"source": "whop", "channel", "source_id", "payload": <the message as received>}; when orjson cannot
encode the decoded message (a lone surrogate, an integer beyond 64 bits) it carries "payload_json" instead: the
message re-serialized by the standard library with ensure_ascii=True, which restores it exactly.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

from autosig.schema.draft import Draft
from autosig.schema.types import ALERT_EDITED, ALERT_PARSED, ALERT_RECEIVED

RAW_TYPES = frozenset({ALERT_RECEIVED, ALERT_EDITED})


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


def message_id(message: dict[str, Any]) -> str:
    """The message id as text, the same way raw_key writes it."""
    return _as_text(message.get("id"))


def version_tag(message: dict[str, Any]) -> str:
    """First 16 hex of sha256(content + "\\n" + updated_at) — which version of a message this is (created_at when
    there is no updated_at), so every edit is a new event, even one that restores earlier text."""
    stamp = message.get("updated_at")
    if stamp is None:
        stamp = message.get("created_at")
    text = _as_text(message.get("content")) + "\n" + _as_text(stamp)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def raw_key(message: dict[str, Any]) -> str:
    """whop:<message id>:<version tag>."""
    return f"whop:{message_id(message)}:{version_tag(message)}"


def parse_key(raw_seq: int, parser_version: str) -> str:
    """parse:<raw seq>:<parser version>."""
    return f"parse:{raw_seq}:{parser_version}"


def _raw(type_: str, channel: str, message: dict[str, Any]) -> Draft:
    data = {"source": "whop", "channel": channel, "source_id": message_id(message), **payload_fields(message)}
    return Draft(type_, data, None, raw_key(message))


def alert_received(channel: str, message: dict[str, Any]) -> Draft:
    """The first recorded version of a Whop message."""
    return _raw(ALERT_RECEIVED, channel, message)


def alert_edited(channel: str, message: dict[str, Any]) -> Draft:
    """A later version of a recorded message whose content or updated_at differs from the latest recorded one."""
    return _raw(ALERT_EDITED, channel, message)


def alert_parsed(
    raw_seq: int,
    source_id: str | None,
    parser_version: str,
    result: dict[str, Any],
) -> Draft:
    """The parse of raw event `raw_seq` by `parser_version`: result is {"kind", "reason", "signals"} (more fields are
    kept). Idempotent under parse:<raw seq>:<version>."""
    data = {"raw_seq": raw_seq, "source_id": source_id, "parser_version": parser_version, **result}
    return Draft(ALERT_PARSED, data, None, parse_key(raw_seq, parser_version))
