"""Reading OCC option symbols (SPY261218C00600000: root, YYMMDD, C/P, strike × 1000 in 8 digits)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

_OCC = re.compile(r"^([A-Z0-9.]{1,6})(\d{2})(\d{2})(\d{2})([CP])(\d{8})$")
# Index options whose weeklies (and 0DTE) trade under another root than the index's own.
WEEKLY_ROOTS = {"SPXW": "SPX", "NDXP": "NDX", "RUTW": "RUT", "VIXW": "VIX", "DJXW": "DJX", "XSPW": "XSP"}


@dataclass(frozen=True)
class OccSymbol:
    root: str
    expiration: date
    right: str  # "call" | "put"
    strike: Decimal

    @property
    def underlying(self) -> str:
        return WEEKLY_ROOTS.get(self.root, self.root)


def parse_occ(symbol: str) -> OccSymbol | None:
    """The parts of a well-formed OCC symbol (no padding spaces), or None for anything else (a stock ticker)."""
    match = _OCC.match(symbol or "")
    if not match:
        return None
    root, yy, mm, dd, cp, strike = match.groups()
    try:
        expiry = date(2000 + int(yy), int(mm), int(dd))
    except ValueError:
        return None
    return OccSymbol(root, expiry, "call" if cp == "C" else "put", Decimal(int(strike)) / 1000)


def occ_symbol(root: str, expiration: date, right: str, strike: Decimal) -> str:
    thousandths = strike * 1000
    if thousandths != thousandths.to_integral_value() or not 0 < thousandths < 10**8:
        raise ValueError("strike has no OCC form")
    return f"{root}{expiration:%y%m%d}{'C' if right == 'call' else 'P'}{int(thousandths):08d}"
