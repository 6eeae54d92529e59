"""Following a stream file as it grows (see docs/ARCHITECTURE.md, "Tailing").

Watch events are only wake-ups: every pass re-reads the file from the saved byte offset, so a lost, merged or
spurious event can delay a reader by at most one poll interval and never make it skip or repeat a line. The
directory is watched (watchdog) for files made, removed and renamed, because a watch on a file follows its old inode
when the file is replaced; on Linux each followed file also has a watch of its own for its writes
(autosig.events._file_watches), placed again on the new file after a replacement, so that appends to files nobody in
the process follows wake nothing. Without those the directory's watch reports writes too.
One Observer serves the whole process (inotify instances are a scarce per-user resource and the web runs several
tails per process); its events are fanned out to the tails of that directory by file name.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from autosig.events._file_reading import READ_BUFFER, Position, decode_from
from autosig.events._file_watches import FileWatches, Ident
from autosig.events.base import ProblemHandler
from autosig.events.record import Event

if TYPE_CHECKING:
    from autosig.events.file import FileStore

log = logging.getLogger(__name__)

# Opens and no-write closes are left out on purpose: readers opening the file would otherwise wake every tail.
_WAKE_EVENTS = [FileModifiedEvent, FileCreatedEvent, FileDeletedEvent, FileMovedEvent, FileClosedEvent]
# The directory's events where each followed file's writes have a watch of their own.
_NAME_EVENTS = [FileCreatedEvent, FileDeletedEvent, FileMovedEvent]
# How often a waiting tail looks at its stop flag (threading.Event offers no way to wait on two events at once).
_STOP_CHECK_SECONDS = 0.05


class _Handler(FileSystemEventHandler):
    def __init__(self, hub: _WatchHub, directory: str) -> None:
        self._hub = hub
        self._directory = directory

    def on_any_event(self, event: FileSystemEvent) -> None:
        names = {os.path.basename(os.fsdecode(event.src_path))}
        dest = getattr(event, "dest_path", "")
        if dest:
            names.add(os.path.basename(os.fsdecode(dest)))
        self._hub.wake(self._directory, names)


class _WatchHub:
    """The process's one watchdog Observer and the wake-up events of the tails subscribed per directory."""

    def __init__(self) -> None:
        self._files = FileWatches(self.wake)
        self.reset_after_fork()

    def reset_after_fork(self) -> None:
        # A fork copies this object but not the observer's threads, and a lock another thread held stays held.
        # _lock guards the subscriptions and is taken by wake() on the observer's thread while the observer holds its
        # own lock, so _lock is never held while calling into the observer; _schedule_lock orders (un)scheduling.
        self._lock = threading.Lock()
        self._schedule_lock = threading.Lock()
        self._observer: Observer | None = None  # type: ignore[valid-type]
        # directory -> (watch, file name -> wake events)
        self._dirs: dict[str, tuple[object, dict[str, set[threading.Event]]]] = {}
        self._files.reset_after_fork()

    def subscribe(self, directory: Path, name: str, wake: threading.Event) -> bool:
        """Registers a wake-up for changes to directory/name; False when the directory cannot be watched (yet)."""
        key = os.path.abspath(directory)
        with self._schedule_lock:
            with self._lock:
                entry = self._dirs.get(key)
            if entry is None:
                try:
                    if self._observer is None:
                        observer = Observer()
                        observer.daemon = True
                        observer.start()
                        self._observer = observer
                    events = _NAME_EVENTS if self._files.available() else _WAKE_EVENTS
                    watch = self._observer.schedule(  # type: ignore[attr-defined]
                        _Handler(self, key), key, recursive=False, event_filter=events
                    )
                except OSError as exc:
                    # Missing directory, or out of inotify watches/instances: the poll backstop still works.
                    log.debug("cannot watch %s (%s); polling only", key, exc)
                    return False
                entry = (watch, {})
                with self._lock:
                    self._dirs[key] = entry
            with self._lock:
                entry[1].setdefault(name, set()).add(wake)
            return True

    def follow_file(self, directory: Path, name: str, ident: Ident | None) -> bool:
        """Keeps a watch for directory/name's writes on the file the name points to now (`ident`, as a subscribed
        tail just sampled it). True when one was placed just now: look again, for a write made before it."""
        return ident is not None and self._files.place(os.path.abspath(directory), name, ident)

    def unsubscribe(self, directory: Path, name: str, wake: threading.Event) -> None:
        key = os.path.abspath(directory)
        with self._schedule_lock:
            with self._lock:
                entry = self._dirs.get(key)
                if entry is None:
                    return
                watch, subscribers = entry
                waiting = subscribers.get(name)
                if waiting is not None:
                    waiting.discard(wake)
                    if not waiting:
                        del subscribers[name]
                if name not in subscribers:
                    self._files.drop(key, name)
                if subscribers:
                    return
                del self._dirs[key]
            try:
                self._observer.unschedule(watch)  # type: ignore[union-attr]
            except (KeyError, OSError):
                pass

    def wake(self, directory: str, names: set[str]) -> None:
        with self._lock:
            entry = self._dirs.get(directory)
            if entry is None:
                return
            targets = [w for name in names for w in entry[1].get(name, ())]
        for wake in targets:
            wake.set()


