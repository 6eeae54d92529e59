"""Properties of the executor over random signal sequences: positions are never negative, exits never sell more than
AutoSig's fills hold, and the positions equal a fresh replay of the orders stream."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autosig.projections.orders import OrdersProjection
from autosig.schema import ORDERS
from stages.execute_harness import Harness, option
from stages.fake_broker import FakeBroker

TICKERS = ("SPY", "QQQ")
step = st.tuples(
    st.sampled_from(["open", "add", "trim", "close"]),
    st.sampled_from(TICKERS),
    st.sampled_from([None, 0.25, 0.5, 1.0]),
    st.sampled_from(["all", "half", "none"]),
    st.booleans(),  # time passes (entries may time out)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=14), st.sampled_from(["fixed:3", "fixed:1", "usd:500"]))
def test_positions_never_go_negative_and_exits_never_exceed_fills(steps, size):
    with tempfile.TemporaryDirectory() as tmp:
        h = Harness(Path(tmp), FakeBroker, AUTOSIG_SIZE=size)
        h.start()
        for action, ticker, fraction, fill, wait in steps:
            h.broker.fill = fill
            price = 1.25 if action in ("open", "add") else 1.5
            h.alert(option(action, ticker=ticker, price=price, fraction=fraction if action == "trim" else None))
            h.run()
            if wait:
                h.clock.advance(130)
                h.poll()
                h.stage._next_poll = 0
                h.run()
            for p in h.stage.book.positions():
                assert p["quantity"] >= 0
        # what the broker filled: AutoSig never sold more of a symbol than it had bought
        bought, sold = Counter(), Counter()
        for record in h.broker.orders.values():
            for leg in record["request"].legs:
                (bought if leg.side == "buy" else sold)[leg.symbol] += int(record["filled"])
        for symbol, n in sold.items():
            assert n <= bought[symbol], f"sold {n} of {symbol} after buying {bought[symbol]}"
        # every client order id reached the broker at most once
        assert all(n == 1 for n in h.broker.counts.values())
        # the positions are a pure function of the stream
        replay = OrdersProjection()
        for ev in h.store.read(ORDERS):
            replay.apply(ev)
        assert replay.positions(h.stage.scope) == h.stage.book.positions()
        held = {p["ticker"]: p["quantity"] for p in h.stage.book.positions()}
        for ticker in TICKERS:
            symbol = f"{ticker}270115C00600000"
            assert held.get(ticker, 0) == bought[symbol] - sold[symbol]
