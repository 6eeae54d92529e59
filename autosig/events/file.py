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
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from autosig.clock import Clock, rfc3339
from autosig.events import _file_aside as aside
from autosig.events._file_aside import FileLeasing
from autosig.events._file_reading import (
    READ_BUFFER,
    STREAM_NAME,
    FileReading,
)
from autosig.events._file_state import StreamState, index_lines, load_saved_index, save_index, uuid4_strings
from autosig.events.base import AppendItem, EventStore, StoreError
from autosig.events.lines import decode_line, header, line_at
from autosig.events.record import Event, RecordError, encode
from autosig.schema import stream_file

_READ_BUFFER = READ_BUFFER
# A catch-up that indexes this many lines saves the key table for the next process (`<stream file>.keys`): below
# it, indexing is quick anyway. Only a stream file at least this large is worth looking for a saved table.
_SAVE_INDEX_LINES = 10_000
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


class FileStore(FileReading, FileLeasing, EventStore):
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
        self._streams: dict[str, StreamState] = {}
        self._streams_lock = threading.Lock()
        self._pid = os.getpid()
        self._host = socket.gethostname()
        self._leases = aside.FileLeases(self.directory, self.clock)

    # --- paths and handles ---------------------------------------------------------------------------------------

    def path_of(self, stream: str) -> Path:
        if not STREAM_NAME.match(stream):
            raise ValueError(f"invalid stream name {stream!r}")
        return self.directory / stream_file(stream)

    def _stream(self, stream: str) -> StreamState:
        if os.getpid() != self._pid:
            self._after_fork()
        s = self._streams.get(stream)
        if s is None:
            with self._streams_lock:
                s = self._streams.get(stream)
                if s is None:
                    s = self._streams[stream] = StreamState(stream, self.path_of(stream))
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

    def _open_for_write(self, s: StreamState) -> int:
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

    def _lock_fd(self, s: StreamState, create: bool) -> int | None:
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
    def _write_lock(self, s: StreamState) -> Iterator[None]:
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

    def _append_locked(self, s: StreamState, items: list[AppendItem]) -> list[Event]:
        try:
            fd = self._open_for_write(s)
            self._catch_up(s, fd)
        except OSError as exc:
            raise StoreError(f"cannot prepare stream {s.name} for writing: {os.strerror(exc.errno or 0)}") from None
        base_meta = {"host": self._host, "pid": os.getpid(), "writer": self.writer}
        ts = rfc3339(self.clock.time())  # one batch, one write: one append time
        ids = uuid4_strings(len(items))
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

    def _roll_back(self, s: StreamState, fd: int, length: int) -> None:
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

    def _catch_up(self, s: StreamState, fd: int) -> None:
        """Accounts for lines appended since s.offset (by any process) and quarantines a torn tail."""
        size = os.fstat(fd).st_size
        if size < s.offset:
            s.reset()  # shrunk under us (truncated by hand): start again from what is there
        if size == s.offset:
            return
        if s.offset == 0 and size >= _SAVED_INDEX_MIN_BYTES:
            self._load_saved_index(s, fd, size)
        lines_before = s.lines
        pos = index_lines(s, fd, size)
        if pos < size:
            self._quarantine(s, fd, pos, size)
        if s.lines - lines_before >= _SAVE_INDEX_LINES:
            self._save_index(s, fd)

    def _load_saved_index(self, s: StreamState, fd: int, size: int) -> None:
        load_saved_index(s, fd, size)

    def _save_index(self, s: StreamState, fd: int) -> None:
        save_index(s, fd)

    def _quarantine(self, s: StreamState, fd: int, start: int, end: int) -> None:
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


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fsync_fd(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the file's own fsync still holds
    finally:
        os.close(fd)
