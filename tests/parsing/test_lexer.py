"""The tokenizer: one linear pass; what becomes a date, a number, a word."""

from __future__ import annotations

from autosig.parsing.v1._lexer import clean, tokenize


def _kinds(text):
    return [(t.kind, t.low) for t in tokenize(text)]


def test_dates_numbers_words_and_symbols():
    assert _kinds("BTO $SPY 600c 1/17 @ .45 1,000") == [
        ("word", "bto"), ("word", "spy"), ("num", "600"), ("word", "c"), ("date", "1/17"), ("sym", "@"),
        ("num", ".45"), ("num", "1000"),
    ]  # fmt: skip
    assert _kinds("1/17/2025 12/15/23 2025-01-17") == [
        ("date", "1/17/2025"),
        ("date", "12/15/23"),
        ("date", "2025-01-17"),
    ]


def test_flags_dollar_slash_glued():
    spy, strike, right = tokenize("$SPY $600c")
    assert spy.dollar and spy.low == "spy"
    assert strike.dollar and strike.value == 600 and right.glued and not strike.glued
    es = tokenize("/ES")[0]
    assert es.slash and es.low == "es"
    # a slash between words is a symbol, not a futures root
    assert [(t.kind, t.low) for t in tokenize("calls/puts")] == [("word", "calls"), ("sym", "/"), ("word", "puts")]


def test_limit_caps_the_tokens():
    assert len(tokenize("1/1/" * 1000, 50)) == 50


def test_clean_strips_mentions_links_markdown_and_maps_chinese():
    assert clean("<@&123> **BTO** https://x.y/z @everyone").split() == ["BTO"]
    assert clean("本周 2.15 进").split() == ["weekly", "2.15", "bought"]


def test_class_shares_are_one_word():
    assert _kinds("BRK.B $BF.A BRK/B") == [("word", "brk.b"), ("word", "bf.a"), ("word", "brk.b")]
    assert tokenize("BRK/B")[0].text == "BRK/B"  # as written; low is the normal form
    # not class shares: prices, sentence ends, lowercase, other letters, abbreviations, ratios
    assert _kinds("SPY.50") == [("word", "spy"), ("num", ".50")]
    assert _kinds("AAPL. B") == [("word", "aapl"), ("sym", "."), ("word", "b")]
    for text in ("brk.b", "BRK.C", "BRK.BB", "ABCDEF.B", "U.S.A.", "N/A", "P/B", "A/B"):
        assert all("." not in t.low and "/" not in t.low for t in tokenize(text) if t.kind == "word"), text
