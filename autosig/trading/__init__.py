"""The trading rules, shared by the paper ledger and the executor so the two never disagree: what a contract is,
which position an exit or add refers to, how much to buy or sell, at what limit. Pure functions and small values:
no I/O, no clock, no events; it imports only the standard library.

An exit as the executor decides it, over AutoSig's own positions (`held`: contract -> units available):

    match = match_position(signal["action"], read_contract(signal), held, replied=contracts_of_replied_alert)
    if match.outcome != "found" or match.contract not in held: skip (no_position / ambiguous, match.reason)
    quantity = exit_quantity(signal["action"], held[match.contract], fraction=signal["fraction"], ...)
    symbols = [occ_symbol(root, leg.expiry, leg.right, leg.strike) for leg in match.contract.legs]

Contracts (contracts):
    read_contract(signal) -> Contract        what a signal names, None where it leaves a field out (for matching)
    contract_of(signal) -> Contract | Refusal   a complete contract for an order, or why not ("the option has no
                                             expiry"): a missing right, strike or expiry is never assumed
    Contract(ticker, kind, legs)             kind "stock" | "option" | "future" (a spread is an option with several
                                             legs); .instrument, .multiplier (option x100, stock x1), .expiry, .label
    Leg(right, strike, expiry, ratio)        without a side: the side belongs to the order
    label(ticker, kind, legs, sides)         "SPX -5900P 2027-01-17 / +5890P 2027-01-17"
    signal_legs(signal)                      a signal's legs as written, sides included
OCC symbols (occ):
    occ_symbol(root, expiry, right, strike) -> "SPY261218C00600000"   exact in Decimal; refuses what has no symbol
    parse_occ(symbol) -> OccSymbol(root, expiry, right, strike)       its inverse; .leg() the Leg it is
    option_root(ticker)                      BRK.B -> BRKB (index weekly roots such as SPXW come from the broker)
Matching (matching):
    match_position(action, named, open_positions, replied) -> Match  found (one contract) / none / ambiguous
                                             (candidates): the contract named in full, else the replied-to alert's,
                                             else the one open position the description fits; never guessed
Positions (positions):
    opening_direction(signal) -> (+1 | -1, assumed)
    average_cost(...), realized_pnl(...)     the average-cost formulas (the paper ledger's floats)
    Position(contract, direction)            whole units in Decimal: .bought(n, price), .sold(n, price)
Sizing (sizing):
    paper_entry_quantity(quantity), paper_exit_quantity(action, held, fraction, quantity, size_assumed)
                                             the paper ledger's quantities (floats; within DUST of all is all)
    exit_quantity(action, available, fraction=, alert_quantity=, analyst_open=) -> int   close all; trim a
                                             fraction, else in proportion, else half; at least 1, at most available
    parse_size_rule("usd:500") -> SizeRule; entry_quantity(rule, price=, multiplier=, max_trade_usd=,
                                             max_contracts=, ...) -> int
    order_pieces(quantity, most)             an exit split into orders of at most `most`
Prices (prices):
    paper_price(signal)                      the price, else the middle of the range
    alert_range(signal) -> (bottom, top); entry_limit(...), exit_limit(...)   limits in Decimal, buys rounded down
                                             and sells up to the tick (tick_size, round_to_tick)
"""

from autosig.trading.contracts import (
    MULTIPLIERS,
    Contract,
    Leg,
    Refusal,
    contract_of,
    label,
    read_contract,
    signal_legs,
)
from autosig.trading.matching import Match, match_position
from autosig.trading.occ import OccSymbol, occ_symbol, option_root, parse_occ
from autosig.trading.positions import Position, average_cost, opening_direction, realized_pnl
from autosig.trading.prices import alert_range, entry_limit, exit_limit, paper_price, round_to_tick, tick_size
from autosig.trading.sizing import (
    DUST,
    SizeRule,
    entry_quantity,
    exit_quantity,
    order_pieces,
    paper_entry_quantity,
    paper_exit_quantity,
    parse_size_rule,
)

__all__ = [
    "DUST", "MULTIPLIERS", "Contract", "Leg", "Match", "OccSymbol", "Position", "Refusal", "SizeRule", "alert_range",
    "average_cost", "contract_of", "entry_limit", "entry_quantity", "exit_limit", "exit_quantity", "label",
    "match_position", "occ_symbol", "opening_direction", "option_root", "order_pieces", "paper_entry_quantity",
    "paper_exit_quantity", "paper_price", "parse_occ", "parse_size_rule", "read_contract", "realized_pnl",
    "round_to_tick", "signal_legs", "tick_size",
]  # fmt: skip
