"""More cases for parser v2 (see cases_v2.py): quantities, words taken for tickers, the forms v1 did not read, shorts
of shares, strategies the signal model cannot hold, and formatting. Replies answer alerts of cases_v2.py
("u-parent"), which come first.

Dates: created_at is Wednesday 2026-01-14, 10:00 in New York, unless a case says otherwise.
"""

from __future__ import annotations

from typing import Any

from .cases import NON, UNP, WED, opt, sig, sigs
from .cases_v2 import spread

CASES_ORDERS: list[tuple[str, str, dict[str, Any], str, str | None]] = [
    # -- quantities ----------------------------------------------------------------------------------------------
    (
        "qty-nq-long-1",
        "/NQ long 1 @ 18050",
        sig(action="open", instrument="future", ticker="NQ", quantity=1, price=18050),
        WED,
        None,
    ),
    (
        "qty-long-3-es",
        "long 3 /ES @ 6010",
        sig(action="open", instrument="future", ticker="ES", quantity=3, price=6010),
        WED,
        None,
    ),
    (
        "qty-es-long-3-at",
        "ES long 3 @ 6010.25",
        sig(action="open", instrument="future", ticker="ES", quantity=3, price=6010.25),
        WED,
        None,
    ),
    (
        "qty-bought-200-at",
        "$CHSN bought 200 @ 2.57",
        sig(action="open", instrument="stock", ticker="CHSN", quantity=200, price=2.57),
        WED,
        None,
    ),
    (
        "qty-adding-2-more",
        "adding 2 more SPY 600c 1/16 @ 1.10",
        sig(action="add", ticker="SPY", legs=[opt("buy", "C", 600, "2026-01-16")], quantity=2, price=1.1),
        WED,
        None,
    ),
    (
        "qty-added-3-more-contracts",
        "Added 3 more contracts of NVDA 140c 1/16 @ 1.95",
        sig(action="add", ticker="NVDA", quantity=3, price=1.95),
        WED,
        None,
    ),
    (
        "qty-bougth",
        "Bougth 2 SPY 600c 1/16 @ 1.25",
        sig(action="open", ticker="SPY", legs=[opt("buy", "C", 600, "2026-01-16")], quantity=2, price=1.25),
        WED,
        None,
    ),
    (
        "qty-boguht",
        "boguht 5 AMD 160c 1/16 at 2.80",
        sig(action="open", ticker="AMD", legs=[opt("buy", "C", 160, "2026-01-16")], quantity=5, price=2.8),
        WED,
        None,
    ),
    (
        "qty-trimed",
        "Trimed 1 TSLA 250c 1/16 @ 3.40",
        sig(action="trim", ticker="TSLA", legs=[opt("sell", "C", 250, "2026-01-16")], quantity=1, price=3.4),
        WED,
        None,
    ),
    (
        "qty-exitted",
        "Exitted NVDA 140c 1/16 @ 3.05",
        sig(action="close", ticker="NVDA", legs=[opt("sell", "C", 140, "2026-01-16")], price=3.05),
        WED,
        None,
    ),
    (
        "qty-buy-shares-of",
        "buy 10 shares of AAPL at 230.50",
        sig(action="open", instrument="stock", ticker="AAPL", quantity=10, price=230.5),
        WED,
        None,
    ),
    (
        "qty-long-100",
        "Long 100 PLTR @ 71.20",
        sig(action="open", instrument="stock", ticker="PLTR", quantity=100, price=71.2),
        WED,
        None,
    ),
    (
        "qty-cons-after",
        "BTO SPY 600c 1/16 @ 1.25 - 4 cons",
        sig(action="open", ticker="SPY", quantity=4, price=1.25),
        WED,
        None,
    ),
    # -- words taken for tickers ---------------------------------------------------------------------------------
    (
        "w-will-add-lower",
        "BTO SPY 600c 1/16 @ 1.25\n(starter, will add lower)",
        sig(action="open", ticker="SPY", legs=[opt("buy", "C", 600, "2026-01-16")], price=1.25),
        WED,
        None,
    ),
    (
        "w-add-lower-line",
        "BTO NVDA 140c 1/16 @ 2.10\nstarter, will add lower",
        sig(action="open", ticker="NVDA", price=2.1),
        WED,
        None,
    ),
    (
        "w-adding-lower-same-line",
        "Bought AMD 160c 1/16 @ 2.80 starter, adding lower",
        sig(action="open", ticker="AMD", price=2.8),
        WED,
        None,
    ),
    (
        "w-f",
        "BTO 1 F 12C 1/16 @ 0.10",
        sig(action="open", ticker="F", legs=[opt("buy", "C", 12, "2026-01-16")], quantity=1, price=0.1),
        WED,
        None,
    ),
    ("w-now-dollar", "BTO $NOW 900c 1/16 @ 12.5", sig(action="open", ticker="NOW", price=12.5), WED, None),
    ("w-on", "BTO ON 50c 1/16 @ 1.10", sig(action="open", ticker="ON", price=1.1), WED, None),
    ("w-low-dollar", "$LOW 250c 1/16 @ 3.20", sig(action="open", ticker="LOW", price=3.2), WED, None),
    ("w-all", "BTO ALL 210c 1/16 @ 2.10", sig(action="open", ticker="ALL", price=2.1), WED, None),
    ("w-out-now-alone", "out now, thanks all", NON, WED, None),
    ("w-adding-more-here", "adding more here", NON, WED, None),
    ("w-bought-more-lower", "Bought more lower at 1.05", UNP, WED, None),
    (
        "w-trimming-more-reply",
        "trimming more here 4.80",
        sig(action="trim", ticker="NVDA", price=4.8, refers_to="u-parent"),
        WED,
        "u-parent",
    ),
    ("w-all-out-reply", "all out 5.10", sig(action="close", ticker="NVDA", price=5.1), WED, "u-parent"),
    # -- also read: flat is a close, a hold into tomorrow is an open, worded spread legs, 🎯 targets ---------------
    ("a-flat-nq", "flat /NQ @ 18100", sig(action="close", instrument="future", ticker="NQ", price=18100), WED, None),
    ("a-went-flat-es", "Went flat ES 6012", sig(action="close", instrument="future", ticker="ES"), WED, None),
    (
        "a-flat-mes",
        "flat MES 6020.50",
        sig(action="close", instrument="future", ticker="MES", price=6020.5),
        WED,
        None,
    ),  # fmt: skip
    ("a-futures-flat", "Futures flat this morning", NON, WED, None),
    ("a-spy-flat", "SPY flat at 598 so far", NON, WED, None),
    (
        "a-1dte-holding",
        "1dte SPY 600c 1.20 holding into tmrw",
        sig(action="open", ticker="SPY", legs=[opt("buy", "C", 600, "2026-01-15")], price=1.2),
        WED,
        None,
    ),
    (
        "a-holding-till-tomorrow",
        "QQQ 510c 1/16 .85 holding till tomorrow",
        sig(action="open", ticker="QQQ", legs=[opt("buy", "C", 510, "2026-01-16")], price=0.85),
        WED,
        None,
    ),
    (
        "a-credit-spread-words",
        "sell SPY 590P, buy 585P 1/16 — .95 credit, 2 contracts",
        spread(
            opt("sell", "P", 590, "2026-01-16"),
            opt("buy", "P", 585, "2026-01-16"),
            ticker="SPY",
            price=0.95,
            quantity=2,
            limit_kind="credit",
        ),
        WED,
        None,
    ),  # fmt: skip
    (
        "a-credit-spread-sto-bto",
        "STO IWM 210p / BTO IWM 205p 1/16 for 1.10 credit",
        spread(
            opt("sell", "P", 210, "2026-01-16"),
            opt("buy", "P", 205, "2026-01-16"),
            ticker="IWM",
            price=1.1,
            limit_kind="credit",
        ),
        WED,
        None,
    ),  # fmt: skip
    (
        "a-debit-spread-words",
        "buy QQQ 500c, sell 510c 1/16 for 3.20 debit",
        spread(
            opt("buy", "C", 500, "2026-01-16"),
            opt("sell", "C", 510, "2026-01-16"),
            ticker="QQQ",
            price=3.2,
            limit_kind="debit",
        ),
        WED,
        None,
    ),  # fmt: skip
    (
        "a-targets-emoji",
        "BTO SPY 600c 1/16 @ 1.25 🎯 1.60/2.00",
        sig(action="open", ticker="SPY", price=1.25, targets=[{"price": 1.6}, {"price": 2.0}]),
        WED,
        None,
    ),
    (
        "a-targets-stop-emoji-lines",
        "$NVDA 140c 1/16 @ 2.10\n🎯 2.60/3.20\n🛑 1.70",
        sig(action="open", ticker="NVDA", price=2.1, targets=[{"price": 2.6}, {"price": 3.2}], stop={"price": 1.7}),
        WED,
        None,
    ),
    (
        "a-tp-slash-sl",
        "BTO AMD 160c 1/16 @ 2.80 TP 3.50/4.20 SL 2.20",
        sig(action="open", ticker="AMD", price=2.8, targets=[{"price": 3.5}, {"price": 4.2}], stop={"price": 2.2}),
        WED,
        None,
    ),
    # -- shorts of shares and futures: the signal model has no side for them, so they read like buys (or sales of a
    # long) and stay below the gate (test_v2.py checks the confidence)
    ("s-short-stock", "short 100 TSLA @ 250.10", sig(action="open", instrument="stock", ticker="TSLA"), WED, None),
    ("s-sto-stock", "STO 100 TSLA @ 250", sig(action="open", instrument="stock", ticker="TSLA"), WED, None),
    ("s-btc-stock", "BTC 100 TSLA @ 245", sig(action="close", instrument="stock", ticker="TSLA"), WED, None),
    ("s-short-future", "short 1 /ES @ 6000", sig(action="open", instrument="future", ticker="ES"), WED, None),
    ("s-covered-short", "covered TSLA short @ 245.50", sig(action="close", ticker="TSLA"), WED, None),
    # -- more than the model holds, and formatting -----------------------------------------------------------------
    ("o-iron-condor", "Sell SPX IC 5800/5810/6100/6110 1/16 @ 2.00", UNP, WED, None),
    ("o-roll", "Rolling SPY 600c 1/16 to 605c 1/23 for .40 debit", UNP, WED, None),
    (
        "o-markdown",
        "**BTO** __SPY__ 600c 1/16 @ 1.25",
        sig(action="open", ticker="SPY", legs=[opt("buy", "C", 600, "2026-01-16")], price=1.25),
        WED,
        None,
    ),
    (
        "o-emoji",
        "🚨🚨 $TSLA 250C 1/16 @ 3.10 🚀🚀",
        sig(action="open", ticker="TSLA", legs=[opt("buy", "C", 250, "2026-01-16")], price=3.1),
        WED,
        None,
    ),
    (
        "o-key-value-lines",
        "Ticker: AAPL\nType: Call\nStrike: 200\nExpiry: 1/16\nEntry: 1.25",
        sig(action="open", ticker="AAPL", legs=[opt("buy", "C", 200, "2026-01-16")], price=1.25),
        WED,
        None,
    ),
    (
        "o-avg-down-new-avg",
        "avg down SPY 600c 1/16 @ 0.80, new avg 1.05",
        sig(action="add", ticker="SPY", legs=[opt("buy", "C", 600, "2026-01-16")], price=0.8),
        WED,
        None,
    ),
    (
        "o-sold-third",
        "sold 1/3 NVDA 140c @ 2.90",
        sig(action="trim", ticker="NVDA", price=2.9, fraction=1 / 3),
        WED,
        None,
    ),  # fmt: skip
    (
        "o-two-tickers-one-line",
        "Out NVDA 140c 3.10, AMD 160c 2.90",
        sigs(dict(action="close", ticker="NVDA", price=3.1), dict(action="close", ticker="AMD", price=2.9)),
        WED,
        None,
    ),
]
