"""Rules of parser v2 for expiries: "1/17", "1-17" beside a strike, "Jan 17 2025", "15 mar 24", "March", "0dte",
"weekly", "next week"."""

from __future__ import annotations

from datetime import date

from autosig.parsing import _dates as dates
from autosig.parsing.v2._scan import Scan
from autosig.parsing.v2._vocab import (
    QTY_UNITS,
    SIZE_NOUNS,
    TOMORROW,
    WEEKLY,
)

_EXPIRY_WORDS = {"exp", "expiry", "expiration", "exps", "expires", "expiring"}


class ExpiryRules(Scan):
    """The first expiry written, resolved against the alert's day."""

    def scan_expiries(self) -> None:
        f, t = self.f, self.t
        option_context = bool(f.strikes or f.signed_legs or f.right_only or f.strike_pair)
        for i in self.not_syms:
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
            elif tok.kind == "date" and self.trailing_fraction(i):
                continue
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
                if self.low(i - 1) == "next":
                    # "next Friday" on a Wednesday: this week's for some, the week after's for others
                    found, seen = dates.next_friday(self.today), True
                    f.expiry_guess = True
                else:
                    found, seen = dates.this_friday(self.today), True
            elif tok.kind == "word" and tok.low in TOMORROW and option_context and (
                self.low(i - 1) in _EXPIRY_WORDS or self.is_right(i - 1)
            ):
                found, seen = dates.trading_days_after(self.today, 1), True  # "600c tmrw", "exp tomorrow"
            if seen:
                tok.used = True
                if not f.expiry_seen:
                    f.expiry_seen = True
                    f.expiry = dates.iso(found)
        if f.zero_dte and "0dte" not in f.tags:
            f.tags.append("0dte")

    def trailing_fraction(self, i: int) -> bool:
        """ "SOLD | SPY JAN 16 600c $2.10 1/2": in an exit, a small fraction after the expiry (or after a price when
        no expiry came before) is the part of the position sold. Claims it when it is."""
        f, t = self.f, self.t
        tok = t[i]
        if f.action is None or f.action.action not in ("close", "trim") or f.fraction is not None:
            return False
        if tok.text.count("/") != 1:
            return False
        a, b = (int(x) for x in tok.text.split("/"))
        if not 0 < a < b <= 4:
            return False
        contract = f.strikes or f.strike_pair or f.signed_legs or f.right_only
        if not f.expiry_seen and contract:
            prev = t[i - 1]
            if not (prev.kind == "num" and (prev.dollar or "." in prev.text) and i > 0):
                return False  # "STC 2 QQQ 297c 3/8 @ .7": before the price, an expiry
            f.fraction_guess = True  # …and after a price it could still be January 2
        # (an exit that names no contract has no use for an expiry: "trim TSLA 1/2 @ 3.90", "sold another 1/3")
        f.fraction = a / b
        tok.used = True
        return True

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
