"""Every family of cases_v2.py and cases_v2_orders.py again, in other wordings.

Dates: created_at is Wednesday 2026-01-14, 10:00 in New York, unless a case says otherwise.
"""

from __future__ import annotations

from typing import Any

from .cases import NON, WED, opt, sig, sigs

CASES_MORE: list[tuple[str, str, dict[str, Any], str, str | None]] = [
    # -- more of every family, in other wordings -------------------------------------------------------------------
    # warnings / quotes / examples
    (
        "q-more-1",
        "🚨 PSA 🚨 There's a fake 'AutoAlerts' discord reposting our BTO NVDA 140c 1/16 @ 2.10 alerts. Only trust this "
        "channel.",
        NON,
        WED,
        None,
    ),
    ("q-more-2", 'Someone in general chat said "BTO TSLA 300c 1/16 @ 1.00" lol that\'s not me', NON, WED, None),
    ("q-more-3", 'Reminder: we will never DM you. Anyone sending "STO SPY 580p @ 3.00" is a scammer', NON, WED, None),
    ("q-more-4", "e.g. BTO 1 AAPL 230c 1/16 @ 1.50 = buy one contract at 1.50", NON, WED, None),
    # missed / chase
    ("m-more-1", "If you missed the QQQ 520c at .80 earlier, don't chase it at 1.40", NON, WED, None),
    ("m-more-2", "Missed it? No worries, plenty more setups coming. SPY 600c ran from 1.10 to 2.40", NON, WED, None),
    ("m-more-4", "Don't chase AMD here, wait for 160 retest", NON, WED, None),
    # recaps
    ("r-more-1", "Recap: BTO SPY 600c @ 1.10 -> STC @ 2.20 (+100%)", NON, WED, None),
    ("r-more-2", "Yesterday's trades: sold NVDA 140c @ 3.10, sold AMD 160c @ 2.40", NON, WED, None),
    ("r-more-3", "Took profits on TSLA 250c last Friday at 4.00, been a great week", NON, WED, None),
    ("r-more-4", "Closed the META 650c @ 5.10 this morning for +40%", NON, WED, None),
    # partial exits
    ("t-more-1", "Selling some TSLA 250c here @ 3.80 🤑", sig(action="trim", ticker="TSLA", price=3.8), WED, None),
    (
        "t-more-2",
        "Scaling out 1/3 of NVDA 140c @ 2.95",
        sig(action="trim", ticker="NVDA", price=2.95, fraction=1 / 3),
        WED,
        None,
    ),
    (
        "t-more-3",
        "STC half SPY 600c 1/16 @ 2.05, runners still on",
        sig(action="trim", ticker="SPY", price=2.05, fraction=0.5),
        WED,
        None,
    ),
    (
        "t-more-4",
        "SOLD | QQQ JAN 16 510p $3.40 1/3",
        sig(action="trim", ticker="QQQ", legs=[opt("sell", "P", 510, "2026-01-16")], price=3.4, fraction=1 / 3),
        WED,
        None,
    ),
    (
        "t-more-5",
        "Took 2 off AMD 160c @ 3.00, holding 2",
        sig(action="trim", ticker="AMD", quantity=2, price=3.0),
        WED,
        None,
    ),
    (
        "t-more-6",
        "trimming 25% of META calls at 6.10",
        sig(action="trim", ticker="META", price=6.1, fraction=0.25),
        WED,
        None,
    ),
    ("t-more-7", "Out of the rest of SPY 600c @ 2.60", sig(action="close", ticker="SPY", price=2.6), WED, None),
    (
        "t-more-8",
        "all out of my NVDA lotto @ .45, nice",
        sig(action="close", ticker="NVDA", instrument="option", price=0.45),
        WED,
        None,
    ),
    (
        "t-more-9",
        "**Options Close**\nContract: TSLA 260C 1/16\nExit Price: 4.25",
        sig(action="close", ticker="TSLA", legs=[opt("sell", "C", 260, "2026-01-16")], price=4.25),
        WED,
        None,
    ),
    # updates
    (
        "u-more-1",
        "Moving SL to 2.40 on the QQQ 510c",
        sig(action="update", ticker="QQQ", stop={"price": 2.4}),
        WED,
        None,
    ),
    (
        "u-more-2",
        "Stop loss on AAPL raised to 228",
        sig(action="update", ticker="AAPL", stop={"price": 228}),
        WED,
        None,
    ),
    (
        "u-more-3",
        "New PT for NVDA 140c: 3.50",
        sig(action="update", ticker="NVDA", targets=[{"price": 3.5}]),
        WED,
        None,
    ),
    (
        "u-more-4",
        "TSLA 250c stop now at breakeven 3.10",
        sig(action="update", ticker="TSLA", stop={"price": 3.1}),
        WED,
        None,
    ),
    ("u-more-parent", "BTO 3 AMD 160c 1/16 @ 2.00", sig(action="open", ticker="AMD", quantity=3, price=2.0), WED, None),
    (
        "u-more-5",
        "move stop up to 2.30",
        sig(action="update", ticker="AMD", stop={"price": 2.3}, refers_to="u-more-parent"),
        WED,
        "u-more-parent",
    ),
    (
        "u-more-6",
        "PT2 hit ✅ sold another 1/3 @ 3.10",
        sig(action="trim", ticker="AMD", fraction=1 / 3, price=3.1),
        WED,
        "u-more-parent",
    ),
    ("u-more-7", "stopped out @ 1.60", sig(action="close", ticker="AMD", price=1.6), WED, "u-more-parent"),
    ("u-more-8", "SL 1.50 on this one", sig(action="update", ticker="AMD", stop={"price": 1.5}), WED, "u-more-parent"),
    # quantities
    (
        "qty-more-1",
        "Bought 50 shares of SOFI @ 14.20",
        sig(action="open", instrument="stock", ticker="SOFI", quantity=50, price=14.2),
        WED,
        None,
    ),
    (
        "qty-more-2",
        "MES long 2 @ 6025",
        sig(action="open", instrument="future", ticker="MES", quantity=2, price=6025),
        WED,
        None,
    ),
    (
        "qty-more-3",
        "Added 1 more QQQ 510c 1/16 at 1.80",
        sig(action="add", ticker="QQQ", quantity=1, price=1.8),
        WED,
        None,
    ),
    (
        "qty-more-4",
        "Boughtt 3 NVDA 145c 1/16 @ 1.05",
        sig(action="open", ticker="NVDA", quantity=3, price=1.05),
        WED,
        None,
    ),
    ("qty-more-5", "Slod 2 AMD 160c @ 3.20", sig(action="close", ticker="AMD", quantity=2, price=3.2), WED, None),
    ("qty-more-6", "in 5 SPY 600c 1/16 @ 1.15", sig(action="open", ticker="SPY", quantity=5, price=1.15), WED, None),
    # tickers that are words
    ("w-more-1", "BTO $ALL 200c 1/16 @ 3.00", sig(action="open", ticker="ALL", price=3.0), WED, None),
    (
        "w-more-2",
        "Bought NVDA 140c 1/16 @ 2.00, will add more if it dips",
        sig(action="open", ticker="NVDA", price=2.0),
        WED,
        None,
    ),
    (
        "w-more-3",
        "BTO SPY 600c 1/16 @ 1.25\nadding on any dip",
        sig(action="open", ticker="SPY", price=1.25),
        WED,
        None,
    ),
    ("w-more-4", "Long ON @ 52.30", sig(action="open", ticker="ON", price=52.3), WED, None),
    ("w-more-5", "sold all here", NON, WED, None),
    ("w-more-6", "BTO 2 T 25c 1/16 @ 0.40", sig(action="open", ticker="T", quantity=2, price=0.4), WED, None),
    # flat / hold / spreads / emoji
    ("a-more-1", "I'm flat NQ at 21050", sig(action="close", instrument="future", ticker="NQ", price=21050), WED, None),
    ("a-more-2", "Market is flat, nothing to do", NON, WED, None),
    (
        "a-more-3",
        "NVDA 145c 1/16 1.10 swing, holding over the weekend",
        sig(action="open", ticker="NVDA", price=1.1),
        WED,
        None,
    ),
    (
        "a-more-4",
        "Sold TSLA 240p / bought TSLA 235p 1/16 for 1.20 credit",
        sigs(
            dict(
                action="open",
                instrument="spread",
                legs=[opt("sell", "P", 240, "2026-01-16"), opt("buy", "P", 235, "2026-01-16")],
                limit_kind="credit",
                price=1.2,
            )
        ),
        WED,
        None,
    ),
    (
        "a-more-5",
        "$SPY 600c 1/16 @ 1.25\n🎯 1.80\n🛑 0.90",
        sig(action="open", ticker="SPY", price=1.25, targets=[{"price": 1.8}], stop={"price": 0.9}),
        WED,
        None,
    ),
    (
        "a-more-6",
        "✅ BTO AAPL 235c 1/16 @ 2.10 | 🎯 2.80 / 3.50 | 🛑 1.60",
        sig(action="open", ticker="AAPL", price=2.1, targets=[{"price": 2.8}, {"price": 3.5}], stop={"price": 1.6}),
        WED,
        None,
    ),
    (
        "a-more-7",
        "__**NEW ENTRY**__\n$AMZN 240C 1/16\nEntry: 3.40\nStop: 2.70",
        sig(action="open", ticker="AMZN", legs=[opt("buy", "C", 240, "2026-01-16")], price=3.4, stop={"price": 2.7}),
        WED,
        None,
    ),
    ("a-more-8", "> STC META 650c 1/16 @ 6.00 ✅", sig(action="close", ticker="META", price=6.0), WED, None),
    # shorts
    ("s-more-1", "Shorting TSLA here @ 255.40", sig(action="open", instrument="stock", ticker="TSLA"), WED, None),
    (
        "s-more-2",
        "BTC 1 TSLA 400p 1/16 @ 1.10",
        sig(action="close", ticker="TSLA", legs=[opt("buy", "P", 400, "2026-01-16")], price=1.1),
        WED,
        None,
    ),
    # general styles
    (
        "g-more-1",
        "BTO AAPL 1/16 230C @ 1.55",
        sig(action="open", ticker="AAPL", legs=[opt("buy", "C", 230, "2026-01-16")], price=1.55),
        WED,
        None,
    ),
    (
        "g-more-2",
        "Entry: $TSLA 1/16 $260 Call @ $2.35",
        sig(action="open", ticker="TSLA", legs=[opt("buy", "C", 260, "2026-01-16")], price=2.35),
        WED,
        None,
    ),
    (
        "g-more-3",
        "STC $TSLA 1/16 $260 Call @ $3.10 (+32%)",
        sig(action="close", ticker="TSLA", legs=[opt("sell", "C", 260, "2026-01-16")], price=3.1),
        WED,
        None,
    ),
    (
        "g-more-4",
        "SPX 0DTE 6000P @ 4.50",
        sig(action="open", ticker="SPX", legs=[opt("buy", "P", 6000, "2026-01-14")], price=4.5),
        WED,
        None,
    ),
    (
        "g-more-5",
        "Buying IWM 220 puts exp 1/16 for .65",
        sig(action="open", ticker="IWM", legs=[opt("buy", "P", 220, "2026-01-16")], price=0.65),
        WED,
        None,
    ),
    (
        "g-more-6",
        "GOOGL 200c next week @ 2.10 🚀",
        sig(action="open", ticker="GOOGL", legs=[opt("buy", "C", 200, "2026-01-23")], price=2.1),
        WED,
        None,
    ),
    ("g-more-7", "Closing my GOOGL calls @ 3.00", sig(action="close", ticker="GOOGL", price=3.0), WED, None),
    (
        "g-more-8",
        "Adding SPY 600c 1/16 here @ 0.95 to lower my avg",
        sig(action="add", ticker="SPY", price=0.95),
        WED,
        None,
    ),
    ("g-more-9", "Great morning team! 🔥 Up 3 for 3 today", NON, WED, None),
    ("g-more-10", "SPY looking weak under 598, careful", NON, WED, None),
    ("g-more-11", "What do you guys think about NVDA earnings?", NON, WED, None),
    (
        "g-more-12",
        "Lotto: SPY 605c 0dte @ .12",
        sig(action="open", ticker="SPY", legs=[opt("buy", "C", 605, "2026-01-14")], price=0.12, tags=["lotto"]),
        WED,
        None,
    ),
    (
        "g-more-13",
        "BTO NFLX 1000c 1/16 @ 8.50 SL 6.00 PT 12",
        sig(action="open", ticker="NFLX", price=8.5, stop={"price": 6.0}, targets=[{"price": 12}]),
        WED,
        None,
    ),
    (
        "g-more-14",
        "STO 2 AAPL 220p 1/16 @ 1.20 (cash secured)",
        sig(action="open", ticker="AAPL", legs=[opt("sell", "P", 220, "2026-01-16")], price=1.2, quantity=2),
        WED,
        None,
    ),
    ("g-more-15", "out AMD 3.40 🎉", sig(action="close", ticker="AMD", price=3.4), WED, None),
    ("g-more-16", "trim TSLA 1/2 @ 3.90", sig(action="trim", ticker="TSLA", fraction=0.5, price=3.9), WED, None),
    ("g-more-17", "All out SPY @ 2.40, great trade!", sig(action="close", ticker="SPY", price=2.4), WED, None),
    ("g-more-18", "avg'd down on AMD 160c @ 1.40", sig(action="add", ticker="AMD", price=1.4), WED, None),
]
