"""Rules of parser v2 for what is traded: signed spread legs ("+1 415 C"), strike pairs ("600/610c") and strikes."""

from __future__ import annotations

from autosig.parsing.v2._scan import SIGNS, Scan
from autosig.parsing.v2._vocab import BUY_SIDE, RIGHTS, SELL_SIDE

_PAIR_WORDS = {"bull", "bear", "bullish", "bearish", "debit", "credit", "vertical"}
_BEFORE_LEG = {"the", "a", "x", "of"}  # skipped between a leg's side word and its strike


class ContractRules(Scan):
    """Legs, strike pairs and strikes."""

    def scan_signed_legs(self) -> None:
        t = self.t
        for i in self.syms:
            tok = t[i]
            if tok.low not in SIGNS or tok.used:
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

    def side_before(self, i: int) -> tuple[str, str | None] | None:
        """The side word written in front of the strike at token i ("sell SPY 590P", "BTO 1 IWM 205p"), looking
        back over a ticker, a quantity and a few filler words; and the ticker passed over, if any."""
        t = self.t
        ticker = None
        for k in range(i - 1, max(-1, i - 5), -1):
            tok = t[k]
            if tok.kind == "word" and not tok.dollar and not tok.slash and tok.low in SELL_SIDE:
                return "sell", ticker
            if tok.kind == "word" and not tok.dollar and not tok.slash and tok.low in BUY_SIDE:
                return "buy", ticker
            ticker_like = tok.kind == "word" and (tok.dollar or tok.text.isupper()) and not tok.used
            if ticker_like:
                ticker = tok.low
            elif not (tok.kind == "num" and tok.is_int and not tok.used or tok.low in _BEFORE_LEG):
                return None
        return None

    def scan_worded_legs(self) -> None:
        """ "sell SPY 590P, buy 585P", "STO IWM 210p / BTO IWM 205p": a spread whose every leg has its own side word.
        Only when there are two legs or more and both sides appear (one side word for several strikes says nothing
        of the others)."""
        f, t = self.f, self.t
        if f.signed_legs or f.sides != 3:
            return
        legs = []
        tickers = set()
        for i in self.nums:
            if not t[i].used and self.is_right(i + 1):
                found = self.side_before(i)
                if found is None:
                    return
                legs.append((i, found[0]))
                if found[1] is not None:
                    tickers.add(found[1])
        if len(legs) < 2 or len({side for _, side in legs}) < 2 or len(tickers) > 1:
            return  # ("sold SPY 600c, bought QQQ 510c" is two trades, not a spread)
        for i, side in legs:
            f.signed_legs.append({"side": side, "ratio": 1, "right": RIGHTS[t[i + 1].low], "strike": t[i].value})
            t[i].used = t[i + 1].used = True
        f.worded_legs = True
        f.leg_closing = any(t[k].low in ("stc", "btc") for k in self.words)

    def scan_strike_pairs(self) -> None:
        """ "6000/6010 call", "50/55p": a vertical spread's two strikes; the sides come from debit/credit or
        bull/bear, judged later."""
        if not self.dates and "/" not in self.sym_set:
            return
        t = self.t
        for i in sorted(self.nums + self.dates):
            tok = t[i]
            if tok.used:
                continue
            if tok.kind == "num" and t[i + 1].low == "/" and t[i + 1].glued and t[i + 2].kind == "num":
                if self.strike_chain(i):
                    self.f.strategy = True  # "600/605/610c", "5800/5810/6100/6110": a butterfly, a condor
                    continue
                right_at = i + 3
                while t[right_at].low in _PAIR_WORDS and right_at < i + 5:
                    right_at += 1  # "600/605 bear put spread"
                if not (t[i + 2].glued and self.is_right(right_at)):
                    continue
                lo, hi = tok.value or 0.0, t[i + 2].value or 0.0
            elif tok.kind == "date" and tok.text.count("/") == 1 and self.is_right(i + 1):
                a, b = tok.text.split("/")
                lo, hi, right_at = float(a), float(b), i + 1
            else:
                continue
            if self.f.strike_pair is None and lo != hi:
                self.f.strike_pair = (min(lo, hi), max(lo, hi), RIGHTS[t[right_at].low])
            for k in range(i, right_at + 1):
                t[k].used = True

    def strike_chain(self, i: int) -> bool:
        """Token i starts whole numbers joined by slashes: three ending in a right, or four or more."""
        t = self.t
        count, k = 1, i
        while count < 4 and t[k + 1].low == "/" and t[k + 2].kind == "num" and t[k + 2].is_int and t[k].is_int:
            count += 1  # (four are enough to decide: the walk stays short, whatever the message)
            k += 2
        return count >= 4 or count == 3 and self.is_right(k + 1)

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
