"""Which position a signal acts on: matching an exit (close, trim) or an add to the open positions, never guessed.

Analysts write "trim SPY calls", "all out @ 2" as a reply, or "STC 1 SPY 600c" without the expiry. The rules, in
order, each one only when the earlier ones found nothing:
1. The contract named in full (ticker and every field of every leg) when it is open.
2. When the signal names no legs and replies to an alert: that alert's contract (of the ticker the signal names, if
   it names one). Found even when no longer open: a reply to a closed position closes nothing else.
   Several contracts there are ambiguous.
3. For a close, trim or add: the one open position the partial description fits (the ticker, and the legs it names
   with the fields it names, in any order; naming no legs, a position of the kind it names is preferred, so
   "STC 100 AAPL" is the shares while AAPL calls are open too). Several are ambiguous, none is none.
An open goes through 1 and 2 only: it names what it opens and never fits a partial description to a position.

The same function decides for the paper ledger (over the analyst's positions) and for the executor (over AutoSig's
own), so the two never disagree about what an alert refers to.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import permutations
from typing import Literal

from autosig.trading.contracts import Contract, Leg

Outcome = Literal["found", "none", "ambiguous"]


@dataclass(frozen=True, slots=True)
class Match:
    outcome: Outcome
    contract: Contract | None = None  # when found
    candidates: tuple[Contract, ...] = ()  # when ambiguous: what fits, in the order the positions were given
    reason: str | None = None  # when none or ambiguous: why, in words ("trim fits several open positions")
    by: Literal["named", "reply", "fit"] | None = None  # which rule decided


def match_position(
    action: str, named: Contract, open_positions: Iterable[Contract], replied: Sequence[Contract] = ()
) -> Match:
    """The position an `action` ("open", "add", "trim", "close") on the contract a signal `named` (see
    read_contract) acts on, among `open_positions`; `replied` is the contracts of the alert the signal replies to,
    when it replies to one that is known."""
    # (a dict of positions by contract serves as it is: membership and iteration are by key)
    positions = open_positions if isinstance(open_positions, Collection) else list(open_positions)
    if named.ticker is not None and all(leg.complete for leg in named.legs) and named in positions:
        return Match("found", named, by="named")
    if not named.legs and replied:
        # (an alert that names one contract twice names one)
        mine = list(dict.fromkeys(c for c in replied if named.ticker is None or c.ticker == named.ticker))
        if len(mine) > 1:
            return Match("ambiguous", candidates=tuple(mine), by="reply",
                         reason="replies to an alert with several contracts and names none")  # fmt: skip
        if mine:
            return Match("found", mine[0], by="reply")
    if action != "open":
        fitting = fits(named, positions)
        if len(fitting) > 1:
            return Match("ambiguous", candidates=tuple(fitting), by="fit",
                         reason=f"{action} fits several open positions")  # fmt: skip
        if fitting:
            return Match("found", fitting[0], by="fit")
    if named.ticker is None and (action == "open" or not named.legs):
        why = "names no ticker" if named.legs else "names no contract"
    else:
        why = "without an open position"
    return Match("none", reason=f"{action} {why}")


def fits(named: Contract, positions: Iterable[Contract]) -> list[Contract]:
    """The positions a partial description fits, in their given order ("STC SPY 600c" without an expiry, "all out
    AAPL"). A description with neither a ticker nor legs fits nothing."""
    ticker, kind, pattern = named
    if ticker is None and not pattern:
        return []
    fitting = [c for c in positions if (ticker is None or c.ticker == ticker) and _fits_legs(pattern, c.legs)]
    if not pattern:
        fitting = [c for c in fitting if c.kind == kind] or fitting
    return fitting


def _fits_legs(pattern: tuple[Leg, ...], legs: tuple[Leg, ...]) -> bool:
    if not pattern:
        return True
    if len(pattern) != len(legs):
        return False
    return any(all(_fits(p, leg) for p, leg in zip(pattern, order, strict=True)) for order in permutations(legs))


def _fits(pattern: Leg, leg: Leg) -> bool:
    return all(want is None or want == have for want, have in zip(pattern, leg, strict=True))


__all__ = ["Match", "fits", "match_position"]
