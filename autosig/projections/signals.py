"""Latest signals and alerts: for each raw alert, the parse the dashboard should show.

Pure: apply() raw and parsed events in any interleaving (the two streams are tailed independently, so a parse may
arrive before its raw event); read methods answer the API. apply() is on the cold-start path (every event ever
written), so it only stores references and does dictionary work; everything else (time conversion, choosing a
parse, building JSON) happens at read time for the few entries a request returns.

Memory bound: the newest `window` raw seqs (default 10 000) with their parses and a per-ticker index. Older alerts
drop out of the signal and alert lists; counts (parse statistics, backlog) stay exact for the whole history.
"""

from __future__ import annotations

import json
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from autosig.clock import rfc3339
from autosig.events.record import Event
from autosig.schema import ALERT_EDITED, ALERT_PARSED, ALERT_RECEIVED
from autosig.times import to_utc

DEFAULT_WINDOW = 10_000
RECENT_SIGNAL_PARSES = 2_000  # parsed seqs remembered for SSE resume (Last-Event-ID)

KINDS = ("signal", "non_signal", "unparseable")


# A raw entry: (source_id, created_at as received, received_at (the event ts), text, is an edit). Tuples of the
# fields the API shows, so the window does not keep whole Whop messages and lines alive (about a third the memory).
_SOURCE, _CREATED, _RECEIVED, _TEXT, _EDIT = range(5)
# A parse entry: (parser_version, parsed_seq, kind, reason, signals)
_VER, _PSEQ, _KIND, _REASON, _SIGNALS = range(5)


def _payload(data: dict[str, Any]) -> dict[str, Any]:
    payload = data.get("payload")
    if payload is None and "payload_json" in data:
        try:
            payload = json.loads(data["payload_json"])
        except (TypeError, ValueError):
            return {}
    return payload if isinstance(payload, dict) else {}


def _text(payload: dict[str, Any]) -> str | None:
    content = payload.get("content")
    return content if isinstance(content, str) or content is None else str(content)


@lru_cache(maxsize=32_768)
def _time_string(value: str | int | float) -> str | None:
    when = to_utc(value)
    return rfc3339(when) if when is not None else None


@lru_cache(maxsize=8_192)
def _epoch_cached(value: str | int | float) -> float | None:
    when = to_utc(value)
    return when.timestamp() if when is not None else None


def _epoch(value: Any) -> float | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return _epoch_cached(value)
    return None


