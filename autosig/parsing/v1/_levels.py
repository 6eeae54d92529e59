"""Rules of parser v1 for labelled numbers (stops, targets, entries, prices) and the bare price read last."""

from __future__ import annotations

from typing import Any

from autosig.parsing.v1._features import num
from autosig.parsing.v1._scan import SIGNS, Scan
from autosig.parsing.v1._vocab import (
    LABEL_FILLER,
    PRICE_LABELS,
    SIZE_NOUNS,
    STOP_LABELS,
    STOP_TEXT,
    TARGET_LABELS,
)

_ENTRY_LABELS = {"from", "avg", "average", "cost"}
_LIST_SEPARATORS = {",", "/", "and", "&", "|", "then"}


class LevelRules(Scan):
    """Stops, targets, entries and the price."""

    def label_value(self, i: int) -> int | None:
        """Index of the first token after label i once filler words are skipped ("SL is", "PT:", "moved to")."""
        j = i + 1
        for _ in range(5):
            if j < self.n and self.low(j) in LABEL_FILLER and not self.t[j].used:
                j += 1
            else:
                break
        return j if j < self.n else None

    def read_level(self, j: int, *, allow_text: bool) -> tuple[dict[str, Any] | None, int]:
        """A stop or target at token j: {"price"}, {"pct"}, {"pct"/"price", "trail_pct"} or {"text"}; and the
        index after it."""
        t = self.t
        tok = self.free_num(j)
        if tok is not None and self.tok(j + 1) is not None and self.is_right(j + 1):
            return None, j  # a strike, not a level
        if tok is not None:
            tok.used = True
            end = j + 1
            if self.low(end) == "%":
                t[end].used = True
                level: dict[str, Any] = {"pct": num(tok.value or 0)}
                end += 1
            else:
                level = {"price": tok.value}
            if self.low(end) in ("ts", "trail", "trailing"):
                k = end + 1
                if self.low(k) in (":", "@"):
                    k += 1
                trail = self.free_num(k)
                if trail is not None and self.low(k + 1) == "%":
                    trail.used = t[k + 1].used = t[end].used = True
                    level["trail_pct"] = num(trail.value or 0)
                    end = k + 2
            return level, end
        if allow_text and j < self.n and not t[j].used:
            low = t[j].low
            if low == "b" and self.low(j + 1) == "/" and self.low(j + 2) == "e":
                low, span = "b/e", 3
            elif low == "break" and self.low(j + 1) == "even":
                low, span = "even", 2
            else:
                span = 1
            if low in STOP_TEXT:
                for k in range(j, j + span):
                    t[k].used = True
                return {"text": STOP_TEXT[low]}, j + span
        return None, j

    def preceding_num(self, i: int) -> int | None:
        """'$.3 TARGET': a label with nothing after it takes the number right before it."""
        tok = self.free_num(i - 1)
        return i - 1 if tok is not None else None

    def scan_labels(self) -> None:
        f, t = self.f, self.t
        for i in sorted(self.words + self.syms):
            tok = t[i]
            if tok.used or tok.kind not in ("word", "sym"):
                continue
            low = tok.low
            if low in STOP_LABELS and not (low == "stop" and self.low(i + 1) == "out"):
                tok.used = True
                at = i
                if self.low(i + 1) == "loss":
                    t[i + 1].used = True
                    at = i + 1
                j = self.label_value(at)
                level = self.read_level(j, allow_text=True)[0] if j is not None else None
                if level is None and (k := self.preceding_num(i)) is not None and j is None:
                    level = self.read_level(k, allow_text=False)[0]
                if level is not None and f.stop is None:
                    f.stop = level
            elif self.is_target_label(i):
                tok.used = True
                if self.tok(i + 1) is not None and t[i + 1].kind == "num" and t[i + 1].glued and t[i + 1].is_int:
                    t[i + 1].used = True  # "PT1"
                self.read_targets(i)
            elif low in _ENTRY_LABELS:
                j = i + 1
                if self.low(j) in (":", "@"):
                    j += 1
                num = self.free_num(j)
                if num is not None and self.low(j + 1) != "%" and not self.is_right(j + 1):
                    tok.used = num.used = True
                    f.entry_price = f.entry_price if f.entry_price is not None else num.value
                    if low == "from" and (f.action is None or f.action.action != "add"):
                        f.gain = f.action is None  # "SPY 600c from .50 🔥" is a result, not an order
        for i in sorted(self.words + self.syms):
            tok = t[i]
            if tok.used or tok.low not in PRICE_LABELS:
                continue
            j = i + 1
            while self.low(j) in (":", "@", "at", "$", "price", "of", "around", "~") and j < i + 3:
                j += 1
            if self.free_num(j) is not None and self.low(j + 1) != "%" and not self.is_right(j + 1):
                if self.take_price(j):
                    tok.used = True
                    f.price_explicit = True
            elif tok.low == "entry" and (k := self.preceding_num(i)) is not None:
                if self.take_price(k):
                    tok.used = True
                    f.price_explicit = True

    def is_target_label(self, i: int) -> bool:
        tok = self.t[i]
        if tok.low not in TARGET_LABELS:
            return False
        glued_digit = self.tok(i + 1) is not None and self.t[i + 1].kind == "num" and self.t[i + 1].glued
        if tok.low == "t":  # "T" is AT&T; "T1:" is a target
            return glued_digit
        return True

    def read_targets(self, i: int) -> None:
        f, t = self.f, self.t
        label = i
        if self.tok(i + 1) is not None and t[i + 1].used and t[i + 1].kind == "num":
            i += 1  # "PT1:" — the value starts after the digit
        j = self.label_value(i)
        if j is None or self.free_num(j) is None:
            # only "… $.3 TARGET 🎯" (nothing readable after the label), never "1.25 target hit"
            after = self.tok(i + 1)
            k = self.preceding_num(label) if after is None or after.kind == "sym" else None
            if k is not None:
                level = self.read_level(k, allow_text=False)[0]
                if level is not None:
                    f.targets.append(level)
            return
        while j is not None and j < self.n:
            level, end = self.read_level(j, allow_text=False)
            if level is None:
                return
            f.targets.append(level)
            nxt = end
            if self.low(nxt) in _LIST_SEPARATORS or self.low(nxt) == "-" and not t[nxt].glued:
                nxt += 1
            if self.free_num(nxt) is None or self.low(nxt + 1) in SIZE_NOUNS:
                return
            if self.low(nxt - 1) in _LIST_SEPARATORS or self.low(nxt - 1) == "-":
                t[nxt - 1].used = True
            j = nxt

    def take_price(self, j: int) -> bool:
        """Claims the price (or range "1.85-1.9") at token j; False when one was already taken."""
        f, t = self.f, self.t
        if f.price is not None or f.price_range is not None:
            return False
        tok = t[j]
        tok.used = True
        sep = self.low(j + 1)
        hi = self.free_num(j + 2)
        if sep in ("-", "/", "to") and hi is not None and self.low(j + 3) != "%" and not self.is_right(j + 3):
            lo_v, hi_v = tok.value or 0.0, hi.value or 0.0
            if 0 < lo_v < hi_v <= lo_v * 2:
                f.price_range = [lo_v, hi_v]
                t[j + 1].used = hi.used = True
                return True
        f.price = tok.value
        return True

    def scan_price(self) -> None:
        f, t = self.f, self.t
        left = 0
        for i in self.nums:
            tok = t[i]
            if tok.used or tok.kind != "num":
                continue
            nxt = self.tok(i + 1)
            if nxt is not None and nxt.glued and nxt.kind == "word":
                tok.used = True  # "2nd", "10am", "5k"
                continue
            if nxt is not None and nxt.low == ":" and self.free_num(i + 2) is not None and t[i + 2].glued:
                tok.used = t[i + 2].used = True  # a time of day
                continue
            prev = self.tok(i - 1)
            if prev is not None and prev.low in SIGNS and tok.glued and not (i >= 2 and t[i - 2].kind == "num"):
                tok.used = True
                f.gain = f.gain or prev.low == "+"
                continue
            if f.price is None and f.price_range is None:
                self.take_price(i)
            else:
                left += 1
        f.numbers_left = left
