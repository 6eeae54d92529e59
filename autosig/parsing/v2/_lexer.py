"""Tokens of one alert segment. One linear regex pass: no alternative nests quantifiers, so any input of n
characters lexes in O(n) (alert text is written by strangers; a backtracking regex would be a denial of service)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Order matters: dates before numbers ("1/17" is one token), numbers before words.
_TOKEN = re.compile(
    r"(?P<date>\d{4}-\d{1,2}-\d{1,2}(?![\d-])|\d{1,2}/\d{1,2}(?:/\d{4}|/\d{2})?(?![\d/]))"
    r"|(?P<num>\$?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+))"
    # Class shares ("BRK.B", "BF.A", "BRK/B"): capitals only and a lone A/B class, fenced so "U.S.A.", "N/A",
    # "P/B" and "in AAPL. B careful" stay words. The slash form needs two letters ("P/B" is price-to-book).
    r"|(?P<cls>(?<![\w./$])\$?(?:[A-Z]{1,5}\.|[A-Z]{2,5}/)[AB](?![\w./]))"
    r"|(?P<word>[$/]?[^\W\d_]+(?:'[^\W\d_]+)?)"
    r"|(?P<sym>\S)"
)
# Discord/Whop mentions, links and markdown emphasis carry no trade content but contain digits and letters.
_NOISE = re.compile(r"<[@#][!&]?\d+>|<:\w+:\d+>|https?://\S+|@here\b|@everyone\b|[*_~`|>]")
# Chinese alert vocabulary, mapped to the English words the parser already knows.
_CJK = {
    "本周": " weekly ",
    "下周": " nextweek ",
    "买入": " bought ",
    "进场": " bought ",
    "进": " bought ",
    "卖出": " sold ",
    "出场": " sold ",
    "止损": " sl ",
    "目标": " target ",
    "看涨": " calls ",
    "看跌": " puts ",
}
_CJK_RE = re.compile("|".join(sorted(_CJK, key=len, reverse=True)))


@dataclass(slots=True)
class Token:
    kind: str  # "date", "num", "word", "sym"
    text: str  # as written
    low: str  # lowercased, without a leading $ or /
    start: int
    end: int
    glued: bool  # no whitespace between the previous token and this one
    value: float | None = None  # numbers
    dollar: bool = False  # written with a leading $
    slash: bool = False  # a word written with a leading / (futures)
    used: bool = False  # claimed by a rule; later rules skip it

    @property
    def is_int(self) -> bool:
        return self.kind == "num" and "." not in self.text

    def __repr__(self) -> str:  # compact, for test failure messages
        return f"<{self.kind}:{self.text}>"


# Emoji used as labels, when a number follows them ("🎯 0.90/1.20", "🛑 1.70"); "… TARGET 🎯" stays decoration.
_EMOJI_LABELS = {"🎯": " target ", "🛑": " stop ", "⛔": " stop "}
_EMOJI_LABEL_RE = re.compile("([🎯🛑⛔])\ufe0f?(?=[ \t]*:?[ \t]*\\$?\\.?\\d)")
# Invisible joiners and variation selectors, and curly apostrophes inside words ("wasn’t" is one word).
_INVISIBLE = re.compile("[\u200b-\u200d\ufe0e\ufe0f\u2060]")
_CURLY_APOSTROPHE = re.compile(r"(?<=[^\W\d_])[’‘](?=[^\W\d_])")


# Option symbols as brokers write them: OCC ("SPY260116C00600000", strike x 1000 in 8 digits, optionally "O:"
# before it) and thinkorswim (".SPY260116C600"). Rewritten as the words an alert would use, so that no digit of the
# symbol is read as a strike or a quantity.
_SYMBOL = re.compile(r"(?<![\w.:])(O:|\.)?([A-Z]{1,6})(\d\d)(\d\d)(\d\d)([CP])(\d{1,8}(?:\.\d{1,3})?)(?![\w.])")


def _symbol(m: re.Match[str]) -> str:
    prefix, root, yy, mm, dd, right, strike = m.groups()
    if prefix == ".":
        if len(strike) > 9:
            return m.group(0)
    elif len(strike) == 8:
        strike = f"{int(strike) / 1000:g}"
    else:
        return m.group(0)  # neither form
    return f" {root} {mm}/{dd}/20{yy} {strike}{right} "


def clean(text: str) -> str:
    """Strips mentions, links and markdown; maps option symbols, Chinese alert words and label emoji to English."""
    text = _NOISE.sub(" ", text)
    text = _SYMBOL.sub(_symbol, text)
    if not text.isascii():
        text = _CJK_RE.sub(lambda m: _CJK[m.group(0)], text)
        text = _EMOJI_LABEL_RE.sub(lambda m: _EMOJI_LABELS[m.group(1)], text)
        text = _INVISIBLE.sub("", text)
        text = _CURLY_APOSTROPHE.sub("'", text)
    return text


def tokenize(text: str, limit: int | None = None) -> list[Token]:
    """The tokens of `text`, at most `limit` of them."""
    tokens: list[Token] = []
    append = tokens.append
    prev_end = -1
    for m in _TOKEN.finditer(text):
        if limit is not None and len(tokens) >= limit:
            break
        kind = m.lastgroup or "sym"
        raw = m.group()
        start, end = m.span()
        glued = start == prev_end
        prev_end = end
        if kind == "num":
            if raw[0] == "$":
                digits = raw[1:].replace(",", "")
                append(Token("num", raw, digits, start, end, glued, float(digits), dollar=True))
            else:
                digits = raw.replace(",", "")
                append(Token("num", raw, digits, start, end, glued, float(digits)))
        elif kind == "cls":  # one ticker however written: "BRK/B" reads as "brk.b"
            dollar = raw[0] == "$"
            low = (raw[1:] if dollar else raw).replace("/", ".").lower()
            append(Token("word", raw, low, start, end, glued, dollar=dollar))
        elif kind == "word":
            lead = raw[0]
            if lead == "/":
                if glued:  # "calls/puts": a slash between words, not a futures root
                    append(Token("sym", "/", "/", start, start + 1, True))
                    append(Token("word", raw[1:], raw[1:].lower(), start + 1, end, True))
                else:
                    append(Token("word", raw, raw[1:].lower(), start, end, glued, slash=True))
            elif lead == "$":
                append(Token("word", raw, raw[1:].lower(), start, end, glued, dollar=True))
            else:
                append(Token("word", raw, raw.lower(), start, end, glued))
        else:
            append(Token(kind, raw, raw.lower(), start, end, glued))
    return tokens
