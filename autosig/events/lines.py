"""Reading single stream lines: cheap header parsing, decoding one line, finding lines by offset.

Shared by the file store's writer (which needs only each line's seq and key) and its readers.
"""

from __future__ import annotations

import hashlib
import os

import orjson

from autosig.events.record import Event, RecordError

_HASH_FIELD = b',"hash":"'


def stated_hash(line: bytes) -> str | None:
    """The hash a complete line states at its end, without parsing the JSON."""
    # ...,"hash":"<64 hex>"}\n
    if len(line) < 77 or line[-3:] != b'"}\n' or line[-76:-67] != _HASH_FIELD:
        return None
    return line[-67:-3].decode("ascii", "replace")


def header(line: bytes) -> tuple[int, str | None]:
    """(seq, key) of a line without parsing the whole record: seq, id, type and key precede ts, and a quote cannot
    occur unescaped inside a JSON string, so the first `,"key":` and `,"ts":"` are the real field boundaries."""
    k = line.find(b',"key":')
    t = line.find(b',"ts":"', k)
    if not line.startswith(b'{"seq":') or k < 0 or t < 0:
        raise RecordError("unreadable record header")
    try:
        seq = int(line[7 : line.index(b",", 7)])
    except ValueError:
        raise RecordError("unreadable seq") from None
    literal = line[k + 7 : t]
    if literal == b"null":
        return seq, None
    if len(literal) < 2 or literal[0] != 34 or literal[-1] != 34:  # 34: '"'
        raise RecordError("unreadable key")
    if b"\\" not in literal:
        try:
            return seq, literal[1:-1].decode()
        except UnicodeDecodeError:
            raise RecordError("key is not UTF-8") from None
    try:
        key = orjson.loads(literal)
    except orjson.JSONDecodeError:
        raise RecordError("unreadable key") from None
    if not isinstance(key, str):
        raise RecordError("key is not a string")
    return seq, key


def seq_prefix(line: bytes) -> int | None:
    """The seq of a line from its first bytes (`{"seq":N,`), for skipping lines cheaply; None when not readable."""
    if not line.startswith(b'{"seq":'):
        return None
    end = line.find(b",", 7, 40)
    if end < 0:
        return None
    try:
        return int(line[7:end])
    except ValueError:
        return None


def decode_line(line: bytes) -> Event:
    """A complete line (with its newline) as an Event; RecordError when it is not a readable record."""
    try:
        o = orjson.loads(line)
        seq = o["seq"]
        event = Event(seq, o["id"], o["type"], o["key"], o["ts"], o["data"], o["meta"], o["prev"], o["hash"], line)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"invalid JSON: {exc}") from None
    except KeyError as exc:
        raise RecordError(f"missing field {exc.args[0]!r}") from None
    except TypeError:
        raise RecordError("not a JSON object") from None
    if type(seq) is not int or seq < 1:
        raise RecordError("seq is not a positive integer")
    return event


def describe(exc: Exception) -> str:
    if isinstance(exc, orjson.JSONDecodeError):
        return f"invalid JSON: {exc}"
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    if isinstance(exc, TypeError):
        return "not a JSON object"
    return str(exc)


def line_at(fd: int, offset: int) -> bytes:
    """The complete line starting at `offset`."""
    size = 4096
    while True:
        chunk = os.pread(fd, size, offset)
        end = chunk.find(b"\n")
        if end >= 0:
            return chunk[: end + 1]
        if len(chunk) < size:
            raise RecordError(f"no complete line at offset {offset}")
        size *= 4


def line_ending_at(fd: int, end: int) -> bytes | None:
    """The complete line whose newline is the byte before `end`; None when there is none."""
    size = 4096
    while True:
        start = max(0, end - size)
        chunk = os.pread(fd, end - start, start)
        if len(chunk) != end - start or not chunk.endswith(b"\n"):
            return None
        cut = chunk.rfind(b"\n", 0, len(chunk) - 1)
        if cut >= 0 or start == 0:
            return chunk[cut + 1 :]
        size *= 4


def holds_saved_tail(fd: int, size: int, offset: object, digest: object) -> bool:
    """Whether a stream of `size` bytes still holds, ending at `offset`, the line whose tail_digest a table was saved
    with: then the table describes the stream up to there. False for anything else, unreadable included."""
    if type(offset) is not int or not 0 < offset <= size or not isinstance(digest, str):
        return False
    try:
        return tail_digest(fd, offset) == digest
    except OSError:
        return False


def tail_digest(fd: int, end: int) -> str | None:
    """The SHA-256 of the complete line that ends at byte `end`, or None when no line ends there.

    What a table saved beside a stream (a key table, the worker's message index) is checked against: every line
    carries the hash of the one before, so the same line at the same offset means the same lines before it."""
    line = line_ending_at(fd, end)
    return None if line is None else hashlib.sha256(line).hexdigest()
