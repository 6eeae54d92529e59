"""Fuzzing the record reader: arbitrary bytes never crash it (only RecordError, or a Problem when a handler is
given), never hang it, and never hide a complete valid line next to garbage. (Parser fuzzing: tests/parsing.)"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autosig.events._file_reading import Position, decode_from
from autosig.events.base import Problem
from autosig.events.file import FileStore
from autosig.events.lines import decode_line, header, seq_prefix, stated_hash
from autosig.events.record import Event, RecordError, decode, encode, line_hash_ok, split_hash

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

VALID = encode(1, "id-1", "t", "k", "2026-11-28T00:00:00.000000Z", {"a": "b"}, {"w": 1}, "0" * 64).line


def json_values() -> st.SearchStrategy:
    scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text()
    return st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(), c, max_size=4),
                        max_leaves=12)


# Bytes that look like records more often than uniform noise does: pieces of a valid line, JSON, and noise.
record_like = st.one_of(
    st.binary(max_size=300),
    json_values().map(orjson.dumps),
    st.tuples(st.integers(0, len(VALID)), st.integers(0, len(VALID)), st.binary(max_size=20)).map(
        lambda t: VALID[: min(t[:2])] + t[2] + VALID[max(t[:2]) :]
    ),
    st.dictionaries(st.sampled_from(["seq", "id", "type", "key", "ts", "data", "meta", "prev", "hash", "x"]),
                    json_values(), max_size=10).map(orjson.dumps),
)


@FAST
@given(record_like, st.booleans())
def test_decode_raises_only_record_error(data: bytes, newline: bool) -> None:
    line = data + b"\n" if newline else data
    for fn in (decode, decode_line):
        try:
            event = fn(line if fn is decode else data + b"\n")
        except RecordError:
            continue
        assert isinstance(event, Event) and type(event.seq) is int and event.seq >= 1
        assert event.line.endswith(b"\n")


@FAST
@given(record_like)
def test_header_hash_and_prefix_helpers_never_crash(data: bytes) -> None:
    line = data + b"\n"
    try:
        seq, key = header(line)
        assert type(seq) is int and (key is None or isinstance(key, str))
    except RecordError:
        pass
    assert seq_prefix(line) is None or isinstance(seq_prefix(line), int)
    stated = stated_hash(line)
    assert stated is None or len(stated) == 64
    try:
        body, _ = split_hash(line)
        assert isinstance(body, bytes)
        line_hash_ok(line)
    except RecordError:
        pass


def valid_lines(n: int, start: int = 1) -> list[bytes]:
    return [encode(start + i, f"id-{start + i}", "t", None, "2026-11-28T00:00:00.000000Z", {"i": start + i}, {},
                   "0" * 64).line for i in range(n)]


@FAST
@given(st.lists(st.one_of(st.sampled_from(valid_lines(5)), record_like), max_size=20))
def test_decoding_surfaces_every_valid_line_and_names_the_rest(lines: list[bytes]) -> None:
    lines = [line.replace(b"\n", b" ") + b"\n" if not line.endswith(b"\n") else line for line in lines]
    lines = [line if line.count(b"\n") == 1 else line.replace(b"\n", b" ")[:-1] + b"\n" for line in lines]
    problems: list[Problem] = []
    data = b"".join(lines)
    pos = Position()
    events = list(decode_from(io.BytesIO(data), "raw", len(data), pos, 0, problems.append))
    assert (pos.offset, pos.line_no) == (len(data), len(lines))
    assert len(events) + len(problems) == len(lines), "a line was neither surfaced nor named"
    good = {n for n, line in enumerate(lines, 1) if _decodes(line)}
    assert {p.line for p in problems} == set(range(1, len(lines) + 1)) - good
    assert [e.line for e in events] == [lines[n - 1] for n in sorted(good)]


def _decodes(line: bytes) -> bool:
    try:
        decode_line(line)
    except RecordError:
        return False
    return True


def garbage_line() -> st.SearchStrategy[bytes]:
    return record_like.map(lambda b: b.replace(b"\n", b"") + b"\n")


@SLOW
@given(a=st.integers(0, 6), garbage=st.lists(garbage_line(), min_size=1, max_size=6), b=st.integers(0, 6),
       torn=st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")))
def test_file_store_reads_every_valid_line_around_garbage_and_no_torn_tail(tmp_path_factory, a, garbage, b, torn):
    log_dir: Path = tmp_path_factory.mktemp("fuzz")
    store = FileStore(log_dir, fsync=False)
    first = store.append_many("raw", [("t", {"i": i}, None, None) for i in range(a)])
    good_after = valid_lines(b, start=1000)  # complete, decodable lines (seq and chain do not matter to a reader)
    with open(store.path_of("raw"), "ab") as f:
        f.write(b"".join(garbage) + b"".join(good_after) + torn)
    problems: list[Problem] = []
    events = list(FileStore(log_dir, fsync=False).read("raw", on_problem=problems.append))
    garbage_good = [g for g in garbage if _decodes(g)]
    assert [e.line for e in events] == [e.line for e in first] + garbage_good + good_after
    assert len(problems) == len(garbage) - len(garbage_good)
    assert all(a < p.line <= a + len(garbage) for p in problems), "a problem named outside the garbage"


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(garbage=st.lists(garbage_line(), min_size=1, max_size=4), torn=st.binary(min_size=1, max_size=30).map(
    lambda b: b.replace(b"\n", b"") or b"{"))
def test_tail_over_garbage_follows_every_valid_line_and_never_hangs(tmp_path_factory, garbage, torn):
    log_dir: Path = tmp_path_factory.mktemp("tailfuzz")
    store = FileStore(log_dir, fsync=False)
    store.append_many("raw", [("t", {"i": i}, None, None) for i in range(2)])
    stop = threading.Event()
    seen: list[bytes] = []
    problems: list[Problem] = []
    errors: list[BaseException] = []

    def follow() -> None:
        try:
            for ev in FileStore(log_dir, fsync=False).tail("raw", stop=stop, on_problem=problems.append):
                seen.append(ev.line)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    first = [e.line for e in store.read("raw")]
    after = valid_lines(2, start=500)
    with open(store.path_of("raw"), "ab") as f:
        for chunk in [*garbage, torn]:  # garbage arrives line by line, then a torn write, not finished yet
            f.write(chunk)
            f.flush()
            time.sleep(0.01)
    good_garbage = [g for g in garbage if _decodes(g)]
    wait_for(lambda: len(seen) >= len(first) + len(good_garbage))
    time.sleep(0.2)
    assert seen == first + good_garbage, "a torn write was surfaced (or a valid line was not)"
    with open(store.path_of("raw"), "ab") as f:  # the writer finishes its line, then more follows
        f.write(b"\n" + b"".join(after))
    wait_for(lambda: seen[-1:] == after[-1:])
    stop.set()
    thread.join(5)
    assert not thread.is_alive(), "the tail did not stop"
    assert not errors, errors
    finished = torn + b"\n"
    assert seen == first + good_garbage + ([finished] if _decodes(finished) else []) + after
    assert len(problems) == len(garbage) - len(good_garbage) + (0 if _decodes(finished) else 1)


def wait_for(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the tail hung"
        time.sleep(0.01)
