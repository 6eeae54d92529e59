"""The file store: one JSONL file per stream in a directory (see docs/ARCHITECTURE.md, "The event log").

Writers serialize with an exclusive flock on `<stream file>.lock`. Under that lock a writer first catches up with
whatever other processes appended since it last looked (from its saved byte offset), quarantines a torn tail, then
writes the whole batch with one write and one fsync. Readers never take the exclusive lock: they sample the file size
under a shared flock (so they never see lines of a write that is about to be rolled back) and read up to it.

A writer's first catch-up indexes every key in the stream. After a large one it saves that key table beside the
stream (`<stream file>.keys`), and the next process starts from the table when the stream still holds the line it was
saved after, indexing only the lines appended since (see key_index and _load_saved_index).
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from autosig.clock import Clock, rfc3339
from autosig.events import _file_aside as aside
from autosig.events._file_reading import (
    READ_BUFFER,
    Position,
    complete_lines,
    decode_from,
    last_lines,
    lines_before,
    scan_keys,
    seek_seq,
)
from autosig.events.base import AppendItem, EventStore, ProblemHandler, StoreError
from autosig.events.key_index import KeyIndex
from autosig.events.lines import decode_line, header, holds_saved_tail, line_at, stated_hash, tail_digest
from autosig.events.record import ZERO_HASH, Event, RecordError, encode
from autosig.schema import STREAM_FILES, STREAMS, stream_file

_FILES_TO_STREAMS = {name: stream for stream, name in STREAM_FILES.items()}
_STREAM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
_READ_BUFFER = READ_BUFFER
# A catch-up that indexes this many lines saves the key table for the next process (`<stream file>.keys`): below
# it, indexing is quick anyway. Only a stream file at least this large is worth looking for a saved table.
_SAVE_INDEX_LINES = 100_000
_SAVED_INDEX_MIN_BYTES = 1 << 20


# --- I/O seams: tests replace these to inject ENOSPC / EIO part-way through a write. ---------------------------------


def write_all(fd: int, data: bytes) -> None:
    """Writes every byte of `data` at the end of `fd` (opened with O_APPEND), retrying short writes."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_fd(fd: int) -> None:
    os.fsync(fd)


class _Stream:
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


