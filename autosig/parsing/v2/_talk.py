"""Parser v2 reads what a whole message says about the trades it names before reading them: a warning about fake
alerts, an example of the format, an alert quoted from someone else, a recap of an earlier exit. Each is a few plain
patterns over the lowercased text; none nests a quantifier, so any message costs linear time."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A message that warns about alerts it names is about them, not placing them ("Scam alert: fake accounts are
# DMing …", "… pretending to be us", "not from us").
_WARNING = re.compile(
    r"\b(?:psa|scam|scams|scammer|scammers|scammy|impersonat\w*|imposter|imposters|impostor|impostors|beware"
    r"|pretending to be|posing as|never sent|not from us|not from me|not ours|not mine|not our (?:alert|trade|call)"
    r"|spam|spamming|spammer|spammers|not us|isn't us|wasn't us|not me|isn't me|wasn't me"
    r"|not my (?:alert|trade|call)|fake (?:account|accounts|alert|alerts|screenshot|screenshots|dm|dms|profile"
    r"|profiles|page|server|post|posts|signal|signals|discord|group))\b"
)
# An example of the alert format, or a message that says it is not an alert.
_EXAMPLE = re.compile(
    r"\b(?:example|examples|for instance|e\.g|hypothetical|hypothetically|template"
    r"|not an? (?:alert|trade|signal|entry|order|call))\b"
)
# Someone else's words: a quote (straight or curly, double or single) holding an order.
_QUOTED = re.compile(r"[\"“”„«»]([^\"“”„«»\n]{4,200})[\"“”„«»]|(?<![\w'])'([^'\n]{4,200})'(?![\w'])")
_ORDERISH = re.compile(r"\b(?:bto|sto|stc|btc|buy|sell|bought|sold|long|short|entry|in|out)\b|\d\s?[cp]\b|@")
# Who said it, when the quote is reported rather than placed.
_SPEECH = re.compile(
    r"\b(?:posted|posting|posts|said|says|saying|sent|sending|dm|dms|dming|dm'ing|messaged|copied|copying|shared"
    r"|sharing|asked|asking|claims|claimed|claiming|saw|seeing|someone|somebody|people|they|going around"
    r"|screenshot|screenshots)\b"
)
_TOLD = re.compile(r"\b(?:was|were|had|did)\b")
# A withdrawn or unfilled order: "Cancel BTO …", "disregard that", "not filled".
_CANCELLED = re.compile(
    r"\b(?:cancel|cancels|cancelled|canceled|cancelling|canceling|disregard|nevermind|never mind|nvm|scratch that"
    r"|ignore (?:it|that|this|the last|my last|last)|was a test|just a test|test alert|not filled|didn't fill"
    r"|didnt fill|did not fill|no fill|unfilled"
    r"|never filled|wasn't filled|not getting filled)\b"
)
# A recap by name, and the past that makes a past-tense exit a recap rather than an order.
_RECAP = re.compile(r"\b(?:recap|recaps|recapping|recapped|in case you missed)\b")
_PAST = re.compile(
    r"\b(?:yesterday|yesterday's|ago|last (?:week|night|month|friday|monday|tuesday|wednesday|thursday|session)"
    r"|earlier today|earlier|this morning|previously|the other day)\b"
)
@dataclass(frozen=True)
class Talk:
    """What the message says about itself."""

    not_an_order: str | None  # the reason the message places no order, or None
    quoted: bool  # the order it names is in quotes
    recap_words: bool  # it calls itself a recap
    past: bool  # it names an earlier time ("yesterday", "two days ago")
    cancelled: bool = False  # it withdraws an order, or says it did not fill


# Substrings (and quote marks) without which none of the patterns above can match: most alerts contain none of
# them, and one search for all is cheaper than a search for each.
_KEYS = re.compile(
    r"psa|scam|imperson|impost|beware|pretend|posing|never|not |fake|spam|isn't|wasn't|example|instance|e\.g"
    r"|hypothetical|template|recap|missed|yesterday|ago|last |earlier|this morning|previously|other day|cancel"
    r"|disregard|nvm|scratch|ignore|test|fill|[\"'“”„«»]"
)


def read_talk(text: str) -> Talk:
    low = text.lower()
    if _KEYS.search(low) is None:
        return _PLAIN
    if _WARNING.search(low):
        return Talk("a warning about alerts, not an order", False, False, False)
    if _EXAMPLE.search(low):
        return Talk("an example or a note, not an order", False, False, False)
    quoted = False
    for m in _QUOTED.finditer(low):
        inside = m.group(1) or m.group(2) or ""
        if _ORDERISH.search(inside):
            quoted = True
            outside = low[: m.start()] + " " + low[m.end() :]
            if _SPEECH.search(outside):
                return Talk("an alert quoted from someone else, not an order", True, False, False)
    past = _PAST.search(low)
    # "last week's STC of AAPL 240c @ 3.10 was a 60% winner": in the past and told as such, whatever its verb
    told = past is not None and _TOLD.search(low) is not None
    return Talk(None, quoted, bool(_RECAP.search(low)) or told, past is not None, bool(_CANCELLED.search(low)))


_PLAIN = Talk(None, False, False, False)
