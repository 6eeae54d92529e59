"""The poll loop (DESIGN §4): fetch Whop newest-first, append raw alerts, parse them, record how the poll went.

    worker = Worker(settings, store)          # clock=, stop=, client_factory= are seams for tests
    worker.run()                              # until `stop` is set (SIGTERM/SIGINT in main)

Per poll: one append_many per stream (one fsync each) in the order raw -> parsed -> worker, so a crash between any
two leaves nothing the next start cannot finish: raw keys are idempotent, and the start parses every raw event after
the last one parsed by the active version.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from autosig import __version__
from autosig.clock import Clock, rfc3339
from autosig.config import Settings, redact_url
from autosig.events import Event, EventStore, Problem, StoreError
from autosig.events.lines import decode_line, holds_saved_tail, line_at, tail_digest
from autosig.events.record import RecordError
from autosig.logs import say
from autosig.message_index import MessageIndex, tag_value
from autosig.parsing.pipeline import ParseContext, parsed_item
from autosig.schema import PARSED, RAW, WORKER, payload_fields, payload_of, raw_key, version_tag
from autosig.sources.whop import WhopClient, WhopError, retry_delay

RAW_TYPES = frozenset({"alert.received", "alert.edited"})
# More parses than this in one poll (only a start-up backlog) are appended in chunks, bounding memory.
_PARSE_BATCH = 5000
# New alerts named in the log per poll (a backfill of thousands is summarised by the count).
_SHOWN_PER_POLL = 5
# How often a worker waiting for the lease repeats who holds it (it checks far more often).
_LEASE_LOG_EVERY_S = 60.0
# A start that indexes this many raw lines saves the message index for the next start (`<raw stream file>.messages`,
# file store only); below it, indexing is quick anyway.
_SAVE_MESSAGES_LINES = 100_000

log = logging.getLogger("autosig.worker")


class Stopped(Exception):
    """The stop event was set while waiting for Whop; the poll is abandoned without writing anything."""


class LeaseLost(Exception):
    """Another worker holds the store now (Postgres lease expired); stop appending and wait again."""


def message_id(message: dict[str, Any]) -> str:
    """The message id as text, the same way raw_key writes it."""
    value = message.get("id")
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def key_of_line(line: bytes) -> str | None:
    """The idempotency key of a stored line, read from its prefix (seq, id, type, key precede ts; `,"ts":"` cannot
    occur unescaped inside a JSON string). None for a null key or an unreadable line."""
    start = line.find(b',"key":')
    end = line.find(b',"ts":"', start)
    if start < 0 or end < 0:
        return None
    raw = line[start + 7 : end]
    if raw == b"null":
        return None
    if b"\\" not in raw and raw[:1] == b'"' and raw[-1:] == b'"':
        return raw[1:-1].decode("utf-8", "replace")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, str) else None


# `,"key":"parse:<raw seq>:<version>","ts":"` — a key is a JSON string, so its closing quote is the first unescaped one.
_PARSE_KEY = re.compile(rb',"key":"parse:([0-9]+):([^"\\]+)","ts":"')


def _parse_keys(store: EventStore) -> Iterator[tuple[int, str]]:
    """(raw seq, parser version) of every parse in the store. A file store's stream is scanned with one regular
    expression over its committed bytes (a start at a million parses should not pay a Python loop per line); other
    stores go line by line."""
    path_of = getattr(store, "path_of", None)
    path = path_of(PARSED) if path_of is not None else None
    if path is not None and path.exists():
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return
            with mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) as mm:
                end = mm.rfind(b"\n") + 1  # never a torn tail: its parse was not written
                for m in _PARSE_KEY.finditer(mm, 0, end):
                    yield int(m.group(1)), m.group(2).decode("utf-8", "replace")
        return
    for line in store.iter_lines(PARSED):
        key = key_of_line(line)
        if not key or not key.startswith("parse:"):
            continue
        seq_text, _, version = key[6:].partition(":")
        if seq_text.isdigit():
            yield int(seq_text), version


# How the worker writes a raw alert, up to its payload: {"seq":N,"id":"…","type":"alert.received",
# "key":"whop:<message id>:<16-hex tag>","ts":"…","data":{"source":"whop","channel":"<channel>","source_id":"<id>",…
# A start reads only this much of each line; a line of any other shape (or with an escape in these fields) is decoded.
# The source_id must repeat the id in the key (\2), and the tag is 16 hex digits: the pattern checks everything, so
# a start runs no Python per line beyond taking the groups.
_RAW_HEAD = re.compile(
    rb'\{"seq":([0-9]+),"id":"[^"]*","type":"alert\.(?:received|edited)","key":"whop:([^"\\]*):([0-9A-Fa-f]{16})",'
    rb'"ts":"[^"]*","data":\{"source":"whop","channel":"([^"\\]*)","source_id":"\2",'
)


def raw_header(line: bytes) -> tuple[int, str, int, str] | None:
    """(seq, message id, version tag as an int, channel) of a raw alert line in the worker's own shape, read from
    its first bytes; None for any other line."""
    m = _RAW_HEAD.match(line)
    if m is None:
        return None
    seq, mid, tag, channel = m.groups()
    try:
        return int(seq), mid.decode(), int(tag, 16), channel.decode()
    except UnicodeDecodeError:
        return None


@dataclass
class _Collected:
    """What one URL gave in one poll."""

    channel: str
    messages: list[dict[str, Any]] = field(default_factory=list)  # newest first, one per id
    pages: int = 0
    http_status: int | None = None
    gap: bool = False
    initial: bool = False


@dataclass
class _StoreTrouble:
    detail: str
    since: str
    attempts: int = 0
    retry_in_s: float = 0.0


class Worker:
    def __init__(
        self,
        settings: Settings,
        store: EventStore,
        *,
        clock: Clock | None = None,
        stop: threading.Event | None = None,
        client_factory: Callable[[str], Any] | None = None,
        rng: random.Random | None = None,
        holder: str | None = None,
        read_timeout: float = 30.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock or Clock()
        self.stop = stop or threading.Event()
        self.rng = rng or random.Random()
        self.holder = holder or f"worker pid {os.getpid()} on {socket.gethostname()}"
        factory = client_factory or (
            lambda url: WhopClient(
                url,
                settings.whop_access_token,
                connect_timeout=min(10.0, read_timeout),
                read_timeout=read_timeout,
            )
        )
        self.clients = [factory(url) for url in settings.whop_alerts_urls]
        self.version = settings.active_parser_version()
        # message id -> where its versions are in the raw stream (and the tag of the latest); see _index_raw
        self.messages = MessageIndex(self._load_raw)
        self.channels: set[str] = set()  # channels with at least one raw event (a first poll elsewhere is initial)
        self.ctx = ParseContext(settings.authors, self.messages)
        self.unparsed: list[Event] = []  # raw events appended but not yet parsed by the active version
        self.raw_seq = 0
        # A file store's raw stream is read directly: positions in the index are byte offsets into it.
        path_of = getattr(store, "path_of", None)
        self._raw_path = path_of(RAW) if path_of is not None and hasattr(store, "committed_size") else None
        self._raw_file: Any = None  # open on the raw stream (file store) while indexed
        self._raw_offset = 0  # file store: end of the last indexed line
        self._raw_lines = 0  # file store: lines indexed (for naming unreadable ones)
        self._indexed_seq = 0  # other stores: the last indexed seq
        self.failures = 0  # consecutive failed polls
        self.store_trouble: _StoreTrouble | None = None
        self.started = False

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def run(self) -> int:
        """Waits for the lease, starts, polls until stopped, then records worker.stopped. Returns the exit code."""
        try:
            while not self.stop.is_set():
                if not self._wait_for_lease():
                    return 0
                if not self._start_with_retry():
                    break
                try:
                    self._loop()
                except LeaseLost as exc:
                    log.error("%s; not appending until it is released", exc)
                    self.started = False
                    continue
        finally:
            self.shutdown()
        return 0

    def _loop(self) -> None:
        bugs = 0
        while not self.stop.is_set():
            try:
                delay = self.poll_once()
                bugs = 0
            except (LeaseLost, Stopped):
                raise
            except Exception:
                # A defect, not an outage: say so loudly and keep trying rather than die (a restart would hit it
                # again); the dashboard goes stale because no poll completes.
                bugs += 1
                log.exception("unexpected error in a poll; retrying")
                delay = retry_delay("http_5xx", bugs, self.settings.poll_interval_seconds, rng=self.rng)
            if self.stop.is_set():
                return
            self.clock.sleep(delay, self.stop)

    def _wait_for_lease(self) -> bool:
        """Blocks until this worker holds the single-worker lease; False when stopped first."""
        last_logged = None
        last_holder = None
        pause = max(0.05, min(self.settings.poll_interval_seconds, 5.0))
        while not self.stop.is_set():
            try:
                holder = self.store.try_acquire_worker_lease(self.holder)
            except (StoreError, OSError) as exc:
                holder = None
                say(f"autosig worker: cannot take the worker lease: {_describe(exc)}; retrying")
                if self.clock.sleep(pause, self.stop):
                    return False
                continue
            if holder is None:
                return True
            now = self.clock.monotonic()
            if holder != last_holder or last_logged is None or now - last_logged >= _LEASE_LOG_EVERY_S:
                log.warning("another worker holds this store: %s; waiting for it to stop (not appending)", holder)
                last_logged, last_holder = now, holder
            if self.clock.sleep(pause, self.stop):
                return False
        return False

    def _start_with_retry(self) -> bool:
        attempt = 0
        while not self.stop.is_set():
            try:
                self.start()
                return True
            except Stopped:
                return False
            except (StoreError, OSError) as exc:
                attempt += 1
                delay = self._note_store_trouble(exc, attempt)
                if self.clock.sleep(delay, self.stop):
                    return False
        return False

    def start(self) -> None:
        """Rebuilds the index from the raw stream, appends worker.started, parses what the last run left unparsed."""
        began = time.perf_counter()
        self._rebuild()
        s = self.settings
        if s.live_trading:
            log.error(
                "LIVE_TRADING=true but no broker is wired: AutoSig records and parses alerts only and never sends an order"
            )
        data = {
            "poll_interval_seconds": s.poll_interval_seconds,
            "stale_after_seconds": s.stale_after_seconds,
            "parser_version": self.version,
            "dry_run": s.dry_run,
            "live_trading": s.live_trading,
            "live_trading_wired": False,
            "channels": [c.channel for c in self.clients],
            "sources": [redact_url(c.url) for c in self.clients],
            "max_backfill_pages": s.max_backfill_pages,
            "version": __version__,
            "raw_events": self.raw_seq,
            "unparsed_at_start": len(self.unparsed),
        }
        self._append(WORKER, [("worker.started", data, None, None)])
        log.info(
            "worker started: %d raw events indexed (%d messages) in %.2f s; %d left to parse with parser v%s; "
            "polling %s every %gs",
            self.raw_seq,
            len(self.messages),
            time.perf_counter() - began,
            len(self.unparsed),
            self.version,
            ", ".join(data["channels"]) or "nothing",
            s.poll_interval_seconds,
        )
        self.started = True  # what is left unparsed is parsed by the first poll's write, before anything new

    def _rebuild(self) -> None:
        """One pass over the raw stream feeding the message index (ids, positions and version tags; payloads are not
        held) and the channels -- from where the index saved by an earlier start ends, when there is one; then what
        is left to parse."""
        self._close_raw()
        self.messages = MessageIndex(self._load_raw)
        self.channels = set()
        self.raw_seq = 0
        self._raw_offset = self._raw_lines = self._indexed_seq = 0
        self._load_saved_messages()
        self.ctx = ParseContext(self.settings.authors, self.messages)
        lines_before = self._raw_lines
        self._index_raw(starting=True)
        if self._raw_lines - lines_before >= _SAVE_MESSAGES_LINES:
            self._save_messages()
        parse_after = self._parsed_through()
        self.unparsed = []
        if parse_after < self.raw_seq:
            unread = self.store.read(RAW, after=parse_after, on_problem=lambda problem: None)  # named above
            self.unparsed = [ev for ev in unread if ev.type in RAW_TYPES]

    def _load_saved_messages(self) -> None:
        """Takes the message index saved by an earlier start, when the raw stream still holds, at the same offset,
        the very line it was saved after (see tail_digest); the start then indexes only the lines after it. Lines
        before it that were unreadable were reported by the start that saved it."""
        raw_path = self._raw_path
        if raw_path is None:
            return
        loaded = MessageIndex.load(_messages_path(raw_path), self._load_raw)
        if loaded is None:
            return
        index, state = loaded
        offset, lines, raw_seq, channels = (state.get(k) for k in ("offset", "lines", "raw_seq", "channels"))
        if not (type(lines) is int and type(raw_seq) is int and isinstance(channels, list)):
            return
        size, _ = self.store.committed_size(RAW)
        try:
            with open(raw_path, "rb") as f:
                if not holds_saved_tail(f.fileno(), size, offset, state.get("tail")):
                    return  # another raw stream (replaced, truncated, rewritten): index it from the start
        except OSError:
            return
        self.messages, self.channels, self.raw_seq = index, {c for c in channels if isinstance(c, str)}, raw_seq
        self._raw_offset, self._raw_lines = offset, lines

    def _save_messages(self) -> None:
        """Saves the message index of the raw stream up to the last indexed line, for the next start."""
        if self._raw_path is None or self._raw_file is None:
            return
        try:
            tail = tail_digest(self._raw_file.fileno(), self._raw_offset)
            if tail is not None:
                state = {"offset": self._raw_offset, "lines": self._raw_lines, "raw_seq": self.raw_seq,
                         "channels": sorted(self.channels), "tail": tail}  # fmt: skip
                self.messages.save(_messages_path(self._raw_path), state)
        except OSError as exc:
            log.warning("could not save the message index for the next start: %s", _describe(exc))

    def _parsed_through(self) -> int:
        """The raw seq after which the start parses: a crash between the raw and parsed appends leaves raw events
        after the last parse by this version. When this version has parsed nothing yet, older history belongs to
        `autosig reprocess`, not to the start."""
        head = self.store.head(PARSED)
        data = head.data if head is not None and isinstance(head.data, dict) else {}
        if data.get("parser_version") == self.version and data.get("raw_seq") == self.raw_seq:
            return self.raw_seq  # the usual start: the newest parse is of the newest raw event (no scan needed)
        parsed_active = 0
        for seq, version in _parse_keys(self.store):
            if seq > parsed_active and version == self.version:
                parsed_active = seq
        return parsed_active or self._raw_seq_at_first_start()

    def _raw_seq_at_first_start(self) -> int:
        """When this version has parsed nothing: the raw events appended since a worker first started with it are
        that worker's own (killed before its first parse) and must be parsed now, whatever other versions a
        concurrent `reprocess` parsed meanwhile. Before that start, history belongs to `reprocess`."""
        any_start = False
        for ev in self.store.read(WORKER, on_problem=lambda problem: None):
            if ev.type != "worker.started" or not isinstance(ev.data, dict):
                continue
            any_start = True
            if ev.data.get("parser_version") == self.version:
                return int(ev.data.get("raw_events") or 0)
        # No worker ever started on this store (an imported log): everything in it is this worker's to parse.
        return self.raw_seq if any_start else 0

    def _index_raw(self, starting: bool = False) -> None:
        """Brings the message index up to date with the raw stream: every event at start, the new ones after an
        append."""
        problems: list[Problem] = []
        if self._raw_path is None:
            seq = self._index_raw_events(problems.append, starting)
        else:
            seq = self._index_raw_file(problems.append, starting)
        self.raw_seq = max(self.raw_seq, seq)
        for problem in problems[:20]:
            log.warning("raw stream line %d is unreadable (%s); skipped", problem.line, problem.error)

    def _index_raw_events(self, on_problem: Callable[[Problem], None], starting: bool) -> int:
        """Other stores: indexes the events after the last indexed seq (positions are seqs); returns the last seq."""
        seq = self.raw_seq
        for ev in self.store.read(RAW, after=self._indexed_seq, on_problem=on_problem):
            seq = self._indexed_seq = ev.seq
            if starting and not seq & 0xFFF and self.stop.is_set():
                raise Stopped  # a start over a million events must not delay a SIGTERM
            mid, tag, channel = _alert_fields(ev)
            if mid is not None:
                self.messages.add(mid, seq, tag)
                if channel is not None:
                    self.channels.add(channel)
        return seq

    def _index_raw_file(self, on_problem: Callable[[Problem], None], starting: bool) -> int:
        """A file store: indexes the lines after the last indexed byte (positions are byte offsets), each read by
        its header only when it is in the worker's own shape; returns the last seq. One flat loop with no per-line
        generator or attribute writes: a start runs it for every raw event."""
        seq = self.raw_seq
        size, _ = self.store.committed_size(RAW)
        if size <= self._raw_offset:
            return seq
        if self._raw_file is None:
            self._raw_file = open(self._raw_path, "rb", buffering=0)  # noqa: SIM115 - kept open for _load_raw
        if self._raw_offset == 0 and size > 1 << 20:
            sample = os.pread(self._raw_file.fileno(), 1 << 18, 0)
            self.messages.reserve(int(size / (len(sample) / max(1, sample.count(b"\n")))))
        add, channels, stop = self.messages.add, self.channels, self.stop
        pos, lines = self._raw_offset, self._raw_lines
        with open(self._raw_path, "rb", buffering=1 << 20) as f:
            f.seek(pos)
            try:
                for line in f:
                    end = pos + len(line)
                    if end > size or line[-1] != 10:
                        break  # beyond the committed size, or a torn tail
                    lines += 1
                    if starting and not lines & 0xFFF and stop.is_set():
                        raise Stopped  # a start over a million events must not delay a SIGTERM
                    head = raw_header(line) or _decoded_header(line, lines, on_problem)
                    if head is not None:
                        seq, mid, tag, channel = head
                        if mid is not None:
                            add(mid, pos, tag)
                            if channel is not None and channel not in channels:
                                channels.add(channel)
                    pos = end
            finally:
                self._raw_offset, self._raw_lines = pos, lines
        return seq

    def _load_raw(self, position: int) -> Event | None:
        """The raw event at a position of the message index (None when it cannot be read)."""
        try:
            if self._raw_path is None:
                ev = next(iter(self.store.read(RAW, after=position - 1, limit=1)), None)
                return ev if ev is not None and ev.seq == position else None
            if self._raw_file is None:
                self._raw_file = open(self._raw_path, "rb", buffering=0)  # noqa: SIM115 - closed by _close_raw
            return decode_line(line_at(self._raw_file.fileno(), position))
        except (RecordError, StoreError, OSError):
            return None

    def _close_raw(self) -> None:
        if self._raw_file is not None:
            self._raw_file.close()
            self._raw_file = None

    def shutdown(self) -> None:
        """Records worker.stopped (one attempt: a stopping process must not hang on a dead store) and lets go."""
        if self.started:
            try:
                self._append(
                    WORKER, [("worker.stopped", {"reason": "signal" if self.stop.is_set() else "exit"}, None, None)]
                )
                log.info("worker stopped")
            except (StoreError, OSError) as exc:
                say(f"autosig worker: could not record worker.stopped: {_describe(exc)}")
            self.started = False
        self._close_raw()
        try:
            self.store.release_worker_lease()
        except (StoreError, OSError):
            pass
        for client in self.clients:
            close = getattr(client, "close", None)
            if close is not None:
                close()

    # --- one poll ------------------------------------------------------------------------------------------------

    def poll_once(self) -> float:
        """Fetches every URL, writes what changed, records the outcome. Returns seconds until the next poll."""
        began = self.clock.monotonic()
        log.info("Fetching alerts...")
        self._check_lease()
        collected: list[_Collected] = []
        errors: list[tuple[str, WhopError]] = []
        for client in self.clients:
            try:
                collected.append(self._collect(client))
            except Stopped:
                return 0.0
            except WhopError as exc:
                errors.append((client.channel, exc))
            except Exception as exc:  # noqa: BLE001 - the client's own defect still becomes a reported failure
                log.exception("unexpected error while fetching %s", client.channel)
                detail = f"unexpected {type(exc).__name__} while fetching (see app.log)"
                errors.append((client.channel, WhopError("network", detail)))
        duration_ms = round((self.clock.monotonic() - began) * 1000, 1)
        interval = self.settings.poll_interval_seconds
        next_failures = self.failures + 1 if errors else 0
        delay = interval
        if errors:
            delay = max(retry_delay(e.reason, next_failures, interval, e.retry_after, self.rng) for _, e in errors)
        outcome = self._outcome(collected, errors, duration_ms, delay)
        try:
            new, edited = self._write(collected, outcome)
        except (StoreError, OSError) as exc:
            self.failures += 1
            return self._note_store_trouble(exc, self.failures)
        self.failures = next_failures
        self._log_outcome(collected, errors, new, edited, delay)
        return delay

    def _check_lease(self) -> None:
        try:
            holder = self.store.try_acquire_worker_lease(self.holder)
        except (StoreError, OSError):
            return  # cannot tell; the write below will fail and be reported if the store is really down
        if holder is not None:
            raise LeaseLost(f"another worker took over this store: {holder}")

    def _fetch(self, client: Any, after: str | None) -> Any:
        """client.fetch_page on a helper thread, so a stop request never waits for a slow Whop answer."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def call() -> None:
            try:
                box["page"] = client.fetch_page(after)
            except BaseException as exc:  # noqa: BLE001 - handed to the polling thread as is
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=call, name="whop-fetch", daemon=True).start()
        while not done.wait(0.05):
            if self.stop.is_set():
                raise Stopped
        if "error" in box:
            raise box["error"]
        return box["page"]

    def _collect(self, client: Any) -> _Collected:
        """Pages newest-first until a page whose messages are all recorded with the same content."""
        out = _Collected(channel=client.channel, initial=client.channel not in self.channels)
        seen: dict[str, int] = {}  # id -> position in out.messages
        after: str | None = None
        limit = self.settings.max_backfill_pages
        while True:
            page = self._fetch(client, after)
            out.pages += 1
            out.http_status = page.http_status
            all_known = bool(page.messages)  # an empty page proves nothing; its cursor (if any) is followed
            for message in page.messages:
                mid = message_id(message)
                tag = version_tag(message)
                # Only what is already recorded counts as known: a page that merely repeats messages fetched earlier
                # in this poll (pages shifted under offset cursors) must not end the catch-up.
                if not self.messages.is_latest(mid, tag):
                    all_known = False
                if mid in seen:
                    # Seen on an earlier page of this poll (pages shifted): keep its place, take the later fetch.
                    out.messages[seen[mid]] = message
                else:
                    seen[mid] = len(out.messages)
                    out.messages.append(message)
            if all_known or not page.has_next_page:
                break
            if not page.end_cursor:
                log.warning("%s: Whop said there are more pages but gave no cursor; stopping here", client.channel)
                break
            if out.pages >= limit:
                out.gap = not out.initial
                break
            after = page.end_cursor
        return out

    def _outcome(
        self, collected: list[_Collected], errors: list[tuple[str, WhopError]], duration_ms: float, delay: float
    ) -> dict[str, Any]:
        if errors:
            channel, err = errors[0]
            detail = err.detail if len(self.clients) == 1 else f"{channel}: {err.detail}"
            if len(errors) > 1:
                detail += f" (and {len(errors) - 1} more channel(s) failing)"
            return {
                "type": "poll.failed",
                "reason": err.reason,
                "detail": detail,
                "http_status": err.http_status,
                "retry_in_s": round(delay, 3),
                "channel": channel,
            }
        return {
            "type": "poll.completed",
            "pages": sum(c.pages for c in collected),
            "http_status": collected[-1].http_status if collected else None,
            "duration_ms": duration_ms,
            "gap": any(c.gap for c in collected),
            "initial": any(c.initial for c in collected),
        }

    def _write(self, collected: list[_Collected], outcome: dict[str, Any]) -> tuple[int, int]:
        """raw, then parsed, then worker: one append_many each."""
        items = []
        for c in collected:
            for message in reversed(c.messages):  # oldest first
                mid = message_id(message)
                if self.messages.is_latest(mid, version_tag(message)):
                    continue
                data = {"source": "whop", "channel": c.channel, "source_id": mid, **payload_fields(message)}
                kind = "alert.received" if self.messages.tag_of(mid) is None else "alert.edited"
                items.append((kind, data, None, raw_key(message)))
        new = edited = 0
        fresh: list[Event] = []
        if items:
            known_seq = self.raw_seq
            for ev in self._append(RAW, items):
                if ev.seq <= known_seq:
                    continue  # already in the stream (written by an attempt that seemed to fail)
                known_seq = ev.seq
                self.unparsed.append(ev)
                fresh.append(ev)
                if ev.type == "alert.received":
                    new += 1
                else:
                    edited += 1
            self._index_raw()  # reads back what was just appended (and anything another writer added)
        for ev in fresh[-_SHOWN_PER_POLL:]:
            log.info(
                "  %s %s: %s", "edited" if ev.type == "alert.edited" else "new", ev.data["source_id"], _snippet(ev)
            )
        self._parse_pending(finish=len(fresh))
        events: list[tuple] = []
        if self.store_trouble is not None:
            t = self.store_trouble
            events.append(
                (
                    "poll.failed",
                    {
                        "reason": "store",
                        "detail": t.detail,
                        "http_status": None,
                        "retry_in_s": round(t.retry_in_s, 3),
                        "since": t.since,
                        "attempts": t.attempts,
                    },
                    None,
                    None,
                )
            )
        body = {k: v for k, v in outcome.items() if k != "type"}
        if outcome["type"] == "poll.completed":
            body = {"new": new, "edited": edited, **body}
        events.append((outcome["type"], body, None, None))
        self._append(WORKER, events)
        if self.store_trouble is not None:
            log.warning("the event store accepts writes again (after %d failed attempts)", self.store_trouble.attempts)
            self.store_trouble = None
        return new, edited

    def _parse_pending(self, finish: int = 0) -> None:
        """Parses what is unparsed in one append (a start-up backlog in chunks). A stop request ends the parsing
        between two alerts, so SIGTERM never waits for a backlog, except for the last `finish` events: this poll's
        own appends (a few pages' worth) are always parsed, so a stopped worker leaves none of its own unparsed."""

        def stopping(collected: int) -> bool:
            return self.stop.is_set() and len(self.unparsed) - collected > finish

        first = True
        while self.unparsed and not stopping(0):
            if not first:
                self._check_lease()  # a long backlog must not outlive a Postgres lease without renewing it
            first = False
            items = []
            for ev in self.unparsed[:_PARSE_BATCH]:
                if stopping(len(items)):
                    break
                items.append(parsed_item(ev, self._parse_one(ev)))
            if items:
                self._append(PARSED, items)
                del self.unparsed[: len(items)]

    def _parse_one(self, ev: Event) -> dict[str, Any]:
        try:
            return self.ctx.parse(ev, self.version)
        except Exception as exc:  # noqa: BLE001 - one alert must never stop ingestion
            log.error(
                "parser v%s failed on raw event %d (%s); recorded as unparseable",
                self.version,
                ev.seq,
                type(exc).__name__,
            )
            return {
                "raw_seq": ev.seq,
                "source_id": ev.data.get("source_id"),
                "parser_version": self.version,
                "kind": "unparseable",
                "reason": f"parser error: {type(exc).__name__}",
                "signals": [],
            }

    def _append(self, stream: str, items: list[tuple]) -> list[Event]:
        return self.store.append_many(stream, items)

    def _note_store_trouble(self, exc: BaseException, attempt: int) -> float:
        detail = f"the event store refused a write: {_describe(exc)}"
        delay = retry_delay("store", attempt, self.settings.poll_interval_seconds, rng=self.rng)
        if self.store_trouble is None:
            self.store_trouble = _StoreTrouble(detail, rfc3339(self.clock.time()))
        t = self.store_trouble
        t.detail, t.attempts, t.retry_in_s = detail, t.attempts + 1, delay
        say(f"autosig worker: {detail}; retrying in {delay:.1f} s (attempt {t.attempts})")
        return delay

    def _log_outcome(
        self, collected: list[_Collected], errors: list[tuple[str, WhopError]], new: int, edited: int, delay: float
    ) -> None:
        for c in collected:
            if c.gap:
                log.warning(
                    "GAP: read %d pages of %s (WHOP_MAX_BACKFILL_PAGES) without meeting a known message; "
                    "older alerts in between were not fetched",
                    c.pages,
                    c.channel,
                )
        for channel, err in errors:
            level = logging.ERROR if err.reason in ("auth", "bad_response", "http_4xx") else logging.WARNING
            log.log(level, "poll failed (%s) for %s: %s; next try in %.1f s", err.reason, channel, err.detail, delay)
        if new or edited:
            pages = sum(c.pages for c in collected)
            log.info("recorded %d new and %d edited alert(s) from %d page(s)", new, edited, pages)


