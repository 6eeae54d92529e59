"""How the file store reads its files: the replay loop, the key scan, finding a seq, the last lines.

Readers never take a stream's exclusive lock; they read up to a size sampled under its shared lock (see
FileStore.committed_size), so they never see the lines of a write that could still be taken back.
"""

from __future__ import annotations

import mmap
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import orjson

from autosig.events.base import Problem, ProblemHandler
from autosig.events.lines import decode_line, describe, header, line_at, seq_prefix
from autosig.events.record import Event, RecordError
from autosig.schema import STREAM_FILES, STREAMS

_FILES_TO_STREAMS = {name: stream for stream, name in STREAM_FILES.items()}
STREAM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")

READ_BUFFER = 1 << 20


class Position:
    """Where a reader of a file stopped: the end of the last complete line read and how many lines that was.

    A reader that seeked to an offset (by seq) does not know its line number; `count_lines(offset)` tells it, and is
    called only when a line must be named (a problem), since counting means reading everything before."""

    __slots__ = ("offset", "line_no", "count_lines")

    def __init__(self, offset: int = 0, line_no: int = 0, count_lines: Callable[[int], int] | None = None) -> None:
        self.offset = offset
        self.line_no = line_no
        self.count_lines = count_lines


def lines_before(fd: int, offset: int) -> int:
    """How many lines end before byte `offset`."""
    count, at = 0, 0
    while at < offset:
        chunk = os.pread(fd, min(READ_BUFFER, offset - at), at)
        if not chunk:
            break
        count += chunk.count(b"\n")
        at += len(chunk)
    return count


def decode_from(
    f: BinaryIO,
    stream: str,
    end: int,
    pos: Position,
    after: int = 0,
    on_problem: ProblemHandler | None = None,
    limit: int | None = None,
) -> Iterator[Event]:
    """Events of seq > after from the complete lines between pos.offset and `end`, advancing `pos` past each line.

    Stops before a torn line. A corrupt line goes to on_problem (RecordError when there is none) and is skipped;
    numbering goes on past it. One flat loop: replay speed is set by per-line overhead (benchmarks/bench_events.py),
    so there is no nested generator and no helper call on the common path.
    """
    loads = orjson.loads
    make = Event
    offset, line_no = pos.offset, pos.line_no
    remaining = -1 if limit is None else limit
    if remaining == 0:
        return
    f.seek(offset)
    try:
        for line in f:
            if offset + len(line) > end or line[-1] != 10:
                return  # beyond the committed size, or a torn tail
            offset += len(line)
            line_no += 1
            if after:
                seq = seq_prefix(line)
                if seq is not None and seq <= after:
                    continue
            try:
                o = loads(line)
                seq = o["seq"]
                if type(seq) is not int or seq < 1:
                    raise RecordError("seq is not a positive integer")
                if seq <= after:
                    continue
                event = make(
                    seq, o["id"], o["type"], o["key"], o["ts"], o["data"], o["meta"], o["prev"], o["hash"], line
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, RecordError) as exc:
                if pos.count_lines is not None:  # started part-way: learn the line number once, when first needed
                    line_no += pos.count_lines(pos.offset)
                    pos.count_lines = None
                if on_problem is None:
                    raise RecordError(f"{stream} line {line_no}: {describe(exc)}") from None
                on_problem(Problem(stream, line_no, describe(exc)))
                continue
            yield event
            remaining -= 1
            if remaining == 0 or offset == end:
                return
    finally:
        # Written once, when the loop ends or the consumer lets go, not per line.
        pos.offset, pos.line_no = offset, line_no


