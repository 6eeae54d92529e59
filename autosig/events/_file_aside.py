"""The file store's named leases (an flock per lease file) and the data it keeps beside the streams."""

from __future__ import annotations

import errno
import fcntl
import math
import os
import socket
from pathlib import Path

import orjson

from autosig.clock import Clock, rfc3339
from autosig.events.base import StoreError, check_aside_name, check_lease_name

# Names that would be taken for a stream, a lock or a saved key table in the store's directory.
_RESERVED_SUFFIXES = (".jsonl", ".lock", ".keys")


def lease_file(name: str) -> str:
    """worker -> worker-lease.lock: the file whose flock is the lease, and which names its holder."""
    return f"{check_lease_name(name)}-lease.lock"


class FileLeases:
    """Named leases as exclusive flocks on `<name>-lease.lock`: the kernel drops a lock when its holder dies, so a
    lease never outlives its process, and never expires while the process lives."""

    def __init__(self, directory: Path, clock: Clock) -> None:
        self.directory = directory
        self.clock = clock
        self._fds: dict[str, int] = {}

    def forget(self) -> None:
        """After a fork: inherited descriptors share the parent's flocks, which the child must never think it holds."""
        self._fds = {}

    def try_acquire(self, name: str, holder: str) -> str | None:
        path = self.directory / lease_file(name)
        if name in self._fds:
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StoreError(f"cannot lock {path.name}: {os.strerror(exc.errno or 0)}") from None
            return _describe_holder(path)
        description = {
            "holder": holder,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": rfc3339(self.clock.time()),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, orjson.dumps(description) + b"\n", 0)
        self._fds[name] = fd
        return None

    def seconds_left(self, name: str) -> float:
        return math.inf if name in self._fds else 0.0

    def release(self, name: str) -> None:
        fd = self._fds.pop(name, None)
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)  # closing drops the flock

    def release_all(self) -> None:
        for name in list(self._fds):
            self.release(name)


def _describe_holder(path: Path) -> str:
    try:
        info = orjson.loads(path.read_bytes() or b"{}")
    except (OSError, orjson.JSONDecodeError):
        info = {}
    if not isinstance(info, dict) or not info.get("pid"):
        return "another process (it has not written its name yet)"
    return f"{info.get('holder') or 'a worker'} (pid {info.get('pid')} on {info.get('host')}, since {info.get('since')})"


def aside_path(directory: Path, name: str) -> Path:
    check_aside_name(name)
    if name.endswith(_RESERVED_SUFFIXES) or ".torn-" in name:
        raise ValueError(f"aside name {name!r} would be taken for a stream file")
    return directory / name


def read_aside(directory: Path, name: str) -> bytes | None:
    try:
        return aside_path(directory, name).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read {name}: {os.strerror(exc.errno or 0)}") from None


def write_aside(directory: Path, name: str, data: bytes, *, private: bool, fsync: bool) -> None:
    """Write a temporary file beside the target, then rename it over: a reader sees the old or the new bytes."""
    target = aside_path(directory, name)
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{name}.tmp-{os.getpid()}"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600 if private else 0o644)
        try:
            if private:
                os.fchmod(fd, 0o600)  # an older temporary file of this name may have had another mode
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
        if fsync:
            dfd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(dfd)
            except OSError:
                pass
            finally:
                os.close(dfd)
    except OSError as exc:
        try:
            temporary.unlink()
        except OSError:
            pass
        raise StoreError(f"cannot write {name}: {os.strerror(exc.errno or 0)}") from None


class FileLeasing:
    """The file store's named leases and aside data, mixed into FileStore, which provides _pid, _after_fork(),
    _leases (FileLeases), directory and fsync."""

    _pid: int
    _leases: FileLeases
    directory: Path
    fsync: bool

    def _after_fork(self) -> None:  # pragma: no cover - provided by FileStore
        raise NotImplementedError

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
        return read_aside(self.directory, name)

    def write_aside(self, name: str, data: bytes, *, private: bool = False) -> None:
        write_aside(self.directory, name, data, private=private, fsync=self.fsync)

