"""Parser v2 cuts a message into segments, one per traded ticker (see the package docstring)."""

from __future__ import annotations

from datetime import date

from autosig.parsing.v2._features import Action, Features
from autosig.parsing.v2._lexer import Token, tokenize
from autosig.parsing.v2._reader import Reader
from autosig.parsing.v2._vocab import HEADING_ACTIONS, HEADING_WORDS, NOT_TICKERS

# At most this many tokens of a message's head are read: prose of 1,000 characters is ~250 tokens, symbol soup
# ("1/1/1/…") four times that.
MAX_TOKENS = 400
_SPLITTERS = {",", ";"}


def _parts(tokens: list[Token]) -> list[list[Token]]:
    """Splits one line at commas and semicolons outside parentheses ("Out nvda 1.50, spy 4.10")."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.low in ("(", "["):
            depth += 1
        elif tok.low in (")", "]"):
            depth = max(0, depth - 1)
        if tok.low in _SPLITTERS and depth == 0 and nxt is not None and nxt.kind == "word":
            parts.append([])  # a comma before a number continues a list ("PT 1.00, 1.50")
        elif tok.low in ("and", "&", "plus") and depth == 0 and _next_ticker(nxt) and _has_number(parts[-1]):
            parts.append([])  # "BTO SPY 600c 1/16 @ 1.25 and QQQ 510c 1/16 @ 0.90"
        else:
            parts[-1].append(tok)
    return [p for p in parts if p]


def _next_ticker(tok: Token | None) -> bool:
    if tok is None or tok.kind != "word":
        return False
    return tok.dollar or tok.slash or len(tok.text) >= 2 and tok.text.isupper() and tok.low not in NOT_TICKERS


def _has_number(part: list[Token]) -> bool:
    return any(tok.kind == "num" for tok in part)


def _join(pieces: list[list[Token]]) -> list[Token]:
    """Concatenates pieces with a break token between, so no adjacency rule reaches across lines."""
    joined: list[Token] = []
    for piece in pieces:
        if joined:
            joined.append(Token("sym", "¶", "¶", piece[0].start, piece[0].start, False))
        joined.extend(piece)
    return joined


def _has_signed_legs(lines: list[list[Token]]) -> bool:
    for line in lines:
        for i in range(len(line) - 2):
            if line[i].low in ("+", "-") and line[i + 1].kind == "num" and line[i + 1].glued:
                if not (i > 0 and line[i - 1].kind == "num" and line[i].glued):
                    nxt = line[i + 2]
                    if nxt.kind == "num" or nxt.low in ("c", "p", "call", "put", "calls", "puts"):
                        return True
    return False


def _heading(line: list[Token]) -> str | None:
    """The action a heading line names ("Options Scale", "TRIM ALERT ✂️", "Options Entry"): a few words, no number,
    every word a heading word and exactly one kind of action among them."""
    words = [tok.low for tok in line if tok.kind == "word"]
    if not 1 <= len(words) <= 4 or any(tok.kind in ("num", "date") for tok in line):
        return None
    if not all(w in HEADING_WORDS or w in HEADING_ACTIONS for w in words):
        return None
    actions = {HEADING_ACTIONS[w] for w in words if w in HEADING_ACTIONS}
    return actions.pop() if len(actions) == 1 else None


def split_segments(text: str, today: date | None) -> tuple[Features | None, list[Features]]:
    lines: list[list[Token]] = []
    budget = MAX_TOKENS
    for line in text.splitlines():
        if budget <= 0:
            break
        toks = tokenize(line, budget)
        budget -= len(toks)
        if toks:
            lines.append(toks)
    if not lines:
        return None, []
    if _has_signed_legs(lines):
        return None, [Reader(_join(lines), today).read()]
    heading = _heading(lines[0]) if len(lines) > 1 else None
    header: list[list[Token]] = []
    groups: list[list[list[Token]]] = []
    first_reads: list[tuple[Features, bool]] = []  # a one-part group's first reading is its final one
    has_action = False
    header_read: Features | None = None
    strikes, sides = 0, 0  # over all parts: maybe a spread written leg by leg, which a comma cuts in two
    for line in lines:
        for part in _parts(line):
            features = Reader(part, today, inherited_action=has_action).read()
            strikes += len(features.strikes) + len(features.signed_legs)
            sides |= features.sides
            if features.ticker is not None:
                groups.append([part])
                first_reads.append((features, has_action))
            elif groups:
                groups[-1].append(part)
            else:
                header.append(part)
                header_read = header_read or features  # the first part is read with no action inherited
            has_action = has_action or features.action is not None
    if strikes >= 2 and sides == 3:  # "sell SPY 590P, buy 585P": one segment
        whole = Reader(_join(lines), today).read()
        if whole.worded_legs:
            return None, [whole]
    # a header of one part was read just so: its reading stands
    whole_header = header_read if len(header) == 1 else Reader(_join(header), today).read() if header else None
    if not groups:
        return None, [whole_header] if whole_header is not None else []
    header_features = whole_header
    if heading is not None and header_features is not None:
        header_features.action = Action(heading, None, True, 0, 0, heading=True)
    segments: list[Features] = []
    inherited = header_features is not None and header_features.action is not None
    for group, (first, first_inherited) in zip(groups, first_reads, strict=True):
        if len(group) == 1 and first_inherited == inherited:
            features = first
        else:
            features = Reader(_join(group), today, inherited_action=inherited).read()
        inherited = inherited or features.action is not None
        segments.append(features)
    return header_features, segments