def complete_lines(f: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """Complete lines (with their newline) between byte offsets start and end; stops before a torn line."""
    f.seek(start)
    pos = start
    for line in f:
        pos += len(line)
        if pos > end or line[-1] != 10:
            return
        yield line
        if pos == end:
            return


def _next_line_start(fd: int, offset: int, end: int) -> int:
    """The offset of the first line that starts at or after `offset` (end when there is none)."""
    if offset <= 0:
        return 0
    at = offset - 1  # a line starts at `offset` when the byte before it is a newline
    while at < end:
        chunk = os.pread(fd, min(1 << 16, end - at), at)
        if not chunk:
            return end
        cut = chunk.find(b"\n")
        if cut >= 0:
            return min(end, at + cut + 1)
        at += len(chunk)
    return end


def seek_seq(fd: int, end: int, seq: int) -> int:
    """The offset of the first line whose seq is >= `seq` (or `end`), by bisecting the file on line starts: seqs grow
    with the offset, so a start or a read after a million events costs a few dozen reads, not a pass. Unreadable lines
    between the last smaller seq and the answer are included (the answer is the first of them), so a reader still
    names them."""
    lo, hi = 0, end  # lines starting before lo have smaller seqs; the answer is at or before hi
    while lo < hi:
        mid = _next_line_start(fd, (lo + hi) // 2, end)
        if mid >= hi:
            mid = lo  # no line starts in the upper half: look at the line at lo itself
        probe, line_seq = mid, None
        while probe < hi:
            line_seq = seq_prefix(os.pread(fd, 48, probe))
            if line_seq is not None:
                break
            probe = _next_line_start(fd, probe + 1, end)
        if line_seq is None or probe >= hi:
            if mid == lo:
                return hi  # nothing readable in [lo, hi)
            hi = mid
        elif line_seq < seq:
            lo = _next_line_start(fd, probe + 1, end)
        else:
            hi = mid  # not probe: unreadable lines just before it may be the ones sought, and are reported
    return lo


def _key_pattern(prefix: str) -> re.Pattern[bytes]:
    # A line is {"seq":N,"id":"…","type":"…","key":"…","ts":"…",…}: a quote cannot occur unescaped inside a JSON
    # string and orjson escapes only quotes, backslashes and control characters, so a prefix without those stands in
    # the bytes literally and the first `","ts":"` after it closes the key. Anchored at line starts (a line holds no
    # raw newline), so an event body that nests such an object can never match.
    return re.compile(
        rb'^\{"seq":([0-9]+),"id":"[^"\n]*","type":"(?:[^"\\\n]|\\.)*","key":"('
        + re.escape(prefix.encode("utf-8", "surrogatepass"))
        + rb'(?:[^"\\\n]|\\.)*)","ts":"',
        re.MULTILINE,
    )


def scan_keys(fd: int, end: int, prefix: str, after: int) -> Iterator[tuple[int, str]]:
    """(seq, key) of the lines up to `end` whose key starts with `prefix` and whose seq is > after."""
    if end == 0:
        return
    if any(c in prefix for c in '"\\') or any(ord(c) < 0x20 for c in prefix):
        raise ValueError("a key prefix cannot contain quotes, backslashes or control characters")
    start = seek_seq(fd, end, after + 1) if after else 0
    if start >= end:
        return
    with mmap.mmap(fd, end, access=mmap.ACCESS_READ) as mm:
        end = mm.rfind(b"\n") + 1  # never a torn tail: bytes after the last newline were never written whole
        for m in _key_pattern(prefix).finditer(mm, start, end):
            seq = int(m.group(1))
            if seq <= after:
                continue
            literal = m.group(2)
            if b"\\" in literal:
                try:
                    key = orjson.loads(b'"' + literal + b'"')
                except orjson.JSONDecodeError:
                    continue
            else:
                key = literal.decode("utf-8", "replace")
            yield seq, key


def last_lines(f: BinaryIO, size: int) -> tuple[int, list[bytes]]:
    """(end of the last complete line, up to 64 complete lines before it, newest last), reading backwards."""
    if size == 0:
        return 0, []
    block = 1 << 16
    start = size
    while True:
        start = max(0, start - block)
        f.seek(start)
        buf = f.read(size - start)
        end = buf.rfind(b"\n") + 1
        lines = buf[:end].split(b"\n")[:-1] if end else []
        # The first piece may be a partial line unless we read from the very start.
        complete = lines if start == 0 else lines[1:]
        if complete or start == 0:
            return start + end, [line + b"\n" for line in complete[-64:]]
        block *= 4


class FileReading:
    """The file store's read side: everything a reader needs, without the writer's lock or state. Mixed into
    FileStore, which provides path_of(stream), committed_size(stream), tail_poll_seconds, watch and directory."""

    path_of: Callable[[str], Path]
    committed_size: Callable[[str], tuple[int, tuple[int, int] | None]]
    tail_poll_seconds: float
    watch: bool
    directory: Path

    def read(
        self, stream: str, after: int = 0, limit: int | None = None, on_problem: ProblemHandler | None = None
    ) -> Iterator[Event]:
        size, _ = self.committed_size(stream)
        if size == 0 or (limit is not None and limit <= 0):
            return
        with open(self.path_of(stream), "rb", buffering=READ_BUFFER) as f:
            pos = Position()
            if after > 0:
                # Start at the first line past `after` (found by bisecting on seqs), not at the top of the file.
                start = seek_seq(f.fileno(), size, after + 1)
                pos = Position(start, 0, lambda offset: lines_before(f.fileno(), offset))
            yield from decode_from(f, stream, size, pos, after, on_problem, limit)

    def iter_lines(self, stream: str) -> Iterator[bytes]:
        size, _ = self.committed_size(stream)
        if size == 0:
            return
        with open(self.path_of(stream), "rb", buffering=READ_BUFFER) as f:
            yield from complete_lines(f, 0, size)

    def keys(self, stream: str, prefix: str = "", after: int = 0) -> Iterator[tuple[int, str]]:
        size, _ = self.committed_size(stream)
        if size == 0:
            return
        with open(self.path_of(stream), "rb") as f:
            yield from scan_keys(f.fileno(), size, prefix, after)

    def get(self, stream: str, seq: int) -> Event | None:
        if seq < 1:
            return None
        size, _ = self.committed_size(stream)
        if size == 0:
            return None
        with open(self.path_of(stream), "rb") as f:
            offset = seek_seq(f.fileno(), size, seq)
            while offset < size:  # step over unreadable lines just before the one sought
                try:
                    line = line_at(f.fileno(), offset)
                except RecordError:
                    return None
                offset += len(line)
                try:
                    event = decode_line(line)
                except RecordError:
                    continue
                return event if event.seq == seq else None
        return None

    def _last_lines(self, stream: str) -> tuple[int, list[bytes]]:
        """(end of the last complete line, up to a few complete lines before it, newest last), reading backwards."""
        size, _ = self.committed_size(stream)
        if size == 0:
            return 0, []
        with open(self.path_of(stream), "rb") as f:
            return last_lines(f, size)

    def last_seq(self, stream: str) -> int:
        _, lines = self._last_lines(stream)
        after_good = 0
        for line in reversed(lines):
            try:
                return header(line)[0] + after_good
            except RecordError:
                after_good += 1
        if not lines:
            return 0
        # Nothing readable near the end: count lines (rare; only a badly damaged stream gets here).
        return sum(1 for _ in self.iter_lines(stream))

    def head(self, stream: str) -> Event | None:
        _, lines = self._last_lines(stream)
        for line in reversed(lines):
            try:
                return decode_line(line)
            except RecordError:
                continue
        return None

    def torn_tail_bytes(self, stream: str) -> int:
        size, _ = self.committed_size(stream)
        end, _ = self._last_lines(stream)
        return max(0, size - end)

    def tail(
        self,
        stream: str,
        after: int = 0,
        stop: threading.Event | None = None,
        on_problem: ProblemHandler | None = None,
        on_reset: Callable[[], None] | None = None,
    ) -> Iterator[Event]:
        from autosig.events.tailing import tail_file

        return tail_file(
            self,
            stream,
            after=after,
            stop=stop,
            on_problem=on_problem,
            on_reset=on_reset,
            poll_seconds=self.tail_poll_seconds,
            watch=self.watch,
        )

    def streams(self) -> list[str]:
        found = list(STREAMS)
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return found
        for name in names:
            stream = _FILES_TO_STREAMS.get(name) or (name[: -len(".jsonl")] if name.endswith(".jsonl") else None)
            if stream and stream not in found and STREAM_NAME.match(stream):
                found.append(stream)
        return found

