"""The ingest stage: Whop in, `raw` and `worker` out.

One poll fetches every source newest-first until a page on which every message is already recorded with the same
content (so a worker that was down catches up without gaps, and edits to recent messages are seen), appends the new
and changed messages oldest first as `alert.received` / `alert.edited`, lets the caller parse them (the worker's
parse stage) and then records how the poll went: `poll.completed`, or `poll.failed` with exactly one reason. One
append per stream, in the order raw -> parsed -> worker, so a crash between any two leaves nothing the next start
cannot finish: raw keys are idempotent, and the parse stage recovers from its own keys. See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from autosig.clock import Clock, rfc3339
from autosig.events import Event, EventStore, StoreError
from autosig.logs import say
from autosig.schema import (
    ALERT_RECEIVED,
    RAW,
    WORKER,
    Draft,
    alert_edited,
    alert_received,
    message_id,
    payload_of,
    poll_completed,
    poll_failed,
    version_tag,
)
from autosig.sources.whop import WhopError, retry_delay
from autosig.stages.raw_index import RawIndex

log = logging.getLogger("autosig.worker")

# New alerts named in the log per poll (a backfill of thousands is summarised by the count).
_SHOWN_PER_POLL = 5


class Stopped(Exception):
    """The stop flag was set while waiting for Whop; the poll is abandoned without writing anything."""


class Source(Protocol):
    """A Whop listing the worker polls (autosig.sources.whop.WhopClient, or a test's fake)."""

    channel: str

    def fetch_page(self, after: str | None = None) -> Any: ...


@dataclass
class Collected:
    """What one source gave in one poll."""

    channel: str
    messages: list[dict[str, Any]] = field(default_factory=list)  # newest first, one per id
    pages: int = 0
    http_status: int | None = None
    gap: bool = False
    initial: bool = False


@dataclass
class PollResult:
    """When to poll again, and why not sooner: the reason a poll failed (rate_limited holds off every wake-up)."""

    delay: float
    failure: str | None


@dataclass
class StoreTrouble:
    """The event store refused a write: reported on stderr at once, recorded as poll.failed (store) once it can."""

    detail: str
    since: str
    attempts: int = 0
    retry_in_s: float = 0.0


class Ingest:
    def __init__(
        self,
        store: EventStore,
        sources: Sequence[Source],
        index: RawIndex,
        *,
        poll_interval: float,
        max_backfill_pages: int,
        clock: Clock,
        stop: threading.Event,
        rng: random.Random,
    ) -> None:
        self.store = store
        self.sources = list(sources)
        self.index = index
        self.poll_interval = poll_interval
        self.max_backfill_pages = max_backfill_pages
        self.clock = clock
        self.stop = stop
        self.rng = rng
        self.failures: dict[str, int] = {}  # consecutive failed polls, by channel
        self.store_failures = 0
        self.store_trouble: StoreTrouble | None = None

    def poll(self, after_raw: Callable[[list[Event]], None], sources: Sequence[Source] | None = None) -> PollResult:
        """Fetches the sources (default: every one), writes what changed (calling after_raw with the new raw events
        before the poll outcome is recorded), records the outcome. Returns when to poll them again."""
        began = self.clock.monotonic()
        log.info("Fetching alerts...")
        sources = list(self.sources if sources is None else sources)
        collected: list[Collected] = []
        errors: list[tuple[str, WhopError]] = []
        for source in sources:
            try:
                collected.append(self.collect(source))
            except Stopped:
                return PollResult(0.0, None)
            except WhopError as exc:
                errors.append((source.channel, exc))
            except Exception as exc:  # noqa: BLE001 - the client's own defect still becomes a reported failure
                log.exception("unexpected error while fetching %s", source.channel)
                detail = f"unexpected {type(exc).__name__} while fetching (see app.log)"
                errors.append((source.channel, WhopError("network", detail)))
        duration_ms = round((self.clock.monotonic() - began) * 1000, 1)
        delay = self.poll_interval
        if errors:
            delay = max(retry_delay(e.reason, self.failures.get(channel, 0) + 1, self.poll_interval, e.retry_after,
                                    self.rng) for channel, e in errors)  # fmt: skip
        try:
            new, edited = self._write(collected, after_raw, self._outcome(collected, errors, duration_ms, delay))
        except (StoreError, OSError) as exc:
            self.store_failures += 1
            return PollResult(self.note_store_trouble(exc, self.store_failures), None)
        self.store_failures = 0
        for c in collected:
            self.failures.pop(c.channel, None)
        for channel, _ in errors:
            self.failures[channel] = self.failures.get(channel, 0) + 1
        self._log_outcome(collected, errors, new, edited, delay)
        return PollResult(delay, errors[0][1].reason if errors else None)

    # --- fetching ------------------------------------------------------------------------------------------------

    def _fetch(self, source: Source, after: str | None) -> Any:
        """source.fetch_page on a helper thread, so a stop request never waits for a slow Whop answer."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def call() -> None:
            try:
                box["page"] = source.fetch_page(after)
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

    def collect(self, source: Source) -> Collected:
        """Pages newest-first until a page whose messages are all recorded with the same content."""
        messages = self.index.messages
        out = Collected(channel=source.channel, initial=source.channel not in self.index.channels)
        seen: dict[str, int] = {}  # id -> position in out.messages
        after: str | None = None
        while True:
            page = self._fetch(source, after)
            out.pages += 1
            out.http_status = page.http_status
            all_known = bool(page.messages)  # an empty page proves nothing; its cursor (if any) is followed
            for message in page.messages:
                mid = message_id(message)
                # Only what is already recorded counts as known: a page that merely repeats messages fetched earlier
                # in this poll (pages shifted under offset cursors) must not end the catch-up.
                if not messages.is_latest(mid, version_tag(message)):
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
                log.warning("%s: Whop said there are more pages but gave no cursor; stopping here", source.channel)
                break
            if out.pages >= self.max_backfill_pages:
                out.gap = not out.initial
                break
            after = page.end_cursor
        return out

    # --- writing -------------------------------------------------------------------------------------------------

    def _outcome(
        self, collected: list[Collected], errors: list[tuple[str, WhopError]], duration_ms: float, delay: float
    ) -> Callable[[int, int], Draft]:
        """The poll's outcome, given the counts of new and edited alerts once they are written."""
        if errors:
            channel, err = errors[0]
            detail = err.detail if len(self.sources) == 1 else f"{channel}: {err.detail}"
            if len(errors) > 1:
                detail += f" (and {len(errors) - 1} more channel(s) failing)"
            failed = poll_failed(reason=err.reason, detail=detail, http_status=err.http_status,
                                 retry_in_s=round(delay, 3), channel=channel)  # fmt: skip
            return lambda new, edited: failed
        return lambda new, edited: poll_completed(
            new=new,
            edited=edited,
            pages=sum(c.pages for c in collected),
            http_status=collected[-1].http_status if collected else None,
            duration_ms=duration_ms,
            gap=any(c.gap for c in collected),
            initial=any(c.initial for c in collected),
        )

    def _write(
        self, collected: list[Collected], after_raw: Callable[[list[Event]], None], outcome: Callable[[int, int], Draft]
    ) -> tuple[int, int]:
        """raw, then (through after_raw) parsed, then worker: one append each."""
        messages = self.index.messages
        drafts = []
        for c in collected:
            for message in reversed(c.messages):  # oldest first
                mid = message_id(message)
                if messages.is_latest(mid, version_tag(message)):
                    continue
                known = messages.tag_of(mid) is not None
                drafts.append(alert_edited(c.channel, message) if known else alert_received(c.channel, message))
        fresh: list[Event] = []
        if drafts:
            known_seq = self.index.seq
            for ev in self.store.append_many(RAW, drafts):
                if ev.seq <= known_seq:
                    continue  # already in the stream (written by an attempt that seemed to fail)
                known_seq = ev.seq
                fresh.append(ev)
            self.index.catch_up()  # what was just appended (and anything another writer added)
        new = sum(1 for ev in fresh if ev.type == ALERT_RECEIVED)
        for ev in fresh[-_SHOWN_PER_POLL:]:
            log.info("  %s %s: %s", "new" if ev.type == ALERT_RECEIVED else "edited", ev.data["source_id"], _snippet(ev))
        after_raw(fresh)
        events: list[Draft] = []
        if self.store_trouble is not None:
            t = self.store_trouble
            events.append(poll_failed(reason="store", detail=t.detail, http_status=None,
                                      retry_in_s=round(t.retry_in_s, 3), since=t.since, attempts=t.attempts))  # fmt: skip
        events.append(outcome(new, len(fresh) - new))
        self.store.append_many(WORKER, events)
        if self.store_trouble is not None:
            log.warning("the event store accepts writes again (after %d failed attempts)", self.store_trouble.attempts)
            self.store_trouble = None
        return new, len(fresh) - new

    def note_store_trouble(self, exc: BaseException, attempt: int) -> float:
        """Says on stderr that the store refused a write; returns how long to wait before trying again."""
        detail = f"the event store refused a write: {describe_error(exc)}"
        delay = retry_delay("store", attempt, self.poll_interval, rng=self.rng)
        if self.store_trouble is None:
            self.store_trouble = StoreTrouble(detail, rfc3339(self.clock.time()))
        t = self.store_trouble
        t.detail, t.attempts, t.retry_in_s = detail, t.attempts + 1, delay
        say(f"autosig worker: {detail}; retrying in {delay:.1f} s (attempt {t.attempts})")
        return delay

    def _log_outcome(
        self, collected: list[Collected], errors: list[tuple[str, WhopError]], new: int, edited: int, delay: float
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


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return f"{os.strerror(exc.errno)} (errno {exc.errno})"
    text = str(exc)
    return text if text else type(exc).__name__
