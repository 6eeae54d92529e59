"""OCC option symbols (the OSI format every US broker API takes): root, expiry as YYMMDD, C or P, and the strike in
thousandths of a dollar as 8 digits. SPY's $600 call expiring 2026-12-18 is SPY261218C00600000.

The strike is computed in Decimal: in binary floats 2.01 * 1000 is 2009.9999999999998, and truncating it would name
the $2.009 strike, another contract. A strike that is not a whole number of thousandths, or does not fit 8 digits,
has no symbol and is refused.

Roots (as Alpaca and Tradier write them):
- Class shares drop the punctuation: Berkshire's class B shares trade as BRK.B (BRK/B in some feeds) and their
  options are BRKB... (BRKB260918C00480000). option_root() does this.
- Index options list several roots for one underlying: SPX's monthly, AM-settled options are SPX; its weeklies and
  PM-settled options are SPXW (likewise RUT/RUTW, NDX/NDXP). Which one an expiry uses is the exchange's listing,
  not a rule of the ticker, so a root other than the ticker comes from the broker's contract lookup (Tradier lists
  every root with `includeAllRoots`); occ_symbol() takes the root it is given.
- After a corporate action the adjusted contracts get a digit (AAPL1); parse_occ() reads them, option_root() never
  makes one.
The full OSI form pads the root with spaces to six characters ("SPY   261218C00600000"); brokers' APIs write it
unpadded, as occ_symbol() does, and parse_occ() reads both.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from autosig.trading._fields import decimal
from autosig.trading.contracts import Leg

_ROOT = re.compile(r"[A-Z0-9]{1,6}")
_SYMBOL = re.compile(r"([A-Z0-9]{1,6}) *(\d{2})(\d{2})(\d{2})([CP])(\d{8})")
_MAX_THOUSANDTHS = 99_999_999  # 8 digits: the highest strike is $99,999.999


class OccSymbol(NamedTuple):
    root: str
    expiry: date
    right: str  # "C" | "P"
    strike: Decimal

    def leg(self, ratio: float = 1.0) -> Leg:
        """The leg it is, as a signal would name it (so a broker's position finds the contract AutoSig opened)."""
        return Leg(self.right, float(self.strike), self.expiry.isoformat(), ratio)


def option_root(ticker: str) -> str:
    """The OCC root of a ticker's standard options: upper case, without the punctuation of class shares
    (BRK.B and BRK/B -> BRKB). Raises ValueError for what cannot be a root."""
    root = re.sub(r"[./ ]", "", ticker.strip().upper())
    if not _ROOT.fullmatch(root):
        raise ValueError(f"{ticker!r} has no OCC root: a root is 1 to 6 letters or digits")
    return root


def occ_symbol(root: str, expiry: date | str, right: str, strike: Decimal | float | int | str) -> str:
    """The OCC symbol of one option. Raises ValueError naming the part that cannot be written."""
    if not _ROOT.fullmatch(root):
        raise ValueError(f"root {root!r} is not 1 to 6 upper-case letters or digits")
    if isinstance(expiry, str):
        try:
            expiry = date.fromisoformat(expiry)
        except ValueError:
            raise ValueError(f"expiry {expiry!r} is not a date") from None
    if not 2000 <= expiry.year <= 2099:
        raise ValueError(f"expiry {expiry} is outside 2000-2099 (the symbol carries two digits of the year)")
    if right not in ("C", "P"):
        raise ValueError(f"right {right!r} is not C or P")
    thousandths = _thousandths(strike)
    return f"{root}{expiry:%y%m%d}{right}{thousandths:08d}"


def _thousandths(strike: Decimal | float | int | str) -> int:
    try:
        value = decimal(strike) * 1000
    except (InvalidOperation, TypeError, ValueError):  # not a number, a signalling NaN
        raise ValueError(f"strike {strike!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"strike {strike!r} is not a finite number")
    if value != value.to_integral_value():
        raise ValueError(f"strike {strike} is not a whole number of thousandths")
    if not 0 < value <= _MAX_THOUSANDTHS:
        raise ValueError(f"strike {strike} is outside 0.001-99999.999 (8 digits of thousandths)")
    return int(value)


def parse_occ(symbol: str) -> OccSymbol:
    """The parts of an OCC symbol (the inverse of occ_symbol). Raises ValueError for anything else."""
    match = _SYMBOL.fullmatch(symbol)
    if match is None:
        raise ValueError(f"{symbol!r} is not an OCC option symbol (ROOT YYMMDD C|P 8 digits)")
    root, yy, mm, dd, right, digits = match.groups()
    try:
        expiry = date(2000 + int(yy), int(mm), int(dd))
    except ValueError:
        raise ValueError(f"{symbol!r}: {yy}{mm}{dd} is not a date") from None
    if int(digits) == 0:
        raise ValueError(f"{symbol!r}: a strike of 0")
    return OccSymbol(root, expiry, right, Decimal(int(digits)) / 1000)


__all__ = ["OccSymbol", "occ_symbol", "option_root", "parse_occ"]