def _messages_path(raw_path: Path) -> Path:
    """Where a start saves the message index of a file store's raw stream: beside it."""
    return raw_path.with_name(raw_path.name + ".messages")


def _decoded_header(
    line: bytes, line_no: int, on_problem: Callable[[Problem], None]
) -> tuple[int, str | None, int | None, str | None] | None:
    """(seq, message id, version tag, channel) of a raw line not in the worker's own shape, decoded in full; None
    (reported) when it is not a readable record."""
    try:
        ev = decode_line(line)
    except RecordError as exc:
        on_problem(Problem(RAW, line_no, str(exc)))
        return None
    return (ev.seq, *_alert_fields(ev))


def _alert_fields(ev: Event) -> tuple[str | None, int | None, str | None]:
    """(message id, version tag, channel) of a decoded raw event; the id is None when it is not an alert."""
    if ev.type not in RAW_TYPES or not isinstance(ev.data, dict):
        return None, None, None
    source_id = ev.data.get("source_id")
    if not isinstance(source_id, str):
        return None, None, None
    key = ev.key
    tag = tag_value(key[-16:]) if key and key.startswith("whop:") else None  # raw keys end in a 16-hex version tag
    channel = ev.data.get("channel")
    return source_id, tag, channel if isinstance(channel, str) else None


