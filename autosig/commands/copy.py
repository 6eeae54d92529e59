"""`autosig copy --from URL --to URL`: every stream, byte for byte, between stores (the README, "Commands").

The way from a local file store to Postgres on Railway, and back for backups. The source is verified first (a broken
chain is never copied silently), the target must be empty, and afterwards the target's lines are read back and
compared with what was sent: same count, same bytes (a running SHA-256 over the lines), intact chain.
Stop the worker while copying: lines appended to the source during the copy may or may not be included.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from autosig.events import ZERO_HASH, EventStore, RecordError, StoreError, open_store
from autosig.events.record import decode, line_hash_ok
from autosig.redact import redact_url
from autosig.startup import settings_or_exit


class ChainError(Exception):
    def __init__(self, line_no: int, problem: str) -> None:
        super().__init__(f"line {line_no}: {problem}")
        self.line_no = line_no


@dataclass
class Digest:
    """What a sequence of lines amounts to: count, head hash and a SHA-256 over the exact bytes."""

    count: int = 0
    head: str = ZERO_HASH
    sha: hashlib._Hash = field(default_factory=hashlib.sha256)

    def same_as(self, other: Digest) -> bool:
        return self.count == other.count and self.head == other.head and self.sha.digest() == other.sha.digest()


def checked(lines: Iterable[bytes], digest: Digest) -> Iterator[bytes]:
    """Passes lines through while checking each one's hash, seq continuity and prev; raises ChainError at the first
    problem. Fills `digest` as it goes."""
    for line in lines:
        n = digest.count + 1
        if not line.endswith(b"\n"):
            raise ChainError(n, "no newline at the end of the line")
        try:
            event = decode(line)
            ok = line_hash_ok(line)
        except RecordError as exc:
            raise ChainError(n, str(exc)) from None
        if not ok:
            raise ChainError(n, "hash does not match the line")
        if event.seq != n:
            raise ChainError(n, f"seq {event.seq} where {n} was expected")
        if event.prev != digest.head:
            raise ChainError(n, "prev is not the previous line's hash")
        digest.count = n
        digest.head = event.hash
        digest.sha.update(line)
        yield line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", required=True, metavar="URL", help="file:DIR or postgresql://…")
    parser.add_argument(
        "--to", dest="target", required=True, metavar="URL", help="an empty store: file:DIR or postgresql://…"
    )


def _show(url: str) -> str:
    """A store URL fit to print: file paths as given, database URLs without their password."""
    return url if url.startswith("file:") else redact_url(url)


def _say(message: str) -> None:
    print(f"autosig copy: {message}", file=sys.stderr)


def copy_store(source: EventStore, target: EventStore) -> dict[str, Digest]:
    """Copies every non-empty stream of `source` into the empty `target`; returns what was copied per stream.

    Raises StoreError when the target is not empty, ChainError (with .stream set) when a stream does not verify."""
    busy = [(s, n) for s in target.streams() if (n := target.last_seq(s)) > 0]
    if busy:
        listing = ", ".join(f"{s} ({n} events)" for s, n in busy)
        raise StoreError(f"the target is not empty: {listing}; copy only into an empty store")
    streams = [s for s in source.streams() if source.last_seq(s) > 0]
    for stream in streams:  # verify everything before writing anything
        try:
            for _ in checked(source.iter_lines(stream), Digest()):
                pass
        except ChainError as exc:
            exc.stream = stream  # type: ignore[attr-defined]
            raise
    copied: dict[str, Digest] = {}
    for stream in streams:
        sent = Digest()
        try:
            target.import_lines(stream, checked(source.iter_lines(stream), sent))  # type: ignore[attr-defined]
        except ChainError as exc:
            exc.stream = stream  # type: ignore[attr-defined]
            raise
        back = Digest()
        try:
            for _ in checked(target.iter_lines(stream), back):
                pass
        except ChainError as exc:
            raise StoreError(f"stream {stream}: the copy does not verify: {exc}") from None
        if not back.same_as(sent):
            raise StoreError(f"stream {stream}: the copy differs from the source ({back.count} of {sent.count} lines)")
        copied[stream] = sent
    return copied


def run(args: argparse.Namespace) -> int:
    if args.source == args.target:
        _say("--from and --to name the same store")
        return 2
    fsync = settings_or_exit().fsync
    try:
        source = open_store(args.source, writer="copy", fsync=fsync)
        target = open_store(args.target, writer="copy", fsync=fsync)
    except (ValueError, StoreError) as exc:
        _say(str(exc))
        return 2
    try:
        for stream in source.streams():
            torn = source.torn_tail_bytes(stream)
            if torn:
                _say(f"warning: stream {stream} ends in {torn} bytes of an unfinished write; they are not copied")
        copied = copy_store(source, target)
    except ChainError as exc:
        stream = getattr(exc, "stream", "?")
        _say(f"source stream {stream} does not verify at {exc}; nothing copied (run `autosig verify`)")
        return 1
    except StoreError as exc:
        _say(str(exc))
        return 1
    finally:
        source.close()
        target.close()
    if not copied:
        _say(f"the source {_show(args.source)} is empty; nothing to copy")
        return 0
    for stream, d in copied.items():
        print(f"{stream}: {d.count} events copied and verified, head {d.head} (sha256 of lines {d.sha.hexdigest()})")
    print(f"copied {_show(args.source)} -> {_show(args.target)}")
    return 0
