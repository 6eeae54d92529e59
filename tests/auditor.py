"""An independent verifier of AutoSig streams: the recipe an auditor would follow, using only the standard library.

It deliberately shares no code with AutoSig, so a bug in the store's own encoder or verifier cannot hide itself.
"""

from __future__ import annotations

import hashlib
import json
import re

FIELDS = ["seq", "id", "type", "key", "ts", "data", "meta", "prev", "hash"]
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def audit(data: bytes) -> list[dict]:
    """Checks a whole stream file's bytes; returns the parsed records or raises AssertionError naming the line."""
    assert data == b"" or data.endswith(b"\n"), "the stream does not end with a newline"
    records = []
    prev = "0" * 64
    for number, line in enumerate(data.split(b"\n")[:-1], 1):
        where = f"line {number}"
        record = json.loads(line.decode("utf-8"))
        assert list(record) == FIELDS, f"{where}: fields {list(record)}"
        assert record["seq"] == number, f"{where}: seq {record['seq']}"
        assert record["prev"] == prev, f"{where}: prev does not chain"
        assert HEX64.match(record["hash"]), f"{where}: hash is not 64 lowercase hex"
        suffix = b',"hash":"' + record["hash"].encode() + b'"}'
        assert line.endswith(suffix), f"{where}: the line does not end with its hash field"
        body = line[: -len(suffix)] + b"}"
        assert hashlib.sha256(body).hexdigest() == record["hash"], f"{where}: hash mismatch"
        assert b"\n" not in line and b"\r" not in line, f"{where}: raw line break inside a record"
        assert TS.match(record["ts"]), f"{where}: ts {record['ts']!r}"
        assert isinstance(record["id"], str) and record["id"], f"{where}: id"
        assert record["key"] is None or isinstance(record["key"], str), f"{where}: key"
        assert isinstance(record["data"], dict) and isinstance(record["meta"], dict), f"{where}: data/meta"
        assert {"host", "pid", "writer"} <= set(record["meta"]), f"{where}: meta lacks host/pid/writer"
        # Compact serialization: no whitespace between tokens (a re-serialization with json must find the same keys).
        assert not line.startswith(b"{ ") and b'"seq": ' not in line, f"{where}: not compact"
        prev = record["hash"]
        records.append(record)
    return records