def time_string(value: Any) -> str | None:
    """A Whop timestamp (ISO or epoch s/ms) as RFC 3339 UTC; None when absent or unreadable. Memoized: the same
    alerts are listed again and again, and the conversion is most of the cost of building a list."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return _time_string(value)
    when = to_utc(value)
    return rfc3339(when) if when is not None else None


def _version_key(version: str) -> tuple[int, str]:
    try:
        return (int(version), version)
    except ValueError:
        return (-1, version)


class SignalsProjection:
    """Raw alerts and their parses, joined by raw seq."""

    def __init__(self, active_version: str, window: int = DEFAULT_WINDOW) -> None:
        self.active_version = active_version
        self.window = window
        self._raw: dict[int, tuple] = {}  # raw seq -> raw entry, the newest `window` seqs
        self._latest: dict[Any, int] = {}  # source_id -> newest raw seq (edits supersede)
        self._parses: dict[int, tuple | list[tuple]] = {}  # raw seq -> its parse entry (a list when several)
        self._signal_seqs: list[int] = []  # raw seqs with at least one parse carrying signals, ascending
        self._tickers: dict[str, list[int]] = {}  # upper-case ticker -> raw seqs, ascending
        self._recent: deque[tuple[int, int]] = deque(maxlen=RECENT_SIGNAL_PARSES)  # (parsed seq, raw seq)
        self.max_raw_seq = 0
        self.received_count = 0
        self.edited_count = 0
        self.other_types: dict[str, dict[str, int]] = {"raw": {}, "parsed": {}}
        self.parse_counts: dict[str, dict[str, int]] = {}  # version -> kind -> count (whole history)
        self.last_raw: Event | None = None
        self.last_parsed: Event | None = None

    @property
    def raw_count(self) -> int:
        return self.received_count + self.edited_count

    # --- apply (the cold-start path: keep it lean) -------------------------------------------------------------

    def apply(self, event: Event) -> None:
        if event.type == ALERT_PARSED:
            self.apply_parsed(event)
        else:
            self.apply_raw(event)

    def apply_raw(self, event: Event) -> None:
        self.last_raw = event
        kind = event.type
        if kind == ALERT_RECEIVED:
            self.received_count += 1
            edit = False
        elif kind == ALERT_EDITED:
            self.edited_count += 1
            edit = True
        else:
            other = self.other_types["raw"]
            other[kind] = other.get(kind, 0) + 1
            return
        seq = event.seq
        data = event.data
        try:  # the common shape, by subscription (cheaper than .get on this path)
            payload = data["payload"]
            source = data["source_id"]
            entry = (source, payload["created_at"], event.ts, payload["content"], edit)
        except (KeyError, TypeError):
            source = data.get("source_id")
            payload = _payload(data)
            entry = (source, payload.get("created_at"), event.ts, _text(payload), edit)
        raw = self._raw
        raw[seq] = entry
        latest = self._latest
        latest[source] = seq  # one stream, applied in seq order: this is the newest version of the message
        if seq > self.max_raw_seq:
            self.max_raw_seq = seq
            old = seq - self.window
            if old > 0:
                gone = raw.pop(old, None)
                if gone is not None and latest.get(gone[0]) == old:
                    del latest[gone[0]]
                if old in self._parses:
                    self._evict_parses(old)

    def _evict_parses(self, seq: int) -> None:
        parses = self._parses.pop(seq)
        parses = parses if isinstance(parses, list) else [parses]
        signal_lists = [p[_SIGNALS] for p in parses]
        if any(signal_lists):
            _remove_sorted(self._signal_seqs, seq)
        for ticker in {t for signals in signal_lists for t in _tickers_of(signals)}:
            seqs = self._tickers.get(ticker)
            if seqs is not None:
                _remove_sorted(seqs, seq)
                if not seqs:
                    del self._tickers[ticker]

    def apply_parsed(self, event: Event) -> None:
        self.last_parsed = event
        if event.type != ALERT_PARSED:
            other = self.other_types["parsed"]
            other[event.type] = other.get(event.type, 0) + 1
            return
        data = event.data
        try:
            version = data["parser_version"]
            kind = data["kind"]
            raw_seq = data["raw_seq"]
            signals = data["signals"]
            reason = data["reason"]
        except KeyError:
            version, kind, raw_seq = data.get("parser_version"), data.get("kind"), data.get("raw_seq")
            signals, reason = data.get("signals"), data.get("reason")
        if type(version) is not str:
            version = str(version)
        counts = self.parse_counts.get(version)
        if counts is None:
            counts = self.parse_counts[version] = {}
        counts[kind] = counts.get(kind, 0) + 1
        if type(raw_seq) is not int or raw_seq <= self.max_raw_seq - self.window:
            return  # too old to be listed; counted above
        entry = (version, event.seq, kind, reason, signals or ())
        parses = self._parses.get(raw_seq)
        if parses is None:
            self._parses[raw_seq] = entry
        else:
            # one parse per (raw, version) by the store's idempotency; a repeat replaces rather than duplicates
            kept = [p for p in (parses if isinstance(parses, list) else [parses]) if p[_VER] != version]
            self._parses[raw_seq] = [*kept, entry]
        if signals:
            _add_sorted(self._signal_seqs, raw_seq)
            for ticker in _tickers_of(signals):
                seqs = self._tickers.get(ticker)
                if seqs is None:
                    self._tickers[ticker] = [raw_seq]
                else:
                    _add_sorted(seqs, raw_seq)
            self._recent.append((event.seq, raw_seq))

    # --- read --------------------------------------------------------------------------------------------------

    def parse_backlog(self, version: str | None = None) -> int:
        """Raw events without a parse by `version` (default the active one), over the whole history."""
        parsed = sum(self.parse_counts.get(version or self.active_version, {}).values())
        return max(0, self.raw_count - parsed)

    def _chosen(self, raw_seq: int) -> tuple | None:
        parses = self._parses.get(raw_seq)
        if parses is None or not isinstance(parses, list):
            return parses
        best = None
        for p in parses:
            if p[_VER] == self.active_version:
                return p
            if best is None or _version_key(p[_VER]) > _version_key(best[_VER]):
                best = p
        return best

    def _shown(self, raw_seq: int) -> tuple | None:
        """The raw entry when it is the newest version of its message and still in the window."""
        raw = self._raw.get(raw_seq)
        if raw is None or self._latest.get(raw[_SOURCE]) != raw_seq:
            return None
        return raw

    def _entries(self, raw_seq: int, raw: tuple, parse: tuple, ticker: str | None) -> list[dict]:
        common = {
            "raw_seq": raw_seq,
            "source_id": raw[_SOURCE],
            "created_at": time_string(raw[_CREATED]),
            "received_at": raw[_RECEIVED],
            "parser_version": parse[_VER],
            "parsed_seq": parse[_PSEQ],
            "text": raw[_TEXT],
        }
        out = []
        for signal in parse[_SIGNALS]:
            if ticker is not None and str(signal.get("ticker") or "").upper() != ticker:
                continue
            out.append({**common, "signal": signal})
        return out

    def signals(self, limit: int = 50, ticker: str | None = None, after_seq: int = 0) -> list[dict]:
        """One entry per signal, newest raw alert first; only raw seqs > after_seq."""
        ticker = ticker.strip().upper() if ticker else None
        seqs = self._tickers.get(ticker, []) if ticker else self._signal_seqs
        out: list[dict] = []
        for i in range(len(seqs) - 1, -1, -1):
            raw_seq = seqs[i]
            if raw_seq <= after_seq or len(out) >= limit:
                break
            raw = self._shown(raw_seq)
            parse = self._chosen(raw_seq) if raw is not None else None
            if parse is None:
                continue
            out.extend(self._entries(raw_seq, raw, parse, ticker))
        return out[:limit]

    def signals_since(self, parsed_seq: int) -> list[tuple[int, list[dict]]]:
        """(parsed seq, entries) for parses after `parsed_seq` that carry the shown signals of their alert — what
        the live stream sends. Bounded by the newest RECENT_SIGNAL_PARSES parses with signals."""
        out = []
        for pseq, raw_seq in self._recent:
            if pseq <= parsed_seq:
                continue
            raw = self._shown(raw_seq)
            parse = self._chosen(raw_seq) if raw is not None else None
            if parse is None or parse[_PSEQ] != pseq:
                continue
            out.append((pseq, self._entries(raw_seq, raw, parse, None)))
        return out

    def alerts(self, kind: str | None = None, limit: int = 50) -> list[dict]:
        """The newest version of each alert with the kind of its shown parse (null before it is parsed)."""
        out: list[dict] = []
        for raw_seq in reversed(self._raw):
            if len(out) >= limit:
                break
            raw = self._shown(raw_seq)
            if raw is None:
                continue
            parse = self._chosen(raw_seq)
            parsed_kind = parse[_KIND] if parse is not None else None
            if kind is not None and parsed_kind != kind:
                continue
            out.append(
                {
                    "raw_seq": raw_seq,
                    "source_id": raw[_SOURCE],
                    "created_at": time_string(raw[_CREATED]),
                    "received_at": raw[_RECEIVED],
                    "text": raw[_TEXT],
                    "kind": parsed_kind,
                    **_reason(parse),
                    "parser_version": parse[_VER] if parse is not None else None,
                }
            )
        return out

    def alert(self, raw_seq: int) -> dict | None:
        """One alert as /api/alerts lists it, with its shown parse's signals; None unless it is the newest version of
        its message and still in the window."""
        raw = self._shown(raw_seq)
        if raw is None:
            return None
        parse = self._chosen(raw_seq)
        return {"raw_seq": raw_seq, "source_id": raw[_SOURCE], "created_at": time_string(raw[_CREATED]),
                "received_at": raw[_RECEIVED], "text": raw[_TEXT], "kind": parse[_KIND] if parse else None,
                **_reason(parse), "parser_version": parse[_VER] if parse else None,
                "signals": list(parse[_SIGNALS]) if parse else []}  # fmt: skip

    def text(self, raw_seq: int) -> str | None:
        """The text of that raw event (this version of its message, even when edited since); None outside the
        window."""
        raw = self._raw.get(raw_seq)
        return raw[_TEXT] if raw is not None else None

    def flagged(self, why: Callable[[str | None, Any], str | None], limit: int = 100) -> list[dict]:
        """The newest version of each alert whose shown parse `why` flags (it returns the reason, else None), newest
        first, with that parse's signals and the reason as "flag" (the review queue)."""
        out: list[dict] = []
        for raw_seq in reversed(self._raw):
            if len(out) >= limit:
                break
            raw = self._shown(raw_seq)
            parse = self._chosen(raw_seq) if raw is not None else None
            if raw is None or parse is None:
                continue
            flag = why(parse[_KIND], parse[_SIGNALS])
            if flag is None:
                continue
            out.append({"raw_seq": raw_seq, "source_id": raw[_SOURCE], "created_at": time_string(raw[_CREATED]),
                        "received_at": raw[_RECEIVED], "text": raw[_TEXT], "kind": parse[_KIND],
                        "reason": parse[_REASON], "parser_version": parse[_VER], "signals": list(parse[_SIGNALS]),
                        "flag": flag})  # fmt: skip
        return out

    def recent_latencies(self, n: int = 100) -> list[float]:
        """Seconds from created_at to receipt for the newest `n` new alerts (edits excluded: their created_at is
        the original message's)."""
        out = []
        for raw_seq in reversed(self._raw):
            if len(out) >= n:
                break
            raw = self._raw[raw_seq]
            if raw[_EDIT]:
                continue
            created = _epoch(raw[_CREATED])
            received = _epoch(raw[_RECEIVED])
            if created is None or received is None:
                continue
            out.append(received - created)
        return out

    def hourly_counts(self) -> dict[str, int]:
        """Alerts received per UTC hour ("YYYY-MM-DDTHH") over the window."""
        counts: dict[str, int] = {}
        for raw in self._raw.values():
            hour = raw[_RECEIVED][:13]
            counts[hour] = counts.get(hour, 0) + 1
        return counts

    def types(self) -> dict[str, dict[str, int]]:
        raw = {k: v for k, v in ((ALERT_RECEIVED, self.received_count), (ALERT_EDITED, self.edited_count)) if v}
        parsed_total = sum(sum(c.values()) for c in self.parse_counts.values())
        parsed = {ALERT_PARSED: parsed_total} if parsed_total else {}
        return {"raw": {**raw, **self.other_types["raw"]}, "parsed": {**parsed, **self.other_types["parsed"]}}


def _tickers_of(signals: Any) -> set[str]:
    out = set()
    for signal in signals or ():
        if isinstance(signal, dict) and signal.get("ticker"):
            out.add(str(signal["ticker"]).upper())
    return out


def _add_sorted(seqs: list[int], seq: int) -> None:
    # almost always an append at the end: parses arrive in raw order
    if not seqs or seqs[-1] < seq:
        seqs.append(seq)
    elif seqs[-1] != seq:
        i = bisect_left(seqs, seq)
        if i == len(seqs) or seqs[i] != seq:
            insort(seqs, seq)


def _remove_sorted(seqs: list[int], seq: int) -> None:
    i = bisect_left(seqs, seq)
    if i < len(seqs) and seqs[i] == seq:
        del seqs[i]


def _reason(parse: Any) -> dict[str, Any]:
    """`reason` as the API gives it: null for a signal (parser v2 says there what lowered a signal's confidence,
    which the API shows as `confidence_note`), the parser's words otherwise."""
    if parse is None:
        return {"reason": None}
    if parse[_KIND] == "signal":
        return {"reason": None, "confidence_note": parse[_REASON]} if parse[_REASON] else {"reason": None}
    return {"reason": parse[_REASON]}