def _snippet(ev: Event, width: int = 90) -> str:
    """A one-line, terminal-safe preview of an alert (its text is written by strangers: no control characters)."""
    try:
        content = payload_of(ev.data).get("content")
    except (ValueError, KeyError, TypeError, AttributeError):
        content = None
    if not isinstance(content, str):
        return "(no text)"
    text = " ".join(content[: width * 2].split())
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
    return text[:width] + ("…" if len(text) > width or len(content) > width * 2 else "")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return f"{os.strerror(exc.errno)} (errno {exc.errno})"
    text = str(exc)
    return text if text else type(exc).__name__


def iter_raw(store: EventStore) -> Iterator[Event]:
    """Raw alert events of a store (for tools and tests)."""
    return (ev for ev in store.read(RAW) if ev.type in RAW_TYPES)


def _read_timeout(env: dict[str, str] | os._Environ[str]) -> float:
    from autosig.config import ConfigError

    raw = (env.get("WHOP_TIMEOUT_SECONDS") or "").strip()
    if not raw:
        return 30.0
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError("WHOP_TIMEOUT_SECONDS", f"{raw!r} is not a number of seconds") from None
    if not (0 < value <= 600):
        raise ConfigError("WHOP_TIMEOUT_SECONDS", f"{raw!r} must be between 0 and 600 seconds")
    return value


