"""Rules of parser v1 for how much: size words ("starter", "1/4 size", "2% size"), fractions of a position
("sold 1/2", "half", "50% trim") and quantities ("2 contracts", "x5", "BTO 3 …")."""

from __future__ import annotations

from autosig.parsing.v1._scan import SIGNS, Scan
from autosig.parsing.v1._vocab import (
    ACCOUNT_NOUNS,
    FRACTION_CONTEXT,
    NOT_TICKERS,
    QTY_UNITS,
    SHARE_UNITS,
    SIZE_ADJ,
    SIZE_NOUNS,
)


class SizeRules(Scan):
    """Size words, fractions, percents and quantities."""

    def scan_sizes(self) -> None:
        """Size words ("starter size", "1/4 size", "2% size") and fractions ("sold 1/2", "half", "50% trim")."""
        f, t = self.f, self.t
        closing = f.action is not None and f.action.action in ("trim", "close")
        texts: list[str] = []
        for i in sorted(self.words + self.dates + self.nums):
            tok = t[i]
            if tok.used:
                continue
            nxt = self.low(i + 1)
            if tok.kind == "date" and tok.text.count("/") == 1:
                a, b = (int(x) for x in tok.text.split("/"))
                fraction_like = 0 < a < b <= 10
                if nxt in SIZE_NOUNS and fraction_like:
                    if closing:
                        f.fraction = f.fraction or a / b
                    else:
                        texts.append(f"{tok.text} {t[i + 1].text}")
                    tok.used = t[i + 1].used = True
                elif fraction_like and (self.low(i - 1) in FRACTION_CONTEXT or nxt in ("off", "of")):
                    f.fraction = f.fraction or a / b
                    tok.used = True
            elif (
                closing
                and tok.kind == "num"
                and tok.is_int
                and nxt == "of"
                and t[i + 2].kind == "num"
                and t[i + 2].is_int
                and 0 < (tok.value or 0) < (t[i + 2].value or 0)
            ):
                f.fraction = f.fraction or (tok.value or 0) / (t[i + 2].value or 1)  # "sold 2 of 4"
                tok.used = t[i + 1].used = t[i + 2].used = True
            elif tok.kind == "word" and tok.low in SIZE_ADJ and nxt in SIZE_NOUNS:
                texts.append(f"{tok.text} {t[i + 1].text}")
                tok.used = t[i + 1].used = True
            elif tok.kind == "word" and tok.low == "starter":
                texts.append(tok.text)
                tok.used = True
            elif tok.kind == "word" and tok.low in ("half", "third", "quarter") and closing:
                value = {"half": 0.5, "third": 1 / 3, "quarter": 0.25}[tok.low]
                if tok.low != "half" and self.low(i - 1) == "two":
                    value *= 2
                elif tok.low == "quarter" and self.low(i - 1) in ("three", "3"):
                    value *= 3
                f.fraction = f.fraction or value
                tok.used = True
        if texts:
            f.size_text = ", ".join(texts)

    def scan_percents(self) -> None:
        f, t = self.f, self.t
        opening = f.action is None or f.action.action in ("open", "add")
        for i in self.nums:
            tok = t[i]
            if tok.used or tok.kind != "num" or self.low(i + 1) != "%":
                continue
            t[i + 1].used = True
            tok.used = True
            prev, nxt = self.low(i - 1), self.low(i + 2)
            signed = prev in SIGNS and tok.glued
            if signed:
                f.gain = True
                continue
            value = tok.value or 0.0
            if (
                nxt in ("size", "sized", "sizing", "allocation")
                or prev in ("size", "sizing")
                or (nxt == "of" and self.low(i + 3) in ACCOUNT_NOUNS)
            ):
                f.size_pct = f.size_pct if f.size_pct is not None else value
                if nxt in SIZE_NOUNS:
                    t[i + 2].used = True
            elif nxt in ("position", "pos") and opening:
                f.size_pct = f.size_pct if f.size_pct is not None else value
            elif (
                prev in FRACTION_CONTEXT or nxt in FRACTION_CONTEXT or nxt in ("of", "position")
            ) and 0 < value <= 100:
                f.fraction = f.fraction if f.fraction is not None else value / 100
            elif prev in ("up", "down", "gain", "gained", "profit", "for") or nxt in ("gain", "profit", "up"):
                f.gain = True

    def scan_quantity(self) -> None:
        f, t = self.f, self.t
        for i in sorted(self.nums + self.words):
            tok = t[i]
            if tok.used:
                continue
            if tok.kind == "num" and tok.is_int and not tok.dollar and self.low(i + 1) in QTY_UNITS - {"qty"}:
                unit = t[i + 1]
                if unit.low == "x" or not unit.used:
                    f.quantity = int(tok.value or 0)
                    f.shares = unit.low in SHARE_UNITS
                    tok.used = unit.used = True
                    return
            if tok.low in ("x", "qty") and tok.kind == "word":
                j = i + 1 + (self.low(i + 1) == ":")
                num = self.free_num(j)
                if num is not None and num.is_int and (tok.low == "qty" or num.glued):
                    f.quantity = int(num.value or 0)
                    tok.used = num.used = True
                    return
        action = f.action
        if action is None:
            return
        num = self.free_num(action.end)
        nxt = self.tok(action.end + 1)
        if num is not None and num.is_int and not num.dollar and nxt is not None and nxt.kind == "word":
            if not nxt.used and (nxt.dollar or nxt.slash or nxt.low not in NOT_TICKERS or nxt.text.isupper()):
                f.quantity = int(num.value or 0)
                num.used = True