HUB = _WatchHub()
os.register_at_fork(after_in_child=HUB.reset_after_fork)


def tail_file(
    store: FileStore,
    stream: str,
    *,
    after: int = 0,
    stop: threading.Event | None = None,
    on_problem: ProblemHandler | None = None,
    on_reset: Callable[[], None] | None = None,
    poll_seconds: float = 0.5,
    watch: bool = True,
) -> Iterator[Event]:
    """Events of `stream` with seq > after, then new ones as they are appended, until `stop` is set.

    Never yields a torn tail (bytes after the last newline). A corrupt line goes to on_problem and is skipped (with
    no handler, RecordError is raised). When the file shrinks below what was read or is replaced by another file,
    on_reset() is called and the stream is yielded again from seq 1.
    """
    stop = stop if stop is not None else threading.Event()
    path = store.path_of(stream)
    wake = threading.Event()
    subscribed = False
    f = None
    ident: tuple[int, int] | None = None
    pos = Position()
    skip = after

    try:
        while not stop.is_set():
            if watch and not subscribed:
                subscribed = HUB.subscribe(path.parent, path.name, wake)
            wake.clear()  # before sampling: a write after the sample sets it again
            size, current = store.committed_size(stream)
            if subscribed and HUB.follow_file(path.parent, path.name, current):
                continue  # its writes are watched from now on: sample again, for one made before
            if f is not None and (current != ident or size < pos.offset):
                f.close()
                f, ident = None, None
                pos = Position()
                skip = 0
                if on_reset is not None:
                    on_reset()
            if f is None and current is not None:
                f = open(path, "rb", buffering=READ_BUFFER)  # noqa: SIM115 - kept open across passes
                st = os.fstat(f.fileno())
                ident = (st.st_dev, st.st_ino)
                if ident != current:
                    f.close()  # replaced between the sample and the open: sample again
                    f, ident = None, None
                    continue
            if f is not None and size > pos.offset:
                events = decode_from(f, stream, size, pos, skip, on_problem)
                try:
                    for event in events:
                        yield event
                        if stop.is_set():
                            return
                finally:
                    events.close()  # records where it stopped in pos before the next pass reads on from there
            _wait(wake, stop, poll_seconds)
    finally:
        if subscribed:
            HUB.unsubscribe(path.parent, path.name, wake)
        if f is not None:
            f.close()


def _wait(wake: threading.Event, stop: threading.Event, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0 or wake.wait(min(remaining, _STOP_CHECK_SECONDS)):
            return
