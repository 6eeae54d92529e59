"""Electing the one process that sends notifications, whatever the number of web processes.

    election = election_for(store_url)
    if election.try_acquire(): ...   # True while this process is the sender; call again to re-check
    election.release()

File store: an exclusive flock on `notify-sender.lock` in the store's directory — the kernel drops it when the holder
dies, so a survivor takes over on its next try. Postgres: a session-level advisory lock on a dedicated connection,
dropped by the server when that connection ends; `try_acquire` re-checks the connection each call, so a sender whose
connection broke stops sending and competes again. (A vanished container may keep a TCP session alive for a while;
the cost is only a delayed notification, which the at-least-once design tolerates — unlike the worker lease, where a
second writer would be wrong, hence its renewed lease row.)
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger("autosig.notify")

LOCK_FILE = "notify-sender.lock"


class Election(Protocol):
    def try_acquire(self) -> bool:
        """True when this process is (still) the sender."""

    def release(self) -> None:
        """Stops being the sender (if it was)."""


class FileElection:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory) / LOCK_FILE
        self._fd: int | None = None
        self._pid = os.getpid()

    def try_acquire(self) -> bool:
        if os.getpid() != self._pid:
            # a forked child shares the parent's open file description, hence its flock: never count that as ours
            self._fd, self._pid = None, os.getpid()
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None and os.getpid() == self._pid:
            os.close(self._fd)  # closing drops the flock
        self._fd = None


class PostgresElection:
    def __init__(self, url: str) -> None:
        from autosig.events import pg_schema
        from autosig.events.postgres import split_url

        # The store's own parameters (schema=…) are not libpq's; one election per schema, like the store's locks.
        self.url, ours = split_url(url)
        self.key = pg_schema.lock_key(ours.get("schema") or "public", "notify-sender")
        self._conn: Any = None
        self._pid = os.getpid()

    def try_acquire(self) -> bool:
        import psycopg

        if os.getpid() != self._pid:
            self._conn, self._pid = None, os.getpid()
        try:
            if self._conn is not None:
                self._conn.execute("SELECT 1")  # still connected, so still holding the session lock
                return True
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            if row and row[0]:
                self._conn = conn
                return True
            conn.close()
            return False
        except psycopg.Error as exc:
            log.warning("notification sender election: the database is unavailable (%s)", type(exc).__name__)
            self._drop()
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - already broken
                pass
        self._conn = None

    def release(self) -> None:
        if os.getpid() == self._pid:
            self._drop()  # ending the session releases the advisory lock
        self._conn = None


def election_for(store_url: str) -> Election:
    if store_url.startswith("file:"):
        return FileElection(store_url[len("file:") :] or ".")
    return PostgresElection(store_url)
