"""Rules of parser v2 for action words ("BTO", "sold half", "in" at the start) and the words that flag a segment
(intent, recap, commentary, tags, debit/credit, bull/bear)."""

from __future__ import annotations

from autosig.parsing.v2._features import Action
from autosig.parsing.v2._scan import END, Scan
from autosig.parsing.v2._vocab import (
    ACTION_PHRASES,
    BUY_SIDE,
    CHASE,
    COMMENTARY,
    EXPIRY_WORDS,
    FUZZY_ACTIONS,
    HOLDING,
    HORIZON_BEFORE,
    IN_FOLLOWERS,
    INTENT,
    LEVEL_CHANGE,
    MISSED,
    NEGATIONS,
    NOT_MISSPELT,
    NOT_TICKERS,
    OPTION_WORDS,
    PARTIAL,
    PAST_FORMS,
    POSITIONAL,
    QUESTION_WORDS,
    RECAP,
    RESULT,
    ROLL_WORDS,
    SELL_SIDE,
    STOP_LABELS,
    STRATEGIES,
    TAG_WORDS,
    TARGET_LABELS,
    THIRD_PARTY,
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


_KEEPING = {"letting", "leaving", "holding", "keeping", "left", "let", "keep", "hold", "leave"}
_REMAINDER = {"ride", "rides", "riding", "runner", "runners", "rest", "remaining", "remainder"}
# "stop to entry", "a good entry": "entry" after these words names a price, not an order
_NOT_ENTRY_AFTER = {
    "to", "at", "@", "is", "from", "above", "below", "good", "great", "nice", "decent", "solid", "better", "best",
    "ideal", "perfect", "another", "next", "an", "possible", "potential", "cheap", "cheaper", "early", "late",
}  # fmt: skip
# Action words that, after an action word of the opposite kind, tell the rest of a trade already done
_ROUND_TRIP = {
    "sold": "close", "closed": "close", "exited": "close", "stopped": "close", "trimmed": "trim", "covered": "close",
    "stc": "close", "btc": "close", "bought": "open", "entered": "open", "opened": "open", "added": "add",
    "bto": "open", "sto": "open",
}  # fmt: skip
# Every word scan_words acts on
_FLAGGED = (
    set(TAG_WORDS) | INTENT | RECAP | RESULT | COMMENTARY | HOLDING | _KEEPING | MISSED | CHASE | OPTION_WORDS
    | STRATEGIES | ROLL_WORDS | LEVEL_CHANGE | SELL_SIDE | BUY_SIDE | THIRD_PARTY
    | {"high", "highrisk", "late", "runner", "runners", "debit", "credit", "bull", "bullish", "bear", "bearish"}
    | {"remaining", "remain", "if", "unless", "once"} | set(_ROUND_TRIP)
)  # fmt: skip


class ActionRules(Scan):
    """The action word of a segment and the words that flag it."""

    def scan_words(self) -> None:
        f, t = self.f, self.t
        f.question = any(t[i].low == "?" for i in self.syms)
        first = next((i for i in self.words if not t[i].dollar), None)
        f.asks = f.question and first is not None and t[first].low in QUESTION_WORDS
        for i in self.words:
            tok = t[i]
            low = tok.low
            if low not in _FLAGGED:
                continue  # most words flag nothing: one lookup for them
            if low in _ROUND_TRIP:
                f.trip_words += 1
            if low in SELL_SIDE:
                f.sides |= 1
            elif low in BUY_SIDE:
                f.sides |= 2
            tag = TAG_WORDS.get(low)
            if low == "high" and self.low(i + 1) == "risk":
                tag = "high_risk"
            elif low == "high" and self.low(i + 1) == "-" and self.low(i + 2) == "risk":
                tag = "high_risk"
            elif low == "highrisk":
                tag = "high_risk"
            if tag and tag not in f.tags:
                f.tags.append(tag)
            if low in INTENT and f.intent_at is None and not (low == "tmrw" and self.tomorrow_expiry(i)):
                f.intent_at = i
            if low in ("if", "unless", "once") and f.condition_at is None:
                f.condition_at = i
            if low in RECAP:
                f.recap = True
            elif low in RESULT:
                f.result = True
            if low in COMMENTARY:
                f.commentary = True
            if low in HOLDING:
                f.holding = True
            if low in _KEEPING and any(self.low(i + k) in _REMAINDER for k in range(1, 6)):
                f.runners = True
            elif low in _KEEPING and t[i + 1].kind == "num" and t[i + 1].is_int and self.low(i + 2) not in ("%", "."):
                f.runners = True  # "holding 2", "leaving 1"
            elif low in ("runner", "runners") and self.low(i + 1) in ("left", "on", "open", "still", "riding"):
                f.runners = True
            elif low in ("left", "remaining", "remain", "runner", "runners") and t[i - 1].kind == "num" and i > 0:
                f.runners = f.runners or t[i - 1].is_int  # "(1 left)", "2 runners"
            if low in THIRD_PARTY and f.third_party_at is None:
                f.third_party_at = i
            if low in MISSED and f.missed_at is None:
                f.missed_at = i
            elif low in CHASE and (self.low(i - 1) in NEGATIONS or self.low(i - 2) in NEGATIONS):
                f.no_chase_at = i if f.no_chase_at is None else f.no_chase_at
            elif low == "late" and self.low(i - 1) == "too":
                f.no_chase_at = i if f.no_chase_at is None else f.no_chase_at
            elif low in OPTION_WORDS:
                f.option_word = True
            elif low in STRATEGIES and (low != "ratio" or self.low(i + 1) == "spread"):
                f.strategy = True
            elif low in ROLL_WORDS:
                f.strategy = True  # a roll closes one contract and opens another
            elif low in LEVEL_CHANGE and any(self.level_label(k) for k in (i + 1, i + 2, i - 1)):
                f.level_change = True
            if low in ("debit", "credit") and f.limit_kind is None:
                f.limit_kind = low
            elif low in ("bull", "bullish", "bear", "bearish") and f.bias is None:
                f.bias = low[:4]

    def scan_round_trip(self) -> None:
        """ "BTO SPY 600c @ 1.25 ✅ closed @ 2.10": after the action word, an opposite one in the past (or a strong
        abbreviation), so the message tells a whole trade. "… sell at 2.00" is a plan and does not count."""
        f, t = self.f, self.t
        if f.action is None:
            return
        cond = f.condition_at
        if cond is not None and not f.action.strong and f.action.start < cond:
            # "bought … if you want in": the weak action word is conditional, unless a clause ends in between
            f.conditional = all(t[k].low != "¶" for k in range(f.action.end, cond))
        if f.trip_words - (t[f.action.start].low in _ROUND_TRIP) < 1:
            return  # no other word that could tell the rest of the trade
        entry = f.action.action in ("open", "add")
        for i in self.words:
            if i < f.action.end or t[i].used:
                continue
            kind = _ROUND_TRIP.get(t[i].low)
            if kind is not None and (kind in ("open", "add")) != entry:
                f.round_trip = True
                return

    def last_word(self, i: int) -> bool:
        """Token i is the segment's last word or number (only symbols and emoji after it)."""
        return all(self.t[k].kind == "sym" for k in range(i + 1, self.n))

    def after_contract(self, i: int) -> bool:
        """Token i follows a strike ("45c") or an expiry ("1/16")."""
        return self.is_right(i - 1) and self.t[i - 2].kind == "num" or self.t[i - 1].kind == "date"

    def tomorrow_expiry(self, i: int) -> bool:
        """ "holding into tmrw" (a horizon), "600c tmrw", "exp tmrw" (an expiry): not an intent."""
        return self.low(i - 1) in HORIZON_BEFORE or self.low(i - 1) in EXPIRY_WORDS or self.is_right(i - 1)

    def level_label(self, i: int) -> bool:
        tok = self.t[i]
        return tok.kind == "word" and (tok.low in STOP_LABELS or tok.low in TARGET_LABELS and tok.low != "t")

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
                tok.low == "entry" and self.low(i - 1) in _NOT_ENTRY_AFTER
            ):
                continue  # "closing bell", "covered call", "stop to entry"
            for phrase, action, side, strong in PHRASES_BY_FIRST.get(tok.low, ()):
                n = len(phrase)
                if all(self.low(i + k) == phrase[k] for k in range(1, n)):
                    if n == 1 and tok.low in ("long", "short") and not self.direction_word(i):
                        break  # "long day", "long-term", "short week"
                    self.set_action(Action(action, side, strong, i, i + n, past=tok.low in PAST_FORMS))
                    return
            if tok.low in ("took", "take", "taking") and "off" in (between := [self.low(i + k) for k in range(1, 5)]):
                # "took some off", "took 2 off", "took 1/2 off": part of the position, unless all of it
                whole = any(w in ("all", "everything", "rest", "remaining", "remainder") for w in between)
                self.set_action(Action("close" if whole else "trim", None, False, i, i + 1, past=tok.low == "took"))
                return
            positional = POSITIONAL.get(tok.low)
            if positional:
                action, after = positional
                if (
                    i == first_word
                    or self.low(i - 1) in after
                    or tok.low == "in" and self.low(i + 1) in IN_FOLLOWERS
                    or tok.low in ("in", "out") and self.free_num(i + 1) is not None and self.after_contract(i)
                    or tok.low in ("in", "out") and self.last_word(i) and (self.nums or self.dates)
                ):  # "HOOD 45c out 1.40", "COIN 280c 1/23 3.05 ✅ out"
                    self.set_action(Action(action, None, tok.low in ("close", "closing"), i, i + 1))
                    return
            if i == first_word or self.low(i - 1) in ("i", "we", "just", "also", "and", "got"):
                misspelt = _misspelt(tok.low)
                if misspelt is not None:
                    action, side = misspelt
                    self.set_action(Action(action, side, False, i, i + 1, misspelt=True))
                    return
        for i in self.words:
            if t[i].low == "off" and t[i - 1].kind in ("num", "date") and not t[i - 1].dollar and i > 0:
                # "another 1 off at 5.80", "1/2 off here": part of the position taken off
                if t[i - 1].kind == "num" and t[i - 1].is_int:
                    self.f.quantity = int(t[i - 1].value or 0)
                    t[i - 1].used = True
                self.set_action(Action("trim", None, False, i, i + 1))
                return

    def direction_word(self, i: int) -> bool:
        """'long'/'short' is an order only beside what is traded: "long NVDA", "short 1 /MNQ", "ES long 6000"."""
        nxt, prev = self.t[i + 1], self.t[i - 1] if i > 0 else END[0]
        if nxt.kind == "num" or nxt.dollar or nxt.slash:
            return True
        if nxt.kind == "word" and nxt.low not in NOT_TICKERS and not nxt.glued:
            return True
        if nxt.kind == "word" and nxt.text.isupper() and self.low(i + 2) in ("@", "at") and self.t[i + 3].kind == "num":
            return True  # "Long ON @ 52.30"
        return prev.kind == "word" and prev.text.isupper() and prev.low not in NOT_TICKERS

    def set_action(self, action: Action) -> None:
        t = self.t
        if action.action == "close" and t[action.end].low in PARTIAL and t[action.end].kind == "word":
            # "out some", "sold more", "closing a few": part of the position
            action.action = "trim"
        elif action.action == "close" and t[action.end].low in ("a", "another") and t[action.end + 1].low in PARTIAL:
            action.action = "trim"
        self.f.action = action
        if any(t[k].low == "half" for k in range(action.start, action.end)):  # "sold half", "half off"
            self.f.fraction = 0.5
        for k in range(action.start, action.end):
            t[k].used = True


