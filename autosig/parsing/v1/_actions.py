"""Rules of parser v1 for action words ("BTO", "sold half", "in" at the start) and the words that flag a segment
(intent, recap, commentary, tags, debit/credit, bull/bear)."""

from __future__ import annotations

from autosig.parsing.v1._features import Action
from autosig.parsing.v1._scan import END, Scan
from autosig.parsing.v1._vocab import (
    ACTION_PHRASES,
    COMMENTARY,
    IN_FOLLOWERS,
    INTENT,
    NOT_TICKERS,
    POSITIONAL,
    RECAP,
    TAG_WORDS,
)

# next word -> action words it disarms
_NOT_ACTION_BEFORE = {
    "bell": {"closing", "close"},
    "call": {"covered"},
    "calls": {"covered"},
    "price": {"closing", "close", "opening"},
}
# Longest phrases first, so "sold to open" wins over "sold".
PHRASES_BY_FIRST: dict[str, list[tuple[tuple[str, ...], str, str | None, bool]]] = {}
for _entry in sorted(ACTION_PHRASES, key=lambda e: -len(e[0])):
    PHRASES_BY_FIRST.setdefault(_entry[0][0], []).append(_entry)


class ActionRules(Scan):
    """The action word of a segment and the words that flag it."""

    def scan_words(self) -> None:
        f, t = self.f, self.t
        f.question = any(t[i].low == "?" for i in self.syms)
        for i in self.words:
            tok = t[i]
            low = tok.low
            tag = TAG_WORDS.get(low)
            if low == "high" and self.low(i + 1) == "risk":
                tag = "high_risk"
            elif low == "high" and self.low(i + 1) == "-" and self.low(i + 2) == "risk":
                tag = "high_risk"
            elif low == "highrisk":
                tag = "high_risk"
            if tag and tag not in f.tags:
                f.tags.append(tag)
            if low in INTENT and f.intent_at is None:
                f.intent_at = i
            if low in RECAP:
                f.recap = True
            if low in COMMENTARY:
                f.commentary = True
            if low in ("debit", "credit") and f.limit_kind is None:
                f.limit_kind = low
            elif low in ("bull", "bullish", "bear", "bearish") and f.bias is None:
                f.bias = low[:4]

    def scan_action(self) -> None:
        t = self.t
        first_word = next((i for i, tok in enumerate(t) if tok.kind in ("word", "num", "date")), None)
        # "lotto: BTO …", "Swing - in …": a tag prefix does not move the start of the sentence
        if first_word is not None and self.low(first_word) in TAG_WORDS and self.low(first_word + 1) in (":", "-"):
            first_word = next((i for i in range(first_word + 2, len(t)) if t[i].kind == "word"), first_word)
        for i in self.words:
            tok = t[i]
            if tok.kind != "word" or tok.dollar or tok.slash:
                continue
            if tok.low in _NOT_ACTION_BEFORE.get(self.low(i + 1), ()) or (
                tok.low == "entry" and self.low(i - 1) in ("to", "at", "@", "is", "from", "above", "below")
            ):
                continue  # "closing bell", "covered call", "stop to entry"
            for phrase, action, side, strong in PHRASES_BY_FIRST.get(tok.low, ()):
                n = len(phrase)
                if all(self.low(i + k) == phrase[k] for k in range(1, n)):
                    if n == 1 and tok.low in ("long", "short") and not self.direction_word(i):
                        break  # "long day", "long-term", "short week"
                    self.set_action(Action(action, side, strong, i, i + n))
                    return
            if tok.low in ("took", "take", "taking") and "off" in (self.low(i + k) for k in range(1, 5)):
                self.set_action(Action("close", None, False, i, i + 1))  # "took 1/2 off": a fraction makes it a trim
                return
            positional = POSITIONAL.get(tok.low)
            if positional:
                action, after = positional
                if i == first_word or self.low(i - 1) in after or (tok.low == "in" and self.low(i + 1) in IN_FOLLOWERS):
                    self.set_action(Action(action, None, tok.low in ("close", "closing"), i, i + 1))
                    return

    def direction_word(self, i: int) -> bool:
        """'long'/'short' is an order only beside what is traded: "long NVDA", "short 1 /MNQ", "ES long 6000"."""
        nxt, prev = self.t[i + 1], self.t[i - 1] if i > 0 else END[0]
        if nxt.kind == "num" or nxt.dollar or nxt.slash:
            return True
        if nxt.kind == "word" and nxt.low not in NOT_TICKERS and not nxt.glued:
            return True
        return prev.kind == "word" and prev.text.isupper() and prev.low not in NOT_TICKERS

    def set_action(self, action: Action) -> None:
        self.f.action = action
        if self.t[action.end - 1].low == "half":  # "sold half"
            self.f.fraction = 0.5
        for k in range(action.start, action.end):
            self.t[k].used = True
