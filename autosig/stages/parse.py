"""The parse stage: raw alert events in, `alert.parsed` events out, one per (raw event, parser version).

The one path the worker and `autosig reprocess` share. A reply is resolved only against raw events with a smaller seq
than its own (the latest such version of the replied-to message), so parsing the same history again gives the same
results whatever was appended since.

    stage = ParseStage("2", authors, messages)           # messages: the worker's RawIndex.messages, or None
    runner = StageRunner(store, stage); runner.recover(); runner.catch_up()
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autosig.events import Event, EventStore
from autosig.parsing import Alert, parser_for
from autosig.schema import PARSED, RAW, RAW_TYPES, WORKER, WORKER_STARTED, Draft, alert_parsed, parse_key, payload_of
from autosig.stages.messages import MessageIndex
from autosig.stages.runner import Stage

log = logging.getLogger("autosig.worker")
# A reply to a reply to a reply…: the parser looks this many messages up the chain.
_REPLY_DEPTH = 3


@dataclass(frozen=True, slots=True)
class _Version:
    """What a reply needs of one recorded version of a message — not the whole payload."""

    text: str | None
    created_at: Any
    reply_to: str | None


def _text(message: dict[str, Any]) -> str | None:
    content = message.get("content")
    content = content if isinstance(content, str) else None
    title = message.get("title")  # forum posts put the contract in the title as often as in the body
    if isinstance(title, str) and title.strip():
        return f"{title}\n{content}" if content else title
    return content


def _id(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _author_ids(message: dict[str, Any]) -> set[str]:
    user = message.get("user")
    ids: set[str] = set()
    if isinstance(user, dict):
        for field in ("id", "username"):
            if user.get(field) is not None:
                ids.add(str(user[field]).lower())
    for field in ("user_id", "author_id"):
        if message.get(field) is not None:
            ids.add(str(message[field]).lower())
    return ids


def _version(message: dict[str, Any]) -> _Version:
    return _Version(_text(message), message.get("created_at"), _id(message.get("replying_to_message_id")))


def _message(raw: Event) -> dict[str, Any] | None:
    try:
        message = payload_of(raw.data)
    except (KeyError, ValueError, TypeError):
        return None
    return message if isinstance(message, dict) else None


class ParseContext:
    """Remembers, per message id, each recorded version (seq, text, created_at, replied-to id), so replies can be
    resolved; and which authors are followed (empty: everyone).

    With `messages` (a MessageIndex kept up to date by its owner, as the worker does) nothing is held here: add()
    is a no-op and a reply reads the versions it needs back from the stream."""

    def __init__(self, authors: frozenset[str] = frozenset(), messages: MessageIndex | None = None) -> None:
        self.authors = frozenset(a.lower() for a in authors)
        self.messages = messages
        self._parsers: dict[str, Callable[[Alert], dict[str, Any]]] = {}
        self._seqs: dict[str, list[int]] = {}
        self._versions: dict[str, list[_Version]] = {}

    def add(self, raw: Event) -> None:
        """Feeds one raw event (alert.received / alert.edited), in seq order; others and repeats are ignored."""
        if raw.type not in RAW_TYPES or self.messages is not None:
            return
        message = _message(raw)
        if message is None:
            return
        source_id = _id(raw.data.get("source_id")) or _id(message.get("id"))
        if source_id is None:
            return
        seqs = self._seqs.setdefault(source_id, [])
        if seqs and seqs[-1] >= raw.seq:
            return
        seqs.append(raw.seq)
        self._versions.setdefault(source_id, []).append(_version(message))

    def _before(self, message_id: str, seq: int) -> tuple[int, _Version] | None:
        """The latest recorded version of a message with a seq below `seq`."""
        if self.messages is not None:
            for ev in self.messages.versions(message_id):
                if ev.seq < seq and ev.type in RAW_TYPES and (message := _message(ev)) is not None:
                    return ev.seq, _version(message)
            return None
        seqs = self._seqs.get(message_id)
        if not seqs:
            return None
        k = bisect.bisect_left(seqs, seq)
        return (seqs[k - 1], self._versions[message_id][k - 1]) if k else None

    def _alert_for(self, message_id: str, seq: int, depth: int) -> Alert | None:
        found = self._before(message_id, seq)
        if found is None:
            return None
        found_seq, version = found
        parent = None
        if version.reply_to is not None and depth < _REPLY_DEPTH:
            parent = self._alert_for(version.reply_to, found_seq, depth + 1)
        return Alert(version.text, version.created_at, message_id, parent, version.reply_to)

    def text_of(self, raw: Event) -> str | None:
        """The text of a raw event already added (for summaries), without decoding its payload again."""
        source_id = _id(raw.data.get("source_id"))
        found = self._before(source_id, raw.seq + 1) if source_id is not None else None
        return found[1].text if found is not None else None

    def parse(self, raw: Event, version: str) -> dict[str, Any]:
        """The `data` of the alert.parsed event for this raw event by parser `version`."""
        try:
            message = payload_of(raw.data)
        except (KeyError, ValueError, TypeError):
            message = None
        source_id = _id(raw.data.get("source_id"))
        if not isinstance(message, dict):
            body = {"kind": "unparseable", "reason": "raw event has no readable payload", "signals": []}
            return {"raw_seq": raw.seq, "source_id": source_id, "parser_version": version, **body}
        source_id = source_id or _id(message.get("id"))
        if self.authors and not (_author_ids(message) & self.authors):
            body = {"kind": "non_signal", "reason": "author not followed", "signals": []}
        else:
            reply_id = _id(message.get("replying_to_message_id"))
            parent = self._alert_for(reply_id, raw.seq, 1) if reply_id is not None else None
            alert = Alert(_text(message), message.get("created_at"), source_id, parent, reply_id)
            parser = self._parsers.get(version)
            if parser is None:
                parser = self._parsers[version] = parser_for(version)
            body = parser(alert)
        return {"raw_seq": raw.seq, "source_id": source_id, "parser_version": version, **body}


class ParseStage(Stage):
    """Parses each raw alert event by one parser version. Never raises for an alert: a parser defect becomes an
    `unparseable` result that names it, and the stage goes on."""

    name = "parse"
    input = RAW
    output = PARSED
    reads = (WORKER,)

    def __init__(self, version: str, authors: frozenset[str] = frozenset(), messages: MessageIndex | None = None):
        self.version = version
        self.ctx = ParseContext(authors, messages)

    def output_key(self, event: Event) -> str | None:
        return parse_key(event.seq, self.version) if event.type in RAW_TYPES else None

    def recover(self, store: EventStore) -> int:
        """The raw seq after which the worker parses at start: a crash between the raw and parsed appends leaves raw
        events after the last one parsed by this version. When this version has parsed nothing yet, older history
        belongs to `autosig reprocess`, not to the start."""
        head = store.head(PARSED)
        raw_seq = store.last_seq(RAW)
        data = head.data if head is not None and isinstance(head.data, dict) else {}
        if data.get("parser_version") == self.version and data.get("raw_seq") == raw_seq:
            return raw_seq  # the usual start: the newest parse is of the newest raw event (no scan needed)
        suffix = f":{self.version}"
        parsed = 0
        for _, key in store.keys(PARSED, "parse:"):
            if key.endswith(suffix):
                seq_text = key[6 : -len(suffix)]
                if seq_text.isdigit() and int(seq_text) > parsed:
                    parsed = int(seq_text)
        return parsed or _raw_seq_at_first_start(store, self.version, raw_seq)

    def parse(self, raw: Event) -> dict:
        """The body of the alert.parsed event for one raw event."""
        try:
            return self.ctx.parse(raw, self.version)
        except Exception as exc:  # noqa: BLE001 - one alert must never stop ingestion
            log.error("parser v%s failed on raw event %d (%s); recorded as unparseable",
                      self.version, raw.seq, type(exc).__name__)  # fmt: skip
            body = {"kind": "unparseable", "reason": f"parser error: {type(exc).__name__}", "signals": []}
            source_id = raw.data.get("source_id") if isinstance(raw.data, dict) else None
            return {"raw_seq": raw.seq, "source_id": source_id, "parser_version": self.version, **body}

    def handle(self, event: Event) -> Sequence[Draft]:
        if event.type not in RAW_TYPES:
            return ()
        self.ctx.add(event)
        return (parsed_draft(self.parse(event)),)


def parsed_draft(data: dict) -> Draft:
    """The append for a parse body as ParseContext.parse returns it."""
    rest = {k: v for k, v in data.items() if k not in ("raw_seq", "source_id", "parser_version")}
    return alert_parsed(data["raw_seq"], data["source_id"], data["parser_version"], rest)


def _raw_seq_at_first_start(store: EventStore, version: str, raw_seq: int) -> int:
    """When this version has parsed nothing: the raw events appended since a worker first started with it are that
    worker's own (killed before its first parse) and must be parsed now, whatever other versions a concurrent
    `reprocess` parsed meanwhile. Before that start, history belongs to `reprocess`."""
    any_start = False
    for ev in store.read(WORKER, on_problem=lambda problem: None):
        if ev.type != WORKER_STARTED or not isinstance(ev.data, dict):
            continue
        any_start = True
        if ev.data.get("parser_version") == version:
            return int(ev.data.get("raw_events") or 0)
    # No worker ever started on this store (an imported log): everything in it is this worker's to parse.
    return raw_seq if any_start else 0
