"""Reads the trade facts out of one segment's tokens (parser v1).

Rules run in a fixed order and each claims the tokens it reads (Token.used), so a number is read once: spread
legs, then strikes, expiries, sizes and fractions, labelled stops/targets/prices, quantities, the ticker, and
last the bare price. Every rule is a single left-to-right scan, so a segment of n tokens costs O(n * rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from autosig.parsing import dates
from autosig.parsing.lexer import Token
from autosig.parsing.vocab import (
    ACCOUNT_NOUNS,
    ACTION_PHRASES,
    COMMENTARY,
    FRACTION_CONTEXT,
    FUTURES,
    IN_FOLLOWERS,
    INTENT,
    LABEL_FILLER,
    NOT_TICKERS,
    POSITIONAL,
    PRICE_LABELS,
    QTY_UNITS,
    RECAP,
    RIGHTS,
    SHARE_UNITS,
    SIZE_ADJ,
    SIZE_NOUNS,
    STOP_LABELS,
    STOP_TEXT,
    TAG_WORDS,
    TARGET_LABELS,
    TICKER_FILLER,
    WEEKLY,
)

_ENTRY_LABELS = {"from", "avg", "average", "cost"}
_EXPIRY_WORDS = {"exp", "expiry", "expiration", "exps", "expires", "expiring"}
_LIST_SEPARATORS = {",", "/", "and", "&", "|", "then"}
_SIGNS = {"+", "-"}
_SENTENCE_ENDS = {".", "!", "?", "¶", "(", ")"}
# next word -> action words it disarms
_NOT_ACTION_BEFORE = {
    "bell": {"closing", "close"},
    "call": {"covered"},
    "calls": {"covered"},
    "price": {"closing", "close", "opening"},
}
# Shared end markers: no rule ever claims or changes one (their text matches nothing).
_END = [Token("end", "", "", 0, 0, False)] * 6
# Longest phrases first, so "sold to open" wins over "sold".
_PHRASES_BY_FIRST: dict[str, list[tuple[tuple[str, ...], str, str | None, bool]]] = {}
for _entry in sorted(ACTION_PHRASES, key=lambda e: -len(e[0])):
    _PHRASES_BY_FIRST.setdefault(_entry[0][0], []).append(_entry)
# Words that are never tickers, even in capitals right before a contract.
_JARGON = (
    set(_PHRASES_BY_FIRST)
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


@dataclass
class Action:
    action: str
    side: str | None  # "buy", "sell", "short" (decided by the right), None (default of the action)
    strong: bool
    start: int
    end: int  # index after the phrase


@dataclass
class Features:
    action: Action | None = None
    intent_at: int | None = None
    recap: bool = False
    commentary: bool = False
    question: bool = False
    gain: bool = False  # "+100%", "from X": reporting a result, not placing an order
    ticker: str | None = None
    ticker_sure: bool = True  # False when taken from a lowercase word by position only
    ticker_at: int = -1
    future: bool = False
    shares: bool = False
    signed_legs: list[dict[str, Any]] = field(default_factory=list)
    strikes: list[tuple[float, str]] = field(default_factory=list)
    strike_pair: tuple[float, float, str] | None = None  # (low, high, right) of "600/610c"
    bias: str | None = None  # "bull" / "bear"
    right_only: str | None = None
    expiry: str | None = None
    expiry_seen: bool = False  # an expiry was written, even if it could not be resolved
    zero_dte: bool = False
    price: float | None = None
    price_range: list[float] | None = None
    price_explicit: bool = False
    quantity: int | None = None
    size_pct: float | None = None
    size_text: str | None = None
    fraction: float | None = None
    stop: dict[str, Any] | None = None
    targets: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    entry_price: float | None = None
    limit_kind: str | None = None
    numbers_left: int = 0  # numbers no rule could place


def _num(value: float) -> float | int:
    return int(value) if value == int(value) and abs(value) < 1e15 else value


class Reader:
    """Extracts Features from one segment. `inherited_action` lets a continuation segment ("…, spy 4.10") use
    a lowercase ticker at its start, as it would right after an action word."""

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
        self.t = tokens + _END
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

    # -- the scan ------------------------------------------------------------------------------------------------

    def read(self) -> Features:
        self.scan_words()
        self.scan_action()
        self.scan_signed_legs()
        self.scan_strike_pairs()
        self.scan_strikes()
        self.scan_sizes()
        self.scan_expiries()
        self.scan_labels()
        self.scan_percents()
        self.scan_quantity()
        self.scan_ticker()
        self.scan_price()
        return self.f

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
            for phrase, action, side, strong in _PHRASES_BY_FIRST.get(tok.low, ()):
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
        nxt, prev = self.t[i + 1], self.t[i - 1] if i > 0 else _END[0]
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

    def scan_signed_legs(self) -> None:
        t = self.t
        for i in self.syms:
            tok = t[i]
            if tok.low not in _SIGNS or tok.used:
                continue
            prev = self.tok(i - 1)
            if prev is not None and prev.kind == "num" and tok.glued:
                continue  # "1.85-1.9" is a range
            a = self.tok(i + 1)
            if a is None or a.kind != "num" or not a.glued or a.used:
                continue
            b = self.tok(i + 2)
            if b is not None and b.kind == "num" and a.is_int and self.is_right(i + 3):
                ratio, strike, right_at = int(a.value or 1), b.value, i + 3
            elif self.is_right(i + 2):
                ratio, strike, right_at = 1, a.value, i + 2
            else:
                continue
            side = "buy" if tok.low == "+" else "sell"
            self.f.signed_legs.append(
                {"side": side, "ratio": max(ratio, 1), "right": RIGHTS[t[right_at].low], "strike": strike}
            )
            for k in range(i, right_at + 1):
                t[k].used = True

    def scan_strike_pairs(self) -> None:
        """ "6000/6010 call", "50/55p": a vertical spread's two strikes; the sides come from debit/credit or
        bull/bear, judged later."""
        t = self.t
        for i in sorted(self.nums + self.dates):
            tok = t[i]
            if tok.used:
                continue
            if tok.kind == "num" and t[i + 1].low == "/" and t[i + 1].glued and t[i + 2].kind == "num":
                if not (t[i + 2].glued and self.is_right(i + 3)):
                    continue
                lo, hi, right_at = tok.value or 0.0, t[i + 2].value or 0.0, i + 3
            elif tok.kind == "date" and tok.text.count("/") == 1 and self.is_right(i + 1):
                a, b = tok.text.split("/")
                lo, hi, right_at = float(a), float(b), i + 1
            else:
                continue
            if self.f.strike_pair is None and lo != hi:
                self.f.strike_pair = (min(lo, hi), max(lo, hi), RIGHTS[t[right_at].low])
            for k in range(i, right_at + 1):
                t[k].used = True

    def scan_strikes(self) -> None:
        t = self.t
        for i in self.nums:
            tok = t[i]
            if tok.kind == "num" and not tok.used and self.is_right(i + 1):
                nxt = t[i + 1]
                # a spaced single letter must stand alone: "415 C" yes, "2 p&l" no
                if len(nxt.low) == 1 and not nxt.glued and self.low(i + 2) in ("&", "'"):
                    continue
                self.f.strikes.append((tok.value or 0.0, RIGHTS[nxt.low]))
                tok.used = nxt.used = True
        for i in self.words:
            tok = t[i]
            if not tok.used and tok.kind == "word" and tok.low in ("call", "calls", "put", "puts"):
                self.f.right_only = self.f.right_only or RIGHTS[tok.low]
                tok.used = True
        if self.f.right_only and not self.f.strikes:
            # key-value alerts: "Type: Call … Strike: 600"
            for i in self.words:
                if t[i].low in ("strike", "strk") and not t[i].used:
                    j = i + 1 + (t[i + 1].low in (":", "-", "="))
                    num = self.free_num(j)
                    if num is not None and t[j + 1].low != "%":
                        self.f.strikes.append((num.value or 0.0, self.f.right_only))
                        t[i].used = num.used = True
                        break

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

    def scan_expiries(self) -> None:
        f, t = self.f, self.t
        option_context = bool(f.strikes or f.signed_legs or f.right_only or f.strike_pair)
        for i in sorted(self.nums + self.words + self.dates):
            tok = t[i]
            if tok.used:
                continue
            found: date | None = None
            seen = False
            if tok.kind == "num" and tok.is_int and not tok.dollar and self.low(i + 1) == "dte":
                # "0dte", "1dte", "3 DTE": N trading days after the alert's day (N = 0 is that day)
                sessions = int(tok.value or 0)
                found, seen = dates.trading_days_after(self.today, sessions), True
                f.zero_dte = f.zero_dte or sessions == 0
                t[i + 1].used = True
            elif tok.kind == "num" and (dash := self.read_dash_date(i)) is not None:
                found, seen = dash, True
            elif tok.kind == "date":
                found, seen = self.read_date(tok.text), True
            elif tok.kind == "word" and tok.low in dates.MONTHS:
                found, seen = self.read_month(i, option_context)
            elif tok.kind == "num" and tok.is_int and 1 <= (tok.value or 0) <= 31 and self.low(i + 1) in dates.MONTHS:
                found, seen = self.read_day_month(i)
            elif tok.kind == "word" and (tok.low in WEEKLY or (tok.low == "this" and self.low(i + 1) == "week")):
                found, seen = dates.this_friday(self.today), True
                if tok.low == "this":
                    t[i + 1].used = True
            elif tok.kind == "word" and (tok.low == "nextweek" or (tok.low == "next" and self.low(i + 1) == "week")):
                found, seen = dates.next_friday(self.today), True
                if tok.low == "next":
                    t[i + 1].used = True
            elif tok.kind == "word" and tok.low in ("friday", "fri") and option_context:
                found, seen = dates.this_friday(self.today), True
            if seen:
                tok.used = True
                if not f.expiry_seen:
                    f.expiry_seen = True
                    f.expiry = dates.iso(found)
        if f.zero_dte and "0dte" not in f.tags:
            f.tags.append("0dte")

    def read_dash_date(self, i: int) -> date | None:
        """ "1-17", "12-20-25": a month-day written with dashes, read like "1/17" — but only where an expiry is
        written (beside a strike or an "exp" word), because "2-3 contracts", "10-12 call" and "1-2" as a price
        range look the same. None when token i does not start one; claims the tokens when it does. The date may
        still be None when it resolves to nothing (no created_at)."""
        t = self.t
        parts = [i]
        while len(parts) < 3 and self.low(parts[-1] + 1) == "-" and t[parts[-1] + 1].glued:
            nxt = t[parts[-1] + 2]
            if nxt.kind != "num" or not nxt.glued:
                break
            parts.append(parts[-1] + 2)
        if len(parts) < 2:
            return None
        nums = [t[k] for k in parts]
        if any(x.used or not x.is_int or x.dollar for x in nums) or any(t[k + 1].used for k in parts[:-1]):
            return None
        if len(nums[0].text) > 2 or len(nums[1].text) > 2 or len(parts) == 3 and len(nums[2].text) not in (2, 4):
            return None  # the slash form's shapes: M/D, M/D/YY, M/D/YYYY
        month, day = int(nums[0].value or 0), int(nums[1].value or 0)
        if dates.make_date(2000, month, day) is None:  # 2000 is a leap year: Feb 29 is a real month-day
            return None
        end = parts[-1] + 1
        after, before = t[end], t[i - 1]
        if after.glued and (after.kind in ("num", "word") or after.low in ("-", "/", "%", ":", "$")):
            return None  # "1-2-3-4", "2-3x", "10-12c", "1-2%": part of something longer
        if nums[0].glued and before.low not in ("(", "[", ":"):
            return None  # "$1-2", "+1-2": a price or a signed leg
        if after.low in QTY_UNITS or after.low in SIZE_NOUNS or self.is_right(end):
            return None  # "2-3 contracts", "1-2 size", "10-12 call" (two strikes)
        if not self.dash_date_position(i, end):
            return None
        for k in range(i, end):
            t[k].used = True
        self.dash_dates.add(i)
        if len(parts) == 3:
            return dates.make_date(dates.full_year(int(nums[2].value or 0)), month, day)
        return dates.next_on_or_after(month, day, self.today)

    def dash_date_position(self, i: int, end: int) -> bool:
        """Tokens i..end-1 sit where an expiry is written: after a strike ("600c 1-17") or before one
        ("1-17 600c"), or beside an expiry word ("exp 12-20", "exp: 12-20", "12-20 exp")."""
        t = self.t
        if self.is_right(i - 1) and t[i - 1].used and t[i - 2].kind == "num" and t[i - 2].used:
            return True
        if t[end].kind == "num" and self.is_right(end + 1):
            return True
        if self.low(end) in _EXPIRY_WORDS or self.low(i - 1) in _EXPIRY_WORDS:
            return True
        return self.low(i - 1) in (":", ".") and self.low(i - 2) in _EXPIRY_WORDS

    def read_date(self, text: str) -> date | None:
        if "-" in text:
            y, m, d = (int(x) for x in text.split("-"))
            return dates.make_date(y, m, d)
        parts = [int(x) for x in text.split("/")]
        if len(parts) == 3:
            return dates.make_date(dates.full_year(parts[2]), parts[0], parts[1])
        return dates.next_on_or_after(parts[0], parts[1], self.today)

    def _year_at(self, i: int) -> int | None:
        """A year written at token i ("24", "2025", ", 2025"), not a strike ("25c")."""
        if self.low(i) == ",":
            i += 1
        tok = self.free_num(i)
        if tok is None or not tok.is_int or tok.dollar or self.is_right(i + 1) or self.low(i + 1) == "%":
            return None
        if len(tok.text) == 4 and 2000 <= (tok.value or 0) <= 2099 or len(tok.text) == 2 and 20 <= (tok.value or 0):
            tok.used = True
            if self.low(i - 1) == ",":
                self.t[i - 1].used = True
            return int(tok.value or 0)
        return None

    def read_month(self, i: int, option_context: bool) -> tuple[date | None, bool]:
        tok = self.t[i]
        month = dates.MONTHS[tok.low]
        day_tok = self.free_num(i + 1)
        if day_tok is not None and day_tok.is_int and not day_tok.dollar and 1 <= (day_tok.value or 0) <= 31:
            if not self.is_right(i + 2) and self.low(i + 2) != "%":
                day_tok.used = True
                if self.low(i + 2) in ("st", "nd", "rd", "th") and self.t[i + 2].glued:
                    self.t[i + 2].used = True
                year = self._year_at(i + 2)
                day = int(day_tok.value or 0)
                if year is not None:
                    return dates.make_date(dates.full_year(year), month, day), True
                return dates.next_on_or_after(month, day, self.today), True
        # A month alone is the monthly expiry, but only beside a contract ("may" is usually the verb, "MAR" a ticker)
        if option_context and tok.low != "may" and not (tok.text.isupper() and len(tok.text) <= 3):
            year = self._year_at(i + 1)
            return dates.monthly(month, self.today, year), True
        return None, False

    def read_day_month(self, i: int) -> tuple[date | None, bool]:
        day = int(self.t[i].value or 0)
        month = dates.MONTHS[self.low(i + 1)]
        self.t[i + 1].used = True
        year = self._year_at(i + 2)
        if year is not None:
            return dates.make_date(dates.full_year(year), month, day), True
        return dates.next_on_or_after(month, day, self.today), True

    # -- labels --------------------------------------------------------------------------------------------------

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
                level: dict[str, Any] = {"pct": _num(tok.value or 0)}
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
                    level["trail_pct"] = _num(trail.value or 0)
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
            signed = prev in _SIGNS and tok.glued
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

    # -- ticker and price ----------------------------------------------------------------------------------------

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
        if letters in NOT_TICKERS or letters in dates.MONTHS:
            # an English word in capitals right before a contract is a ticker: "BTO ON 50c", "ALL 150c 1/16"
            return (
                positional
                and tok.text.isupper()
                and letters not in _JARGON
                and letters not in dates.MONTHS
                and self.contract_at(i + 1)
            )
        if positional:
            return True
        return tok.text.isupper() and len(letters) >= 2

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
                if t[j].kind == "word" and not t[j].used and t[j].text.isupper() and self.contract_at(j + 1):
                    break  # "BTO 2 ALL 150c": capitals before a contract are the ticker, not filler
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
        f.future = tok.slash or tok.low in FUTURES and not tok.dollar

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
            if prev is not None and prev.low in _SIGNS and tok.glued and not (i >= 2 and t[i - 2].kind == "num"):
                tok.used = True
                f.gain = f.gain or prev.low == "+"
                continue
            if f.price is None and f.price_range is None:
                self.take_price(i)
            else:
                left += 1
        f.numbers_left = left
