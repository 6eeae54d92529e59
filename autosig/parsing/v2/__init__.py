"""Parser v2: rule-based reading of trade alerts (see the README, "Parsing alerts"). It began as a copy of v1 and
shares nothing with it that could change v1's output.

First the whole message is read for what it says about itself (_talk): a warning about fake alerts, an example, an
alert quoted from someone else, a recap, a cancelled order. Then it is cut into segments, one per traded ticker:
lines (and ", "-separated parts) that name a ticker start a segment, the others add detail to the one before ("SL
1.00" on its own line). Lines before the first ticker are a header whose action and size apply to every segment
("Bought a starter size in both:", or a heading such as "Options Scale"). A message with spread legs ("+1 415 C /
-1 420 C", "sell SPY 590P, buy 585P") is one segment. Each segment is read by _reader (the rules, one module per
concern) and judged by _judge: signal, non_signal (chatter, intent, recaps, missed entries) or unparseable
(trade-like but incomplete, with the reason). A signal's confidence is at or above 0.8 (the executor's default gate)
only when nothing had to be guessed; the result's reason says what lowered it.

Pure and deterministic: it reads only the Alert (never the clock), and never raises. Frozen once released, like v1:
tests/parsing/test_golden.py holds it to its recorded output.
"""

from __future__ import annotations

import re
from typing import Any

from autosig.parsing import _dates as dates
from autosig.parsing.model import non_signal, unparseable
from autosig.parsing.v2._judge import GUESS, Parent, Reading, judge
from autosig.parsing.v2._lexer import clean
from autosig.parsing.v2._segments import MAX_TOKENS, split_segments
from autosig.parsing.v2._talk import read_talk

__all__ = ["MAX_REPLY_DEPTH", "MAX_TOKENS", "READ_CHARS", "VERSION", "parse"]

VERSION = "2"
# Only the head of a message is read: trades are written at the top, and the cap bounds the work a stranger's
# message can cost (the parser stays linear, but 10 KB of text is still ~2000 tokens of Python).
READ_CHARS = 1_000
MAX_REPLY_DEPTH = 3
_WORD = re.compile(r"[a-z0-9]+")
_RECAP_HEADLINES = {
    "recap", "recaps", "results", "review", "summary", "journal", "pnl", "reminder", "reminders", "yesterday",
    "yesterday's",
}  # fmt: skip
_INTENT_HEADLINES = {
    "watchlist", "watchlists", "wl", "watching", "watch", "radar", "eyeing", "might", "maybe", "considering",
    "thinking", "idea", "ideas", "setups", "planning", "potential",
}  # fmt: skip


def parse(alert: Any) -> dict[str, Any]:
    """The result {"kind", "reason", "signals"} for one Alert. Never raises."""
    try:
        return _parse(alert, 0)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not stop ingestion; the reason names it
        return unparseable(f"parser v{VERSION} failed: {type(exc).__name__}")


def _parse(alert: Any, depth: int) -> dict[str, Any]:
    text = alert.text if isinstance(alert.text, str) else ("" if alert.text is None else str(alert.text))
    truncated = len(text) > READ_CHARS
    if truncated:
        text = _head(text)
    text = clean(text)
    if not text.strip():
        return non_signal("empty text")
    headline = _headline(text)
    if headline:
        return non_signal(headline)
    talk = read_talk(text)
    if talk.not_an_order is not None:
        return non_signal(talk.not_an_order)
    today = dates.alert_date(alert.created_at)
    parent = _parent(alert, depth)
    header, segments = split_segments(text, today)
    if not segments:
        return non_signal("empty text")
    results: list[Reading | dict[str, Any]] = []
    previous = None  # "Out nvda 1.50, spy 4.10": a segment without an action word continues the one before
    for seg in segments:
        results.append(judge(seg, header, today, parent, previous, talk))
        previous = seg.action or previous
    readings = [r for r in results if isinstance(r, Reading)]
    others = [r for r in results if not isinstance(r, Reading)]
    if readings:
        if any(r["kind"] == "unparseable" for r in others):
            _lower(readings, 0.1, "part of the message could not be read")
        if truncated:  # what the rest says ("…not ours", "cancel that") is unknown
            _lower(readings, GUESS, "only the head of a long message was read")
        return _signals(readings)
    unreadable = [r for r in others if r["kind"] == "unparseable"]
    return unreadable[0] if unreadable else others[0]


def _lower(readings: list[Reading], cost: float, why: str) -> None:
    for r in readings:
        r.signal["confidence"] = round(max(0.1, r.signal["confidence"] - cost), 2)
        r.doubts.append(why)


def _signals(readings: list[Reading]) -> dict[str, Any]:
    """The signal result. Its reason, unlike v1's, says what lowered each confidence ("SPY 0.75: no expiry
    written"), so a skipped order can be explained; None when nothing did."""
    doubts = [
        f"{r.signal['ticker']} {r.signal['confidence']:g}: {', '.join(r.doubts)}" for r in readings if r.doubts
    ]
    return {"kind": "signal", "reason": "; ".join(doubts) or None, "signals": [r.signal for r in readings]}


def _headline(text: str) -> str | None:
    """'Recap today: …', 'Watchlist for tomorrow: …': a message that opens by saying what it is covers every
    ticker it lists. The reason, or None."""
    for word in _WORD.findall(text[:40].lower())[:3]:
        if word in _RECAP_HEADLINES:
            return "recap or result, not an order"
        if word in _INTENT_HEADLINES:
            return "intent or watchlist, not an order"
    return None


def _head(text: str) -> str:
    """The first READ_CHARS characters, cut at a line break or space so no number or word is cut in two."""
    head = text[:READ_CHARS]
    for sep in ("\n", " "):
        cut = head.rfind(sep)
        if cut >= READ_CHARS // 2:
            return head[:cut]
    return head


def _parent(alert: Any, depth: int) -> Parent | None:
    reply_id = getattr(alert, "reply_to_id", None)
    replied = getattr(alert, "reply_to", None)
    if reply_id is None and replied is not None:
        reply_id = getattr(replied, "id", None)
    if reply_id is None and replied is None:
        return None
    if replied is None or depth >= MAX_REPLY_DEPTH:
        return Parent(reply_id, None, False)
    parsed = _parse(replied, depth + 1)
    contracts: dict[str, dict[str, Any]] = {}
    for s in parsed["signals"]:
        shape = repr(
            (s["ticker"], s["instrument"], [(leg["right"], leg["strike"], leg["expiry"]) for leg in s["legs"]])
        )
        contracts.setdefault(shape, s)
    if len(contracts) == 1:
        return Parent(reply_id, next(iter(contracts.values())), False)
    return Parent(reply_id, None, len(contracts) > 1)
