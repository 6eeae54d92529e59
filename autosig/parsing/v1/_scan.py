"""The token cursor every rule of parser v1 reads through: tokens by kind, lookarounds without bounds checks."""

from __future__ import annotations

from datetime import date

from autosig.parsing.v1._features import Features
from autosig.parsing.v1._lexer import Token
from autosig.parsing.v1._vocab import (
    RIGHTS,
)

SIGNS = {"+", "-"}
# Shared end markers: no rule ever claims or changes one (their text matches nothing).
END = [Token("end", "", "", 0, 0, False)] * 6


class Scan:
    """Tokens of one segment and the Features read from them so far. `inherited_action` lets a continuation
    segment ("…, spy 4.10") use a lowercase ticker at its start, as it would right after an action word."""

    def __init__(self, tokens: list[Token], today: date | None, inherited_action: bool = False) -> None:
        # Indices by kind, so each rule visits only the tokens it can use.
        self.nums: list[int] = []
        self.words: list[int] = []
        self.dates: list[int] = []
        self.syms: list[int] = []
        by_kind = {"num": self.nums, "word": self.words, "date": self.dates, "sym": self.syms}
        for i, tok in enumerate(tokens):
            tok.used = False  # the same tokens are read again when segments are regrouped
            by_kind[tok.kind].append(i)
        # End markers past the last token (t[-1] is one too), so lookarounds need no bounds checks.
        self.n = len(tokens)
        self.t = tokens + END
        self.today = today
        self.inherited_action = inherited_action
        self.dash_dates: set[int] = set()  # first token of each "1-17" read as an expiry (see read_dash_date)
        self.f = Features()

    # -- helpers -------------------------------------------------------------------------------------------------

    def low(self, i: int) -> str:
        return self.t[i].low

    def tok(self, i: int) -> Token | None:
        tok = self.t[i]
        return None if tok.kind == "end" else tok

    def free_num(self, i: int) -> Token | None:
        tok = self.t[i]
        return tok if tok.kind == "num" and not tok.used else None

    def is_right(self, i: int) -> bool:
        tok = self.t[i]
        return tok.kind == "word" and not tok.dollar and tok.low in RIGHTS

    def pct_after(self, i: int) -> int | None:
        """Index of a '%' right after token i (glued or spaced), else None."""
        return i + 1 if self.low(i + 1) == "%" else None
