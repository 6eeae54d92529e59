"""The file store writer's view of one stream, and the pass that brings it up to date with the file.

The pass reads only what it must of each line (its key and offset), since a writer's first catch-up at a million
events runs it for every line.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

from autosig.events._file_reading import READ_BUFFER
from autosig.events.key_index import KeyIndex
from autosig.events.lines import header, holds_saved_tail, stated_hash, tail_digest
from autosig.events.record import ZERO_HASH, RecordError


class StreamState:
    """Per-stream state of one FileStore: file handles and what the writer knows of the file so far."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self.index_path = path.with_name(path.name + ".keys")  # the saved key table (see key_index)
        self.mutex = threading.Lock()  # threads of this process; the flock serializes processes
        self.lock_fd: int | None = None
        self.fd: int | None = None  # O_RDWR | O_APPEND on the stream file
        self.ino: tuple[int, int] | None = None
        self.offset = 0  # end of the last complete line already accounted for
        self.lines = 0
        self.last_seq = 0
        self.last_hash = ZERO_HASH
        self.index = KeyIndex()

    def reset(self) -> None:
        self.offset = 0
        self.lines = 0
        self.last_seq = 0
        self.last_hash = ZERO_HASH
        self.index = KeyIndex()

    def close(self) -> None:
        for fd in (self.fd, self.lock_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.fd = self.lock_fd = self.ino = None
        self.reset()



def index_lines(s: StreamState, fd: int, size: int) -> int:
    """Indexes the keys of the complete lines between s.offset and `size`, updating what s knows (lines, last seq,
    last hash, offset); returns the end of the last complete line (a torn tail starts there)."""
    if size - s.offset > 1 << 20:
        # Indexing a large file: size the key table once from the average line length near the start.
        sample = os.pread(fd, 1 << 18, s.offset)
        per_line = len(sample) / max(1, sample.count(b"\n"))
        s.index.reserve(len(s.index) + int((size - s.offset) / per_line))
    add = s.index.add
    pos, lines, last_line, last_good, after_good = s.offset, s.lines, b"", b"", 0
    with os.fdopen(os.dup(fd), "rb", buffering=READ_BUFFER) as f:
        f.seek(pos)
        # Only each line's key and offset are needed (the seq of the last line is read once at the end): a
        # start at a million events should not pay a full header parse per line.
        for line in f:
            if pos + len(line) > size or line[-1] != 10:
                break  # a torn tail (or bytes being written by a process that ignores the lock)
            lines += 1
            k = line.find(b',"key":', 7)
            t = line.find(b',"ts":"', k)
            if k < 0 or t < 0 or not line.startswith(b'{"seq":'):
                after_good += 1  # a corrupt line stays where it is; the numbering goes on past it
            else:
                literal = line[k + 7 : t]
                if len(literal) > 1 and literal[0] == 34 and literal[-1] == 34 and b"\\" not in literal:  # 34: '"'
                    add(literal[1:-1], pos)  # the key's UTF-8 bytes: what key_hash hashes, no decoding needed
                elif (key := _key_of(line)) is not None:  # null, escaped or unreadable: the full header rules
                    add(key, pos)
                last_good, after_good = line, 0
            pos += len(line)
            last_line = line
    if last_line:
        try:
            s.last_seq = header(last_good)[0] + after_good
        except RecordError:
            s.last_seq += lines - s.lines  # nothing readable: count on from what was known
        # The chain continues from the hash the last line states, even if that line is damaged.
        s.last_hash = stated_hash(last_line) or s.last_hash
    s.lines = lines
    s.offset = pos
    return pos


def _key_of(line: bytes) -> str | None:
    try:
        return header(line)[1]
    except RecordError:
        return None


def uuid4_strings(n: int) -> Iterator[str]:
    """n random (version 4) UUID strings, ~5x faster than str(uuid.uuid4()) each: one urandom call per batch."""
    raw = os.urandom(16 * n)
    for i in range(0, 16 * n, 16):
        b = bytearray(raw[i : i + 16])
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        h = b.hex()
        yield f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def load_saved_index(s: StreamState, fd: int, size: int) -> None:
    """Starts the writer's view of the stream from the key table saved by an earlier catch-up, when the file still
    holds, at the same offset, the very line the table was saved after. Each line carries the hash of the one
    before, so the same last line means the same lines before it -- unless one was edited by hand in place,
    which breaks the chain (`autosig verify` says where) and which no writer would do."""
    loaded = KeyIndex.load(s.index_path)
    if loaded is None:
        return
    index, state = loaded
    offset, lines, last_seq, last_hash = (state.get(k) for k in ("offset", "lines", "last_seq", "last_hash"))
    if not (type(lines) is int and type(last_seq) is int and isinstance(last_hash, str)):
        return
    if not holds_saved_tail(fd, size, offset, state.get("tail")):
        return  # another file (replaced, truncated, rewritten) or unreadable: index it from the start
    s.index, s.offset, s.lines, s.last_seq, s.last_hash = index, offset, lines, last_seq, last_hash



def save_index(s: StreamState, fd: int) -> None:
    """Saves the key table of everything up to s.offset, for the next process to load instead of indexing."""
    try:
        tail = tail_digest(fd, s.offset)
        if tail is None:
            return
        state = {"offset": s.offset, "lines": s.lines, "last_seq": s.last_seq, "last_hash": s.last_hash,
                 "tail": tail}  # fmt: skip
        s.index.save(s.index_path, state)
    except OSError:
        pass  # a read-only directory or a full disk: the next process indexes the stream itself, as before
