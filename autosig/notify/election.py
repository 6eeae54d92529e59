"""Electing the one process that sends notifications, whatever the number of web processes: the holder of the store's
best-effort `notifier` lease (an flock beside the file store; a Postgres session lock, dropped by the server when its
connection ends).

    election = StoreElection(lambda: open_store(url))
    if election.try_acquire(): ...   # True while this process is the sender; call again to re-check
    election.release()

Best effort is enough here: a vanished container may keep its session alive for a while, which costs only a delayed
notification; the at-least-once design tolerates a duplicate.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Protocol

from autosig.events import EventStore, StoreError

log = logging.getLogger("autosig.notify")

LEASE = "notifier"


class Election(Protocol):
    def try_acquire(self) -> bool:
        """True when this process is (still) the sender."""

    def release(self) -> None:
        """Stops being the sender (if it was)."""


class StoreElection:
    def __init__(self, open_store: Callable[[], EventStore]) -> None:
        self._open_store = open_store
        self._store: EventStore | None = None
        self._pid = os.getpid()

    def _own_store(self) -> EventStore:
        if os.getpid() != self._pid:
            # A forked child shares the parent's lock (its descriptor, or its connection): never count that as its own.
            self._store, self._pid = None, os.getpid()
        if self._store is None:
            self._store = self._open_store()
        return self._store

    def try_acquire(self) -> bool:
        try:
            return self._own_store().try_acquire_lease(LEASE, f"web pid {os.getpid()} on {socket.gethostname()}") is None
        except (StoreError, OSError) as exc:
            log.warning("notification sender election: the store is unavailable (%s)", type(exc).__name__)
            self.release()
            return False

    def release(self) -> None:
        if self._store is not None and os.getpid() == self._pid:
            try:
                self._store.release_lease(LEASE)
                self._store.close()
            except (StoreError, OSError):
                pass
        self._store = None
