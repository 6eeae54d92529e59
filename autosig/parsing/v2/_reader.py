"""Reads the trade facts out of one segment's tokens (parser v2).

Rules run in a fixed order and each claims the tokens it reads (Token.used), so a number is read once: spread
legs, then strikes, expiries, sizes and fractions, labelled stops/targets/prices, quantities, the ticker, and
last the bare price. Every rule is a single left-to-right scan, so a segment of n tokens costs O(n * rules).
"""

from __future__ import annotations

from autosig.parsing.v2._actions import ActionRules
from autosig.parsing.v2._contracts import ContractRules
from autosig.parsing.v2._expiries import ExpiryRules
from autosig.parsing.v2._features import Action, Features
from autosig.parsing.v2._levels import LevelRules
from autosig.parsing.v2._sizes import SizeRules
from autosig.parsing.v2._ticker import TickerRules

__all__ = ["Action", "Features", "Reader"]


class Reader(ActionRules, ContractRules, SizeRules, ExpiryRules, LevelRules, TickerRules):
    """Extracts Features from one segment: `Reader(tokens, today).read()`."""

    def read(self) -> Features:
        self.scan_words()
        self.scan_action()
        self.scan_round_trip()
        self.scan_signed_legs()
        self.scan_worded_legs()
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
