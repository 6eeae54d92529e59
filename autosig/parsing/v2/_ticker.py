"""The rule of parser v2 that finds the ticker: a $ or / word first, then the word right after the action, then
a word in capitals."""

from __future__ import annotations

from autosig.parsing import _dates as dates
from autosig.parsing.v2._actions import PHRASES_BY_FIRST
from autosig.parsing.v2._scan import Scan
from autosig.parsing.v2._vocab import (
    FUTURES,
    NOT_TICKERS,
    POSITIONAL,
    PRICE_LABELS,
    RIGHTS,
    STOP_LABELS,
    TAG_WORDS,
    TARGET_LABELS,
    TICKER_FILLER,
    WEEKLY,
)

_SENTENCE_ENDS = {".", "!", "?", "¶", "(", ")"}
# Words that are never tickers, even in capitals right before a contract.
_JARGON = (
    set(PHRASES_BY_FIRST)
    | set(POSITIONAL)
    | set(RIGHTS)
    | WEEKLY
    | STOP_LABELS
    | TARGET_LABELS
    | PRICE_LABELS
    | set(TAG_WORDS)
    | {"exp", "expiry", "expiration", "exps", "strike", "dte", "leap", "leaps", "otm", "itm", "atm"}
    | {"the", "my", "a", "an", "of", "to", "more", "some", "rest", "new", "this", "next", "x", "qty", "size"}
) - {"all"}  # fmt: skip  ("all out" starts with a word that is also a ticker: Allstate)


class TickerRules(Scan):
    """The traded ticker."""

    def candidate(self, i: int, *, positional: bool) -> bool:
        tok = self.tok(i)
        if tok is None or tok.kind != "word" or tok.used:
            return False
        letters = tok.low
        if "." in letters:
            return True  # a class share ("BRK.B"): the lexer only makes these from a strict capitals pattern
        if not letters.isascii() or not letters.isalpha() or not 1 <= len(letters) <= 6:
            return False
        if tok.dollar or tok.slash:
            return True
        if len(letters) >= 5 and letters.endswith(("ing", "ed", "ly")) and not tok.text.isupper():
            return False  # "taking 1/3", "trimmed 2": lowercase English forms, never a ticker
        if letters in NOT_TICKERS or letters in dates.MONTHS:
            # an English word in capitals right before a contract is a ticker: "BTO ON 50c", "ALL 150c 1/16"
            return (
                positional
                and tok.text.isupper()
                # one capital before a contract is a ticker too: "BTO 2 T 25c", "BTO A 140c" ("T" is a target
                # label only as "T1"; "C" and "P" are rights)
                and (letters not in _JARGON or len(letters) == 1 and letters not in "cp" and self.contract_at(i + 1))
                and letters not in dates.MONTHS
                and self.priced_at(i + 1)
            )
        if positional:
            return True
        return tok.text.isupper() and len(letters) >= 2

    def priced_at(self, i: int) -> bool:
        """Token i starts a contract, or "@ <price>"."""
        return self.contract_at(i) or self.low(i) in ("@", "at") and self.t[i + 1].kind == "num"

    def contract_at(self, i: int) -> bool:
        """Token i starts a contract or expiry (the ticker is written right before these)."""
        tok = self.tok(i)
        if tok is None:
            return False
        if tok.kind == "date" or tok.low in dates.MONTHS or tok.low in WEEKLY or i in self.dash_dates:
            return True
        return tok.kind == "num" and (self.is_right(i + 1) or self.low(i + 1) == "dte")

    def scan_ticker(self) -> None:
        f, t = self.f, self.t
        chosen: int | None = None
        for i in self.words:
            tok = t[i]
            if (tok.dollar or tok.slash) and self.candidate(i, positional=True):
                chosen = i
                break
        if chosen is None and (f.action is not None or self.inherited_action):
            start = j = f.action.end if f.action is not None else 0
            skipped_words = False
            while j < self.n and (t[j].used or t[j].low in TICKER_FILLER or t[j].kind == "sym"):
                if t[j].kind == "num" and not t[j].used or t[j].low in _SENTENCE_ENDS:
                    break  # the ticker of "(stopped). Solid green day" is not "Solid"
                if t[j].kind == "word" and not t[j].used and t[j].text.isupper() and self.priced_at(j + 1):
                    break  # "BTO 2 ALL 150c", "Long ON @ 52.30": capitals before a contract are the ticker
                skipped_words = skipped_words or (t[j].kind == "word" and not t[j].used)
                j += 1
            # a lowercase word is a ticker right after the action ("out nvda"), or further on only when a contract
            # or number follows it ("adding to amd 160c"), so "out of office today" names no ticker
            followed = self.contract_at(j + 1) or self.free_num(j + 1) is not None
            if f.action is None:
                ok = followed  # a continuation ("…, spy 4.10") must go on like an order
            else:
                ok = not skipped_words or j == start or followed
            if ok and self.candidate(j, positional=True):
                chosen = j
        if chosen is None:
            for i in range(self.n):
                if (
                    self.candidate(i, positional=False)
                    or self.candidate(i, positional=True)
                    and self.contract_at(i + 1)
                ):
                    chosen = i
                    break
        if chosen is None:
            return
        tok = t[chosen]
        tok.used = True
        f.ticker = tok.low.upper()
        f.ticker_at = chosen
        f.ticker_sure = tok.dollar or tok.slash or tok.text.isupper()
        # A word that is also English ("ON", "ALL", "NOW") is a ticker only with evidence: a $ or a contract after
        # it. "Long ON @ 52.30" reads ON by its place in the order, but not for certain.
        f.ticker_evidence = tok.dollar or tok.slash or self.contract_at(chosen + 1) or tok.low not in NOT_TICKERS
        f.future = tok.slash or tok.low in FUTURES and not tok.dollar
