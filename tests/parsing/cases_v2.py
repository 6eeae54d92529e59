"""Cases for parser v2, one group per family of misreading that parser v1 makes, several wordings each, in the public
corpus format (see cases.py). v1 reads many of these wrongly — that is what v2 is for; the v1-vs-v2 comparison is
tests/parsing/scoring.py.

Dates: created_at is Wednesday 2026-01-14, 10:00 in New York, unless a case says otherwise.
"""

from __future__ import annotations

from typing import Any

from .cases import NON, WED, opt, sig


def spread(*legs: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return sig(action="open", instrument="spread", legs=list(legs), **fields)


_CASES: list[tuple[str, str, dict[str, Any], str, str | None]] = [
    # -- talk about a trade that is not an order: quoted in a warning, a missed entry, a recap of an earlier exit --
    ("q-psa-quoted", "PSA: someone posted 'BTO SPY 600c 1/16 @ 1.25' in chat — not ours", NON, WED, None),
    (
        "q-scam-dm",
        '⚠️ Scam alert: fake accounts are DMing "STO TSLA 400p 1/16 @ 5.10" pretending to be us. Ignore them.',
        NON,
        WED,
        None,
    ),
    ("q-not-from-us", 'That "BTO NVDA 140c 1/16 @ 2.10" going around is not from us', NON, WED, None),
    ("q-impersonators", "Beware of impersonators posting BTO AMD 160c 1/16 @ 2.80 in DMs", NON, WED, None),
    ("q-someone-asked", 'Someone asked if "STC QQQ 500p 1/16 @ 4.20" was our exit — it wasn\'t', NON, WED, None),
    (
        "q-curly-quotes",
        "Heads up — a bot copied “BTO 2 SPY 600c 1/16 @ 1.25” from another server, not our alert",
        NON,
        WED,
        None,
    ),
    (
        "q-fake-screenshot",
        "Fake screenshot going around showing BTO META 650c @ 4.20. We never sent that.",
        NON,
        WED,
        None,
    ),  # fmt: skip
    ("q-format-example", "Not an alert, just the format we use: BTO SPY 600c 1/16 @ 1.25", NON, WED, None),
    ("q-example", "Example: BTO 2 SPY 600c 1/16 @ 1.25 means buy 2 contracts", NON, WED, None),
    ("m-missed-dont-chase", "missed the NVDA 140c entry at 2.10, don't chase", NON, WED, None),
    ("m-if-missed", "If you missed SPY 600c 1/16 @ 1.25, don't chase it here", NON, WED, None),
    ("m-anyone-miss", "Anyone miss the AMD 160c entry @ 2.80? wait for a pullback", NON, WED, None),
    ("m-too-late", "Too late for TSLA 250c 1/16 now, don't chase above 3.00", NON, WED, None),
    ("m-missed-fill", "Missed my fill on QQQ 500p 1/16 @ 4.20, not in", NON, WED, None),
    ("m-no-chasing", "No chasing META 650c here at 5.40", NON, WED, None),
    ("m-missed-exit", "missed the exit on NVDA 140c at 3.00, still holding", NON, WED, None),
    (
        "m-real-entry-dont-chase",
        "BTO SPY 600c 1/16 @ 1.25 — don't chase above 1.40",
        sig(action="open", ticker="SPY", legs=[opt("buy", "C", 600, "2026-01-16")], price=1.25),
        WED,
        None,
    ),
    ("r-closed-yesterday", "closed my TSLA 250c yesterday @ 3.1 (recap)", NON, WED, None),
    ("r-sold-yesterday", "Yesterday we sold AAPL 200c 1/16 @ 2.50 for +80%", NON, WED, None),
    ("r-last-week", "Last week I exited QQQ 500p @ 4.20 for a nice win", NON, WED, None),
    ("r-recap-paren", "STC NVDA 140c 1/16 @ 2.80 (recap from this morning)", NON, WED, None),
    ("r-earlier-today", "Earlier today I took profits on SPY 600c at 2.10", NON, WED, None),
    ("r-stopped-yesterday", "FYI got stopped out of META 650c yesterday at 3.00", NON, WED, None),
    ("r-days-ago", "Sold the AMD 160c two days ago @ 3.10, in case you missed it", NON, WED, None),
    (
        "r-real-closed-my",
        "Closed my TSLA 250c 1/16 @ 3.1",
        sig(action="close", ticker="TSLA", legs=[opt("sell", "C", 250, "2026-01-16")], price=3.1),
        WED,
        None,
    ),
    (
        "r-real-win",
        "STC SPY 600c 1/16 @ 2.10 +68% nice win",
        sig(action="close", ticker="SPY", legs=[opt("sell", "C", 600, "2026-01-16")], price=2.1),
        WED,
        None,
    ),
    # -- partial exits: some, the rest rides, a trailing fraction, a heading that announces a trim ---------------
    (
        "t-out-some",
        "out some AAPL 200c here 2.50, letting the rest ride",
        sig(action="trim", ticker="AAPL", instrument="option", price=2.5, fraction=None),
        WED,
        None,
    ),
    (
        "t-sold-some",
        "Sold some NVDA 140c @ 2.80, holding runners",
        sig(action="trim", ticker="NVDA", price=2.8),
        WED,
        None,
    ),  # fmt: skip
    (
        "t-took-some-off",
        "took some off SPY 600c 1/16 at 2.10",
        sig(action="trim", ticker="SPY", legs=[opt("sell", "C", 600, "2026-01-16")], price=2.1),
        WED,
        None,
    ),
    (
        "t-letting-one-ride",
        "STC 2 QQQ 500p 1/16 @ 4.20, letting 1 ride",
        sig(action="trim", ticker="QQQ", legs=[opt("sell", "P", 500, "2026-01-16")], quantity=2, price=4.2),
        WED,
        None,
    ),
    (
        "t-leaving-runners",
        "Trimmed TSLA 250c @ 3.40, leaving runners",
        sig(action="trim", ticker="TSLA", price=3.4),
        WED,
        None,
    ),  # fmt: skip
    (
        "t-pipe-half",
        "SOLD | SPY JAN 16 600c $2.10 1/2",
        sig(action="trim", ticker="SPY", legs=[opt("sell", "C", 600, "2026-01-16")], price=2.1, fraction=0.5),
        WED,
        None,
    ),
    (
        "t-pipe-quarter",
        "SOLD | NVDA 1/16 140c $3.20 1/4",
        sig(action="trim", ticker="NVDA", legs=[opt("sell", "C", 140, "2026-01-16")], price=3.2, fraction=0.25),
        WED,
        None,
    ),
    (
        "t-trailing-third",
        "STC AMD 160c 1/16 @ 3.10 1/3",
        sig(action="trim", ticker="AMD", legs=[opt("sell", "C", 160, "2026-01-16")], price=3.1, fraction=1 / 3),
        WED,
        None,
    ),
    (
        "t-half-off",
        "Half off META 650c 1/16 here 5.20",
        sig(action="trim", ticker="META", legs=[opt("sell", "C", 650, "2026-01-16")], price=5.2, fraction=0.5),
        WED,
        None,
    ),
    (
        "t-two-thirds",
        "sold 2/3 of SPY 600c @ 2.40",
        sig(action="trim", ticker="SPY", price=2.4, fraction=2 / 3),
        WED,
        None,
    ),  # fmt: skip
    (
        "t-scale-heading",
        "Options Scale\nContract: SPY 600C 1/16\nScaling Price: 2.10",
        sig(action="trim", ticker="SPY", legs=[opt("sell", "C", 600, "2026-01-16")], price=2.1),
        WED,
        None,
    ),
    (
        "t-scale-heading-markdown",
        "**Options Scale**\n**Contract:** __QQQ 500P 1/16__\n**Scaling Price:** 4.20\n**Comment:** locking gains",
        sig(action="trim", ticker="QQQ", legs=[opt("sell", "P", 500, "2026-01-16")], price=4.2),
        WED,
        None,
    ),
    (
        "t-close-heading",
        "Options Close\nContract: NVDA 140C 1/16\nPrice: 3.10",
        sig(action="close", ticker="NVDA", legs=[opt("sell", "C", 140, "2026-01-16")], price=3.1),
        WED,
        None,
    ),
    (
        "t-trim-heading",
        "TRIM ALERT ✂️\n$AMD 160c 1/16\nPrice: 3.40",
        sig(action="trim", ticker="AMD", legs=[opt("sell", "C", 160, "2026-01-16")], price=3.4),
        WED,
        None,
    ),
    (
        "t-entry-heading",
        "Options Entry\nContract: META 650C 1/16\nMy Fill: 4.20",
        sig(action="open", ticker="META", legs=[opt("buy", "C", 650, "2026-01-16")], price=4.2),
        WED,
        None,
    ),
    (
        "t-lotto-out",
        "out of the SPY lotto 0.45",
        sig(action="close", ticker="SPY", instrument="option", price=0.45),
        WED,
        None,
    ),  # fmt: skip
    (
        "t-lottos-out",
        "Out of my QQQ lottos @ .30",
        sig(action="close", ticker="QQQ", instrument="option", price=0.3),
        WED,
        None,
    ),  # fmt: skip
    ("t-runners-out", "Out of TSLA runners 4.10", sig(action="close", ticker="TSLA", price=4.1), WED, None),
    (
        "t-sold-three-letting-one",
        "Sold 3 SPY 600c 1/16 @ 2.20, letting 1 ride",
        sig(action="trim", ticker="SPY", quantity=3, price=2.2),
        WED,
        None,
    ),
    ("t-half-out", "Half out AMD @ 3.10", sig(action="trim", ticker="AMD", price=3.1, fraction=0.5), WED, None),
    # -- stop and target changes are updates, never entries ------------------------------------------------------
    (
        "u-raise-sl-on",
        "raising SL on SPY 600c to 4.00",
        sig(action="update", ticker="SPY", stop={"price": 4.0}),
        WED,
        None,
    ),
    (
        "u-parent",
        "BTO 2 NVDA 140c 1/16 @ 4.00",
        sig(action="open", ticker="NVDA", legs=[opt("buy", "C", 140, "2026-01-16")], price=4.0, quantity=2),
        WED,
        None,
    ),
    (
        "u-pt1-hit-be",
        "PT1 hit, moving stop to b/e 4.60",
        sig(action="update", ticker="NVDA", stop={"price": 4.6}, refers_to="u-parent"),
        WED,
        "u-parent",
    ),
    (
        "u-new-target-arrow",
        "new target on QQQ puts → 4.00",
        sig(action="update", ticker="QQQ", targets=[{"price": 4.0}]),
        WED,
        None,
    ),
    (
        "u-move-stop-up",
        "Moving my stop on NVDA 140c up to 2.50",
        sig(action="update", ticker="NVDA", stop={"price": 2.5}),
        WED,
        None,
    ),  # fmt: skip
    ("u-sl-now-on", "SL now 1.80 on AMD 160c", sig(action="update", ticker="AMD", stop={"price": 1.8}), WED, None),
    (
        "u-trailing",
        "Trailing stop on TSLA 250c to 3.20",
        sig(action="update", ticker="TSLA", stop={"price": 3.2}),
        WED,
        None,
    ),  # fmt: skip
    (
        "u-raise-pt",
        "Raise PT on META to 700",
        sig(action="update", ticker="META", targets=[{"price": 700}]),
        WED,
        None,
    ),  # fmt: skip
    (
        "u-stop-be-reply",
        "stop to breakeven",
        sig(action="update", ticker="NVDA", stop={"text": "breakeven"}, refers_to="u-parent"),
        WED,
        "u-parent",
    ),
    (
        "u-adjust-arrow",
        "Adjusting stop loss for SPY 600c 1/16 → 1.10",
        sig(action="update", ticker="SPY", stop={"price": 1.1}),
        WED,
        None,
    ),
    (
        "u-stop-raised-on-the",
        "Stop raised to 2.10 on the NVDA calls",
        sig(action="update", ticker="NVDA", stop={"price": 2.1}),
        WED,
        None,
    ),
    (
        "u-pt-hit-trimming",
        "PT1 hit on SPY 600c ✅ trimming half @ 1.80",
        sig(action="trim", ticker="SPY", price=1.8, fraction=0.5),
        WED,
        None,
    ),
    ("u-pt-hit-alone", "PT1 hit ✅🔥", NON, WED, None),
    ("u-pt-hit-ticker", "NVDA PT2 hit 🎯🔥", NON, WED, None),
]


def rows(table: list[tuple[str, str, dict[str, Any], str, str | None]]) -> list[dict[str, Any]]:
    return [
        {"id": cid, "text": text, "created_at": created, "reply_to": reply, "expect": expect}
        for cid, text, expect, created, reply in table
    ]


def cases_v2() -> list[dict[str, Any]]:
    """Every v2 case, in an order where a reply comes after the alert it answers."""
    from .cases_v2_extra import CASES_EXTRA
    from .cases_v2_late import CASES_LATE
    from .cases_v2_more import CASES_MORE
    from .cases_v2_orders import CASES_ORDERS

    return rows(_CASES + CASES_ORDERS + CASES_MORE + CASES_EXTRA + CASES_LATE)
