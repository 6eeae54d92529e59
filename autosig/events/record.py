"""The record format, byte for byte (docs/ARCHITECTURE.md, "The event log").

A line is the orjson serialization of {seq, id, type, key, ts, data, meta, prev} (in that order) with
`,"hash":"<sha256 of those bytes>"` inserted before the final `}`, then `\n`. Verification always works on the
bytes as written, never on a re-serialization, so any reader in any language can check a stream.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

ZERO_HASH = "0" * 64
_HASH_FIELD = b',"hash":"'
# `,"hash":"` + 64 hex + `"}`
_HASH_SUFFIX_LEN = len(_HASH_FIELD) + 64 + 2


class RecordError(ValueError):
    """A line that is not a valid AutoSig record."""


# Not frozen: a frozen dataclass's __init__ costs about three times as much per event, and replaying a stream is
# dominated by per-event overhead. Treat events as immutable all the same; nothing may modify one.
@dataclass(slots=True, eq=True)
class Event:
    seq: int
    id: str
    type: str
    key: str | None
    ts: str
    data: dict[str, Any]
    meta: dict[str, Any]
    prev: str
    hash: str
    line: bytes  # the exact bytes written, including the trailing newline


def encode(
    seq: int,
    id: str,
    type: str,
    key: str | None,
    ts: str,
    data: dict[str, Any],
    meta: dict[str, Any],
    prev: str,
) -> Event:
    """Builds the record and its line. Raises TypeError when orjson cannot encode `data` or `meta`."""
    body = orjson.dumps(
        {"seq": seq, "id": id, "type": type, "key": key, "ts": ts, "data": data, "meta": meta, "prev": prev}
    )
    digest = hashlib.sha256(body).hexdigest()
    line = body[:-1] + _HASH_FIELD + digest.encode() + b'"}\n'
    return Event(seq, id, type, key, ts, data, meta, prev, digest, line)


def split_hash(line: bytes) -> tuple[bytes, str]:
    """Returns (body, stated hash) of a line; raises RecordError when the line does not end in a hash field."""
    stripped = line[:-1] if line.endswith(b"\n") else line
    cut = len(stripped) - _HASH_SUFFIX_LEN
    if cut < 1 or not stripped.endswith(b'"}'):
        raise RecordError("no hash field at the end of the line")
    if stripped[cut : cut + len(_HASH_FIELD)] != _HASH_FIELD:
        raise RecordError("no hash field at the end of the line")
    stated = stripped[cut + len(_HASH_FIELD) : -2].decode("ascii", "replace")
    return stripped[:cut] + b"}", stated


def line_hash_ok(line: bytes) -> bool:
    body, stated = split_hash(line)
    return hashlib.sha256(body).hexdigest() == stated


def decode(line: bytes) -> Event:
    """Parses one complete line (with or without its newline). Checks shape, not the hash (see line_hash_ok)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise RecordError("not a JSON object")
    try:
        seq = obj["seq"]
        event = Event(
            seq,
            obj["id"],
            obj["type"],
            obj["key"],
            obj["ts"],
            obj["data"],
            obj["meta"],
            obj["prev"],
            obj["hash"],
            line if line.endswith(b"\n") else line + b"\n",
        )
    except KeyError as exc:
        raise RecordError(f"missing field {exc.args[0]!r}") from None
    if type(seq) is not int or seq < 1:
        raise RecordError("seq is not a positive integer")
    return event
