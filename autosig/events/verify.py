"""Checking a stream the way an auditor would (docs/ARCHITECTURE.md, "The event log"; the README, "Commands"): JSON validity, field order, seq continuity and the
hash chain, over the exact stored bytes. Works through the EventStore interface, so any store can be verified."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from autosig.events.base import EventStore
from autosig.events.record import ZERO_HASH, RecordError, split_hash

FIELDS = ["seq", "id", "type", "key", "ts", "data", "meta", "prev", "hash"]


@dataclass(frozen=True)
class ExpectedHead:
    stream: str
    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> ExpectedHead:
        """STREAM:SEQ:HASH, as printed by verify. Raises ValueError when malformed."""
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not parts[0]:
            raise ValueError(f"{text!r} is not STREAM:SEQ:HASH")
        stream, seq, digest = parts
        if not seq.isdigit() or int(seq) < 1:
            raise ValueError(f"{text!r}: SEQ must be a positive integer")
        digest = digest.lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"{text!r}: HASH must be 64 hex digits")
        return cls(stream, int(seq), digest)


@dataclass
class StreamReport:
    stream: str
    events: int = 0
    head_seq: int = 0
    head_hash: str = ZERO_HASH
    problem: str | None = None  # "line N (seq S): …" for the first bad line
    expect_failures: list[str] = field(default_factory=list)
    torn_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.expect_failures

    def lines(self) -> list[str]:
        """Human-readable result lines, problems first."""
        out = []
        if self.problem is not None:
            out.append(f"{self.stream}: {self.problem}")
        out.extend(f"{self.stream}: {failure}" for failure in self.expect_failures)
        if self.problem is None:
            if self.events:
                out.append(f"{self.stream}: {self.events} events, head seq {self.head_seq} hash {self.head_hash}")
            else:
                out.append(f"{self.stream}: 0 events (empty)")
        if self.torn_bytes:
            out.append(
                f"{self.stream}: warning: {self.torn_bytes} bytes after the last newline (an unfinished write; "
                "readers ignore them and the next writer moves them to a .torn-* file)"
            )
        return out


def _seq_of(line: bytes) -> str:
    """The seq a damaged line claims, for the message; '?' when even that is unreadable."""
    if line.startswith(b'{"seq":'):
        end = line.find(b",", 7, 40)
        if end > 7 and line[7:end].isdigit():
            return line[7:end].decode()
    return "?"


def check_line(line: bytes, expected_seq: int, prev_hash: str) -> tuple[int, str, str | None]:
    """(seq, hash, problem or None) of one complete line, given the seq and hash the chain expects."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return 0, "", f"invalid JSON ({exc})"
    if not isinstance(obj, dict):
        return 0, "", "not a JSON object"
    if list(obj) != FIELDS:
        return 0, "", f"fields are not exactly {', '.join(FIELDS)} in that order"
    seq, stated_prev, stated = obj["seq"], obj["prev"], obj["hash"]
    if type(seq) is not int:
        return 0, "", "seq is not an integer"
    if seq != expected_seq:
        return seq, "", f"seq {seq} where {expected_seq} was expected (a line was removed, moved or inserted)"
    try:
        body, line_hash = split_hash(line)
    except RecordError as exc:
        return seq, "", str(exc)
    if line_hash != stated or hashlib.sha256(body).hexdigest() != stated:
        return seq, "", "hash does not match the line's content (the line was altered)"
    if stated_prev != prev_hash:
        return seq, stated, "prev does not match the hash of the previous line (the chain is broken)"
    return seq, stated, None


def verify_stream(
    store: EventStore,
    stream: str,
    expect: list[ExpectedHead] | None = None,
    progress: Callable[[int], None] | None = None,
) -> StreamReport:
    """Verifies one stream up to its first bad line. `progress(n)` is called with lines done every few thousand."""
    report = StreamReport(stream)
    wanted = {e.seq: e.hash for e in (expect or []) if e.stream == stream}
    found: set[int] = set()
    prev = ZERO_HASH
    line_no = 0
    for line in store.iter_lines(stream):
        line_no += 1
        seq, digest, problem = check_line(line, line_no, prev)
        if problem is not None:
            report.problem = f"line {line_no} (seq {seq or _seq_of(line)}): {problem}"
            break
        if seq in wanted:
            found.add(seq)
            if wanted[seq] != digest:
                report.expect_failures.append(
                    f"line {line_no} (seq {seq}): hash {digest} differs from the expected head {wanted[seq]}"
                )
        prev = digest
        report.events, report.head_seq, report.head_hash = line_no, seq, digest
        if progress is not None and line_no % 4096 == 0:
            progress(4096)
    if progress is not None and line_no % 4096:
        progress(line_no % 4096)
    if report.problem is None:
        for seq in sorted(set(wanted) - found):
            report.expect_failures.append(
                f"expected head seq {seq} hash {wanted[seq]} is not in the stream, which ends at seq "
                f"{report.head_seq}: lines were removed from its end"
            )
    report.torn_bytes = store.torn_tail_bytes(stream)
    return report