def main() -> int:
    """`python main.py`: configuration (exit 2 when invalid), logging, signals, then the poll loop."""
    import signal
    import sys

    from autosig.config import ConfigError, load_or_exit, url_secrets
    from autosig.events import open_store
    from autosig.logs import setup_logging

    settings = load_or_exit(require_source=True)
    try:
        read_timeout = _read_timeout(os.environ)
    except ConfigError as exc:
        print(f"autosig: invalid configuration: {exc}", file=sys.stderr)
        return 2
    token = settings.whop_access_token
    # the token and whatever secrets the listing URLs carry (?token=…) are masked in every log line
    url_parts = [v for url in settings.whop_alerts_urls for v in url_secrets(url)]
    setup_logging(settings.log_dir, secrets=[token.reveal() if token else None, *url_parts])
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()  # only a flag: the loop finishes the append in progress, then records worker.stopped

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if token is None:
        log.warning("WHOP_ACCESS_TOKEN is not set; Whop will most likely answer 401")
    clock = Clock()
    store = None
    attempt = 0
    while store is None:
        try:
            store = open_store(settings.store_url, writer="worker", fsync=settings.fsync)
        except ModuleNotFoundError as exc:
            print(
                f"autosig: invalid configuration: AUTOSIG_STORE_URL: this store needs the {exc.name} package "
                "(pip install 'autosig[postgres]')",
                file=sys.stderr,
            )
            return 2
        except (StoreError, OSError) as exc:
            attempt += 1
            delay = retry_delay("store", attempt, settings.poll_interval_seconds)
            say(f"autosig worker: cannot open the event store: {_describe(exc)}; retrying in {delay:.1f} s")
            if clock.sleep(delay, stop):
                return 0
    try:
        return Worker(settings, store, clock=clock, stop=stop, read_timeout=read_timeout).run()
    except Exception:
        log.exception("worker crashed")
        return 1
    finally:
        store.close()
