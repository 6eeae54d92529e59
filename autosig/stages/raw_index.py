"""What the worker knows of the raw stream: every message's recorded versions, the channels that have alerts, and
the last raw seq — built through the store API alone, so it works the same on every store.

    index = RawIndex(store)
    index.rebuild(stopping)        # at start: from the copy kept beside the store when it still fits, then the rest
    index.catch_up()               # after an append: the events since (ours, and any other writer's)
    index.messages.is_latest(id, tag)

Building it means reading every raw event once, which at a million alerts takes seconds. So after a start that read
many, a copy is kept beside the store (`write_aside`) with the seq and hash of the last event it covers; the next start
trusts it only while the stream still holds that very event (each event's hash covers the one before it), and reads
only what was appended since.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson

from autosig.events import Event, EventStore, Problem, StoreError
from autosig.schema import RAW, RAW_TYPES
from autosig.stages.messages import MessageIndex, tag_value

log = logging.getLogger("autosig.worker")

SNAPSHOT = "raw-messages.index"
# Events read lately, kept so that confirming which message a version belongs to (an edit follows its original
# closely) rarely costs a read from the store.
_RECENT = 4096
# A start that reads this many raw events keeps a copy for the next one; below it, reading is quick anyway.
SAVE_AFTER = 10_000
# How many raw events a start reads between two looks at its stop flag.
_STOP_EVERY = 4096


class Stopped(Exception):
    """The stop flag was set while indexing a large stream; nothing was written."""


def alert_fields(ev: Event) -> tuple[str | None, int | None, str | None]:
    """(message id, version tag, channel) of a raw event; the id is None when it is not an alert."""
    if ev.type not in RAW_TYPES or not isinstance(ev.data, dict):
        return None, None, None
    source_id = ev.data.get("source_id")
    if not isinstance(source_id, str):
        return None, None, None
    key = ev.key
    tag = tag_value(key[-16:]) if key and key.startswith("whop:") else None  # raw keys end in a 16-hex version tag
    channel = ev.data.get("channel")
    return source_id, tag, channel if isinstance(channel, str) else None


class RawIndex:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.messages = MessageIndex(self._load)
        self.channels: set[str] = set()  # channels with at least one raw event (a first poll elsewhere is initial)
        self.seq = 0  # the last raw seq indexed
        self._recent: list[Event | None] = [None] * _RECENT  # a ring, by seq

    def _load(self, seq: int) -> Event | None:
        ev = self._recent[seq % _RECENT]
        if ev is not None and ev.seq == seq:
            return ev
        try:
            return self.store.get(RAW, seq)
        except StoreError:
            return None

    def _remember(self, ev: Event) -> None:
        self._recent[ev.seq % _RECENT] = ev

    def rebuild(self, stopping: Callable[[], bool] = lambda: False) -> None:
        """From scratch (or from the saved copy), then every raw event after it."""
        self.messages, self.channels, self.seq = MessageIndex(self._load), set(), 0
        self._recent = [None] * _RECENT
        self._load_snapshot()
        if self.catch_up(stopping) >= SAVE_AFTER:
            self.save_snapshot()

    def catch_up(self, stopping: Callable[[], bool] = lambda: False) -> int:
        """Indexes the raw events appended since the last indexed one; returns how many were read."""
        problems: list[Problem] = []
        count = 0
        add, channels = self.messages.add, self.channels
        for ev in self.store.read(RAW, after=self.seq, on_problem=problems.append):
            count += 1
            if not count % _STOP_EVERY and stopping():
                raise Stopped  # a start over a million events must not delay a SIGTERM
            self.seq = ev.seq
            mid, tag, channel = alert_fields(ev)
            if mid is not None:
                self._remember(ev)
                add(mid, ev.seq, tag)
                if channel is not None and channel not in channels:
                    channels.add(channel)
        for problem in problems[:20]:
            log.warning("raw stream line %d is unreadable (%s); skipped", problem.line, problem.error)
        if problems:
            self.seq = max(self.seq, self.store.last_seq(RAW))
        return count

    def add(self, ev: Event) -> None:
        """Records a raw event this process just appended (in seq order, right after the last indexed one)."""
        if ev.seq != self.seq + 1:
            self.catch_up()
            return
        self.seq = ev.seq
        mid, tag, channel = alert_fields(ev)
        if mid is not None:
            self._remember(ev)
            self.messages.add(mid, ev.seq, tag)
            if channel is not None:
                self.channels.add(channel)

    # --- the copy kept beside the store -------------------------------------------------------------------------

    def save_snapshot(self) -> None:
        head = self._load(self.seq)
        if head is None:
            return
        state = {"seq": self.seq, "hash": head.hash, "channels": sorted(self.channels)}
        try:
            self.store.write_aside(SNAPSHOT, self.messages.dumps(state))
        except (StoreError, OSError) as exc:
            log.warning("could not keep the message index for the next start: %s", exc)

    def _load_snapshot(self) -> None:
        try:
            data = self.store.read_aside(SNAPSHOT)
        except (StoreError, OSError):
            return
        loaded = MessageIndex.loads(data, self._load) if data else None
        if loaded is None:
            return
        index, state = loaded
        seq, digest, channels = state.get("seq"), state.get("hash"), state.get("channels")
        if type(seq) is not int or not isinstance(digest, str) or not isinstance(channels, list):
            return
        at = self._load(seq)
        if at is None or at.hash != digest:
            return  # another raw stream (replaced, cut, restored): index it from the start
        self.messages, self.seq = index, seq
        self.channels = {c for c in channels if isinstance(c, str)}


def snapshot_state(data: bytes) -> dict | None:
    """The state saved with a snapshot (for tools and tests), or None."""
    loaded = MessageIndex.loads(data, lambda seq: None)
    return orjson.loads(orjson.dumps(loaded[1])) if loaded else None