def _misspelt(word: str) -> tuple[str, str | None] | None:
    """The (action, side) of a misspelt action word, or None: same first letter, and one swap of neighbours, or
    (for words of five letters or more) one letter missing, extra or wrong."""
    if len(word) < 4 or word in FUZZY_ACTIONS or word in NOT_MISSPELT or word in NOT_TICKERS or not word.isalpha():
        return None
    for target, meaning in _FUZZY_BY_FIRST.get(word[0], ()):
        if abs(len(word) - len(target)) <= 1 and _one_edit(word, target):
            return meaning
    return None


_FUZZY_BY_FIRST: dict[str, list[tuple[str, tuple[str, str | None]]]] = {}
for _target, _meaning in FUZZY_ACTIONS.items():
    _FUZZY_BY_FIRST.setdefault(_target[0], []).append((_target, _meaning))


def _one_edit(a: str, b: str) -> bool:
    if len(a) == len(b):
        diff = [k for k in range(len(a)) if a[k] != b[k]]
        if len(diff) == 2 and diff[1] == diff[0] + 1:
            return a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]  # neighbours swapped
        return len(diff) == 1 and len(b) >= 6  # one letter wrong, in a long word only
    if len(b) < 5:
        return False
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    k = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[k:] == long_[k + 1 :]  # one letter missing or extra
