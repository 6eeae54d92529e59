"""What the worker knows of the raw stream: every message's recorded versions, the channels that have alerts, and
the last raw seq — built through the store API alone, so it works the same on every store.

    index = RawIndex(store, channels=["chat_feed_1"])
    index.rebuild(stopping)        # at start: from the copy kept beside the store when it still fits, then the rest
    index.catch_up()               # after an append: the events since (ours, and any other writer's)
    index.messages.is_latest(id, tag)

A raw event's key is whop:<message id>:<version tag>, so the index is built from the keys alone (store.keys: the
file store scans its bytes, Postgres reads its key column), without decoding a million payloads. After a start that
read many, a copy is kept beside the store (`write_aside`) with the seq and hash of the last event it covers; the next
start trusts it only while the stream still holds that very event (each event's hash covers the one before it), and
reads only what was appended since.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from autosig.events import Event, EventStore, StoreError
from autosig.schema import RAW, RAW_TYPES
from autosig.stages.messages import MessageIndex, tag_value

log = logging.getLogger("autosig.worker")

SNAPSHOT = "raw-messages.index"
_FORMAT = 2  # of the state saved with the copy
# A start that reads this many raw events keeps a copy for the next one; below it, reading is quick anyway.
SAVE_AFTER = 10_000
# How many raw events a start reads between two looks at its stop flag.
_STOP_EVERY = 4096
# The ids of the latest raw events, kept so that confirming which message a version belongs to (an edit follows its
# original closely) rarely costs a read from the store.
_RECENT = 4096


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


def _from_key(key: str) -> tuple[str, int | None]:
    """(message id, version tag) of a raw key whop:<message id>:<16 hex>."""
    body = key[5:]
    mid, colon, tag = body.rpartition(":")
    if not colon:
        return body, None
    value = tag_value(tag)
    return (mid, value) if value is not None else (body, None)


class RawIndex:
    def __init__(self, store: EventStore, channels: Iterable[str] = ()) -> None:
        self.store = store
        self.wanted = set(channels)  # the channels the worker polls: whether each has alerts yet is asked once
        self.messages = self._new_index()
        self.channels: set[str] = set()  # channels with at least one raw event (a first poll elsewhere is initial)
        self.seq = 0  # the last raw seq indexed
        self._recent: list[tuple[int, str] | None] = [None] * _RECENT  # a ring of (seq, message id)

    def _new_index(self) -> MessageIndex:
        return MessageIndex(self._load, id_at=self._id_at)

    def _load(self, seq: int) -> Event | None:
        try:
            return self.store.get(RAW, seq)
        except StoreError:
            return None

    def _id_at(self, seq: int) -> str | None:
        recent = self._recent[seq % _RECENT]
        if recent is not None and recent[0] == seq:
            return recent[1]
        ev = self._load(seq)
        source_id = ev.data.get("source_id") if ev is not None and isinstance(ev.data, dict) else None
        return source_id if isinstance(source_id, str) else None

    def _record(self, seq: int, mid: str, tag: int | None) -> None:
        self.seq = seq
        self._recent[seq % _RECENT] = (seq, mid)
        self.messages.add(mid, seq, tag)

    def rebuild(self, stopping: Callable[[], bool] = lambda: False) -> None:
        """From scratch (or from the saved copy), then every raw event after it."""
        self.messages, self.channels, self.seq = self._new_index(), set(), 0
        self._recent = [None] * _RECENT
        self._load_snapshot()
        before = self.seq
        count = 0
        for seq, key in self.store.keys(RAW, "whop:", after=self.seq):
            count += 1
            if not count % _STOP_EVERY and stopping():
                raise Stopped  # a start over a million events must not delay a SIGTERM
            mid, tag = _from_key(key)
            self._record(seq, mid, tag)
        self.seq = max(self.seq, self.store.last_seq(RAW))
        self._find_channels(before)
        if count >= SAVE_AFTER:
            self.save_snapshot()

    def _find_channels(self, after: int) -> None:
        """Which of the polled channels have alerts: read until each is seen (usually the first events), or to the
        end for a channel that has none yet (a new one)."""
        missing = self.wanted - self.channels
        if not missing:
            return
        for ev in self.store.read(RAW, after=0, on_problem=lambda problem: None):
            channel = ev.data.get("channel") if isinstance(ev.data, dict) else None
            if isinstance(channel, str):
                self.channels.add(channel)
                missing.discard(channel)
                if not missing:
                    return

    def catch_up(self) -> int:
        """Indexes the raw events appended since the last indexed one; returns how many were read."""
        problems: list = []
        count = 0
        for ev in self.store.read(RAW, after=self.seq, on_problem=problems.append):
            count += 1
            self.add(ev)
        for problem in problems[:20]:
            log.warning("raw stream line %d is unreadable (%s); skipped", problem.line, problem.error)
        if problems:
            self.seq = max(self.seq, self.store.last_seq(RAW))
        return count

    def add(self, ev: Event) -> None:
        """Records a raw event (in seq order)."""
        mid, tag, channel = alert_fields(ev)
        if mid is not None:
            self._record(ev.seq, mid, tag)
            if channel is not None:
                self.channels.add(channel)
        else:
            self.seq = max(self.seq, ev.seq)

    # --- the copy kept beside the store -------------------------------------------------------------------------

    def save_snapshot(self) -> None:
        head = self._load(self.seq)
        if head is None:
            return
        state = {"format": _FORMAT, "seq": self.seq, "hash": head.hash, "channels": sorted(self.channels)}
        try:
            self.store.write_aside(SNAPSHOT, self.messages.dumps(state))
        except (StoreError, OSError) as exc:
            log.warning("could not keep the message index for the next start: %s", exc)

    def _load_snapshot(self) -> None:
        try:
            data = self.store.read_aside(SNAPSHOT)
        except (StoreError, OSError):
            return
        loaded = MessageIndex.loads(data, self._load, self._id_at) if data else None
        if loaded is None:
            return
        index, state = loaded
        seq, digest, channels = state.get("seq"), state.get("hash"), state.get("channels")
        if state.get("format") != _FORMAT or type(seq) is not int or not isinstance(digest, str):
            return
        if not isinstance(channels, list):
            return
        at = self._load(seq)
        if at is None or at.hash != digest:
            return  # another raw stream (replaced, cut, restored): index it from the start
        self.messages, self.seq = index, seq
        self.channels = {c for c in channels if isinstance(c, str)}
