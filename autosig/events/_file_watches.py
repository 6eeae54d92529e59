"""Watches on single stream files for their writes: Linux inotify through `inotify_simple`, one instance and one
reading thread per process (see autosig.events.tailing, which owns the only instance).

Why not watchdog: it watches a single file by watching its directory, so every append to any file there wakes the
process anyway. With these watches the directory's own watch reports only files made, removed and renamed, and an
append to a stream nobody in the process follows (the web's `inbox`, one per webhook) wakes nothing.

Where inotify is missing (not Linux, or out of inotify instances) `available()` is False and the directory's watch
reports writes too, as before. A watch stays with the file it was placed on; tailing places it again on the new file
after a replacement (see place()).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

try:
    from inotify_simple import INotify, flags
except ImportError:  # not Linux: the directory's watchdog watch reports writes too
    INotify = None  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)

Ident = tuple[int, int]  # (st_dev, st_ino): which file a name points to


class FileWatches:
    def __init__(self, wake: Callable[[str, set[str]], None]) -> None:
        self._wake = wake
        self._inotify: INotify | None = None
        self.reset_after_fork()

    def reset_after_fork(self) -> None:
        # A child has the parent's inotify descriptor but not its reading thread: start afresh, on first use.
        inherited = self._inotify
        self._lock = threading.Lock()
        self._inotify = None
        self._failed = INotify is None
        self._by_wd: dict[int, tuple[str, str]] = {}
        self._placed: dict[tuple[str, str], tuple[int, Ident]] = {}  # (directory, name) -> (watch, its file)
        if inherited is not None:
            try:
                inherited.close()
            except OSError:
                pass

    def available(self) -> bool:
        """True when single files can be watched here (starts the instance and its thread on first use)."""
        with self._lock:
            if self._inotify is None and not self._failed:
                try:
                    self._inotify = INotify()
                except OSError as exc:
                    log.debug("no inotify instance (%s); directory watches report writes", exc)
                    self._failed = True
                    return False
                threading.Thread(target=self._read, args=(self._inotify,), name="inotify-files",
                                 daemon=True).start()  # fmt: skip
            return self._inotify is not None

    def place(self, directory: str, name: str, ident: Ident) -> bool:
        """Watches directory/name for writes unless the watch is already on the file `ident` (as a tail just sampled
        the name). True when it placed one now: writes from here on wake, and the caller should look again for one
        made before. Placing is synchronous (unlike watchdog's, armed on a thread of its own)."""
        key = (directory, name)
        with self._lock:
            placed = self._placed.get(key)
            inotify = self._inotify
        if inotify is None or (placed is not None and placed[1] == ident):
            return False
        path = os.path.join(directory, name)
        try:
            wd = inotify.add_watch(path, flags.MODIFY | flags.CLOSE_WRITE)
            st = os.stat(path)
        except (OSError, ValueError) as exc:  # gone again, out of watches, or the instance closed: the poll remains
            log.debug("cannot watch %s (%s)", path, exc)
            return False
        with self._lock:
            old = self._placed.get(key)
            self._placed[key] = (wd, (st.st_dev, st.st_ino))
            self._by_wd[wd] = key
        if old is not None and old[0] != wd:
            self._remove(inotify, old[0])
        return True

    def drop(self, directory: str, name: str) -> None:
        """Stops watching directory/name (its last tail ended)."""
        with self._lock:
            placed = self._placed.pop((directory, name), None)
            inotify = self._inotify
        if placed is not None and inotify is not None:
            self._remove(inotify, placed[0])

    @staticmethod
    def _remove(inotify: INotify, wd: int) -> None:
        try:
            inotify.rm_watch(wd)  # the kernel confirms with IN_IGNORED, which forgets the descriptor (see _read)
        except (OSError, ValueError):
            pass  # already gone with its file

    def _read(self, inotify: INotify) -> None:
        while True:
            try:
                events = inotify.read()
            except (OSError, ValueError):
                return  # closed: a child started afresh
            woken: dict[str, set[str]] = {}
            with self._lock:
                if self._inotify is not inotify:
                    return
                for event in events:
                    if event.mask & flags.Q_OVERFLOW:  # events were lost: wake every follower
                        for directory, name in self._placed:
                            woken.setdefault(directory, set()).add(name)
                        continue
                    key = self._by_wd.get(event.wd)
                    if key is None:
                        continue
                    if event.mask & flags.IGNORED:  # removed, or its file is gone: tailing places it again
                        del self._by_wd[event.wd]
                        if self._placed.get(key, (None,))[0] == event.wd:
                            del self._placed[key]
                        continue
                    woken.setdefault(key[0], set()).add(key[1])
            for directory, names in woken.items():
                self._wake(directory, names)
