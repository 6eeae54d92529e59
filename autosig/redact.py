"""Keeping secrets out of every string that leaves the process: logs, events, pages, notifications and errors.

A leaf: imports nothing of AutoSig.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query (and fragment) parameters whose values are redacted wherever a URL is shown: a name containing one of these
# words, ignoring case, "-" and "_" (so access-token, X-Api-Key, client_secret, auth_token, sslpassword all match).
_SECRET_WORDS = ("token", "key", "secret", "password", "passwd", "pwd", "auth", "sig", "credential", "session")


def _is_secret_param(name: str) -> bool:
    plain = name.lower().replace("-", "").replace("_", "")
    return any(word in plain for word in _SECRET_WORDS)


def _redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, "***" if _is_secret_param(k) else v) for k, v in pairs], safe="*")


def url_secrets(url: str) -> list[str]:
    """The values redact_url hides (a password in the user info, secret-looking parameters), to be masked in logs too."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = [parts.password or ""] if "@" in parts.netloc else []
    for query in (parts.query, parts.fragment):
        found += [v for k, v in parse_qsl(query, keep_blank_values=True) if _is_secret_param(k)]
    return [v for v in found if v]


class Secret:
    """A value that must never be printed: its str and repr are masked; use .reveal() where it is really sent."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def redact_url(url: str) -> str:
    """The URL with user info and secret-looking query values replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    # a fragment can carry parameters too (#access_token=…); one that is not key=value is shown as is
    fragment = _redact_query(parts.fragment) if "=" in parts.fragment else parts.fragment
    return urlunsplit((parts.scheme, netloc, parts.path, _redact_query(parts.query), fragment))
