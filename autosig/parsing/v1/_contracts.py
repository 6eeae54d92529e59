"""Rules of parser v1 for what is traded: signed spread legs ("+1 415 C"), strike pairs ("600/610c") and strikes."""

from __future__ import annotations

from autosig.parsing.v1._scan import SIGNS, Scan
from autosig.parsing.v1._vocab import (
    RIGHTS,
)


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