class FileStore(EventStore):
    """Streams as JSONL files in `directory`. Options: clock (Clock), tail_poll_seconds (float), watch (bool)."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        writer: str = "autosig",
        fsync: bool = True,
        *,
        clock: Clock | None = None,
        tail_poll_seconds: float | None = None,
        watch: bool = True,
        **options: object,
    ) -> None:
        if options:
            raise TypeError(f"unknown file store options: {', '.join(sorted(options))}")
        self.directory = Path(directory)
        self.writer = writer
        self.fsync = fsync
        self.clock = clock or Clock()
        self.tail_poll_seconds = tail_poll_seconds if tail_poll_seconds and tail_poll_seconds > 0 else 0.5
        self.watch = watch
        self._streams: dict[str, _Stream] = {}
        self._streams_lock = threading.Lock()
        self._pid = os.getpid()
        self._host = socket.gethostname()
        self._leases = aside.FileLeases(self.directory, self.clock)

    # --- paths and handles ---------------------------------------------------------------------------------------

    def path_of(self, stream: str) -> Path:
        if not _STREAM_NAME.match(stream):
            raise ValueError(f"invalid stream name {stream!r}")
        return self.directory / stream_file(stream)

    def _stream(self, stream: str) -> _Stream:
        if os.getpid() != self._pid:
            self._after_fork()
        s = self._streams.get(stream)
        if s is None:
            with self._streams_lock:
                s = self._streams.get(stream)
                if s is None:
                    s = self._streams[stream] = _Stream(stream, self.path_of(stream))
        return s

    def _after_fork(self) -> None:
        # Inherited descriptors share flocks with the parent; a child must never think it holds the parent's locks.
        self._pid = os.getpid()
        self._streams = {}
        self._streams_lock = threading.Lock()
        self._leases.forget()

    def _ensure_directory(self) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)

    def _open_for_write(self, s: _Stream) -> int:
        """The writable descriptor of the stream file, reopened (and state reset) when the file was replaced."""
        try:
            st = os.stat(s.path)
            ident: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            ident = None
        if s.fd is None or ident != s.ino:
            if s.fd is not None:
                os.close(s.fd)
                s.fd = None
            created = ident is None
            s.fd = os.open(s.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            st = os.fstat(s.fd)
            s.ino = (st.st_dev, st.st_ino)
            s.reset()
            if created and self.fsync:
                _fsync_dir(self.directory)
        return s.fd

    def _lock_fd(self, s: _Stream, create: bool) -> int | None:
        if s.lock_fd is None:
            flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0)
            try:
                s.lock_fd = os.open(s.lock_path, flags, 0o644)
            except OSError:
                if create:
                    raise
                return None
        return s.lock_fd

    def committed_size(self, stream: str) -> tuple[int, tuple[int, int] | None]:
        """(size, (dev, inode)) of the stream file as no writer is mid-write; (0, None) when it does not exist.

        Sampled under a shared flock: a writer holds the exclusive lock from its write until its fsync (or rollback),
        so a size seen here never includes lines that could still be taken back.
        """
        s = self._stream(stream)
        with s.mutex:
            lock_fd = self._lock_fd(s, create=False)
            if lock_fd is None and s.path.exists():
                try:
                    lock_fd = self._lock_fd(s, create=True)
                except OSError:
                    lock_fd = None  # a read-only copy of a store: nothing can be mid-write
            if lock_fd is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_SH)
            try:
                st = os.stat(s.path)
                return st.st_size, (st.st_dev, st.st_ino)
            except FileNotFoundError:
                return 0, None
            finally:
                if lock_fd is not None:
                    fcntl.flock(lock_fd, fcntl.LOCK_UN)

    # --- writing -------------------------------------------------------------------------------------------------

    def append_many(self, stream: str, items: Iterable[AppendItem]) -> list[Event]:
        items = list(items)
        if not items:
            return []
        s = self._stream(stream)
        with self._write_lock(s):
            return self._append_locked(s, items)

    @contextmanager
    def _write_lock(self, s: _Stream) -> Iterator[None]:
        """This process's threads (mutex) and other processes (exclusive flock) serialized on the stream."""
        with s.mutex:
            try:
                self._ensure_directory()
                lock_fd = self._lock_fd(s, create=True)
                assert lock_fd is not None
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
            except OSError as exc:
                raise StoreError(f"cannot lock stream {s.name}: {os.strerror(exc.errno or 0)}") from None
            try:
                yield
            finally:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)

    def _append_locked(self, s: _Stream, items: list[AppendItem]) -> list[Event]:
        try:
            fd = self._open_for_write(s)
            self._catch_up(s, fd)
        except OSError as exc:
            raise StoreError(f"cannot prepare stream {s.name} for writing: {os.strerror(exc.errno or 0)}") from None
        base_meta = {"host": self._host, "pid": os.getpid(), "writer": self.writer}
        ts = rfc3339(self.clock.time())  # one batch, one write: one append time
        ids = _uuid4_strings(len(items))
        seq, prev = s.last_seq, s.last_hash
        results: list[Event] = []
        new: list[Event] = []
        pending: dict[str, Event] = {}
        for type_, data, meta, key in items:
            if key is not None:
                existing = pending.get(key)
                if existing is None:
                    offset = s.index.find(key, lambda off: self._key_at(fd, off))
                    if offset is not None:
                        try:
                            existing = decode_line(line_at(fd, offset))
                        except RecordError as exc:
                            # Never append a second event for a known key, even when the first one was damaged.
                            raise StoreError(f"the {s.name} event with key {key!r} is unreadable: {exc}") from None
                if existing is not None:
                    results.append(existing)
                    continue
            seq += 1
            ev = encode(
                seq,
                next(ids),
                type_,
                key,
                ts,
                data,
                {**base_meta, **meta} if meta else base_meta,
                prev,
            )
            prev = ev.hash
            if key is not None:
                pending[key] = ev
            new.append(ev)
            results.append(ev)
        if not new:
            return results
        before = s.offset
        payload = b"".join(ev.line for ev in new)
        try:
            write_all(fd, payload)
            if self.fsync:
                fsync_fd(fd)
        except OSError as exc:
            self._roll_back(s, fd, before)
            raise StoreError(f"write to stream {s.name} failed: {os.strerror(exc.errno or 0)}") from None
        offset = before
        for ev in new:
            if ev.key is not None:
                s.index.add(ev.key, offset)
            offset += len(ev.line)
        s.offset = offset
        s.lines += len(new)
        s.last_seq, s.last_hash = new[-1].seq, new[-1].hash
        return results

    def _roll_back(self, s: _Stream, fd: int, length: int) -> None:
        """Takes back a failed write so no partial line (nor any line of the batch) stays in the file."""
        try:
            os.ftruncate(fd, length)
            try:
                fsync_fd(fd)
            except OSError:
                pass
        except OSError:
            # Could not truncate: forget what we know of the file, so the next append reopens it, re-reads it from
            # the start and quarantines whatever torn bytes this write left.
            s.ino = None

    def _catch_up(self, s: _Stream, fd: int) -> None:
        """Accounts for lines appended since s.offset (by any process) and quarantines a torn tail."""
        size = os.fstat(fd).st_size
        if size < s.offset:
            s.reset()  # shrunk under us (truncated by hand): start again from what is there
        if size == s.offset:
            return
        if s.offset == 0 and size >= _SAVED_INDEX_MIN_BYTES:
            self._load_saved_index(s, fd, size)
        lines_before = s.lines
        if size - s.offset > 1 << 20:
            # Indexing a large file: size the key table once from the average line length near the start.
            sample = os.pread(fd, 1 << 18, s.offset)
            per_line = len(sample) / max(1, sample.count(b"\n"))
            s.index.reserve(len(s.index) + int((size - s.offset) / per_line))
        add = s.index.add
        pos, lines, last_line, last_good, after_good = s.offset, s.lines, b"", b"", 0
        with os.fdopen(os.dup(fd), "rb", buffering=_READ_BUFFER) as f:
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
        if pos < size:
            self._quarantine(s, fd, pos, size)
        if lines - lines_before >= _SAVE_INDEX_LINES:
            self._save_index(s, fd)

    def _load_saved_index(self, s: _Stream, fd: int, size: int) -> None:
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

    def _save_index(self, s: _Stream, fd: int) -> None:
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

    def _quarantine(self, s: _Stream, fd: int, start: int, end: int) -> None:
        """Moves bytes after the last newline to `<stream file>.torn-<UTC time>` and truncates them away."""
        torn = os.pread(fd, end - start, start)
        stamp = self.clock.now().strftime("%Y%m%dT%H%M%S.%fZ")
        target = s.path.with_name(f"{s.path.name}.torn-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = s.path.with_name(f"{s.path.name}.torn-{stamp}-{n}")
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            write_all(out, torn)
            fsync_fd(out)  # always: these bytes exist nowhere else once truncated
        except OSError:
            os.unlink(target)  # the bytes are still in the stream; the next writer tries again
            raise
        finally:
            os.close(out)
        _fsync_dir(self.directory)
        os.ftruncate(fd, start)
        fsync_fd(fd)

    def _key_at(self, fd: int, offset: int) -> str | None:
        try:
            return header(line_at(fd, offset))[1]
        except RecordError:
            return None

    def _event_at(self, fd: int, offset: int) -> Event:
        return decode_line(line_at(fd, offset))

    # --- reading -------------------------------------------------------------------------------------------------

    def read(
        self, stream: str, after: int = 0, limit: int | None = None, on_problem: ProblemHandler | None = None
    ) -> Iterator[Event]:
        size, _ = self.committed_size(stream)
        if size == 0 or (limit is not None and limit <= 0):
            return
        with open(self.path_of(stream), "rb", buffering=_READ_BUFFER) as f:
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
        with open(self.path_of(stream), "rb", buffering=_READ_BUFFER) as f:
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

    def get_by_key(self, stream: str, key: str) -> Event | None:
        s = self._stream(stream)
        if not s.path.exists():
            return None
        # Bring the index up to date under the write lock: the same path a writer takes, so keys are never stale.
        with self._write_lock(s):
            try:
                fd = self._open_for_write(s)
                self._catch_up(s, fd)
                offset = s.index.find(key, lambda off: self._key_at(fd, off))
                return None if offset is None else self._event_at(fd, offset)
            except OSError as exc:
                raise StoreError(f"cannot read stream {stream}: {os.strerror(exc.errno or 0)}") from None

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
            if stream and stream not in found and _STREAM_NAME.match(stream):
                found.append(stream)
        return found

    # --- named leases and what is kept beside the streams ------------------------------------------------------

    def try_acquire_lease(self, name: str, holder: str, seconds: float = 30.0) -> str | None:
        if os.getpid() != self._pid:
            self._after_fork()
        try:
            return self._leases.try_acquire(name, holder)
        except OSError as exc:
            raise StoreError(f"cannot take the {name} lease: {os.strerror(exc.errno or 0)}") from None

    def lease_seconds_left(self, name: str) -> float:
        if os.getpid() != self._pid:
            self._after_fork()
        return self._leases.seconds_left(name)

    def release_lease(self, name: str) -> None:
        if os.getpid() != self._pid:
            return
        self._leases.release(name)

    def read_aside(self, name: str) -> bytes | None:
        return aside.read_aside(self.directory, name)

    def write_aside(self, name: str, data: bytes, *, private: bool = False) -> None:
        aside.write_aside(self.directory, name, data, private=private, fsync=self.fsync)

    def close(self) -> None:
        if os.getpid() == self._pid:
            self._leases.release_all()
        with self._streams_lock:
            for s in self._streams.values():
                with s.mutex:
                    s.close()
            self._streams = {}

    def __repr__(self) -> str:
        return f"FileStore({str(self.directory)!r}, writer={self.writer!r})"

    # --- import of existing records (for `autosig copy`; added with the Postgres store) --------------------------

    def import_lines(self, stream: str, lines: Iterable[bytes]) -> int:
        """Writes existing records byte for byte into an empty stream, under the write lock; returns the count.

        The caller (`autosig copy`) verifies the chain of what it passes and reads the result back; this refuses a
        stream that already has bytes, and takes everything back when a write fails."""
        s = self._stream(stream)
        with self._write_lock(s):
            fd = self._open_for_write(s)
            if os.fstat(fd).st_size:
                raise StoreError(f"stream {stream} is not empty; import needs an empty stream")
            count, chunk = 0, bytearray()
            try:
                for line in lines:
                    chunk += line if line.endswith(b"\n") else line + b"\n"
                    count += 1
                    if len(chunk) >= _READ_BUFFER:
                        write_all(fd, bytes(chunk))
                        chunk.clear()
                write_all(fd, bytes(chunk))
                if self.fsync:
                    fsync_fd(fd)
            except BaseException as exc:
                self._roll_back(s, fd, 0)
                if isinstance(exc, OSError):
                    raise StoreError(f"import into stream {stream} failed: {os.strerror(exc.errno or 0)}") from None
                raise
            self._catch_up(s, fd)
            return count


def _key_of(line: bytes) -> str | None:
    try:
        return header(line)[1]
    except RecordError:
        return None


def _uuid4_strings(n: int) -> Iterator[str]:
    """n random (version 4) UUID strings, ~5x faster than str(uuid.uuid4()) each: one urandom call per batch."""
    raw = os.urandom(16 * n)
    for i in range(0, 16 * n, 16):
        b = bytearray(raw[i : i + 16])
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        h = b.hex()
        yield f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fsync_fd(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the file's own fsync still holds
    finally:
        os.close(fd)
