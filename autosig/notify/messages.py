"""A notification and how it is written for each kind of receiver.

The receiver's format follows from the URL's host: Discord and Slack incoming webhooks take their own bodies
({"content"} and {"text"}); any other URL gets a plain JSON object with a stable schema:

    {"id", "kind", "state", "text", "at", "source": "autosig", "details": {...}}

`id` is the idempotency id (also sent as the Idempotency-Key header): it is derived from the event that caused the
message, so every process and every restart computes the same id for the same change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DISCORD, SLACK, JSON = "discord", "slack", "json"
DISCORD_HOSTS = ("discord.com", "discordapp.com")
SLACK_HOSTS = ("hooks.slack.com",)
DISCORD_LIMIT = 2000  # Discord rejects longer content with 400; Slack's limit is far higher
SLACK_LIMIT = 40000

# kinds
INGESTION, SIGNAL, HEADS, ORDERS = "ingestion", "signal", "heads", "orders"
# states of an ingestion message
STALE, AUTH_FAILED, RECOVERED = "stale", "auth_failed", "recovered"


@dataclass(frozen=True)
class Message:
    id: str
    kind: str  # ingestion | signal | heads | orders
    # stale | auth_failed | recovered (ingestion), signal, heads; orders: filled, rejected, refused, unknown,
    # unverified, id_collision, expired_unsent, exit_missed, paused, resumed, loss_cap
    state: str
    text: str
    at: str  # RFC 3339: when the change happened (not when it is sent)
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "text": self.text,
            "at": self.at,
            "source": "autosig",
            "details": self.details,
        }


def _host_matches(host: str, names: tuple[str, ...]) -> bool:
    return any(host == name or host.endswith("." + name) for name in names)


def format_for(url: str) -> str:
    """discord, slack or json, by the URL's host."""
    host = (urlsplit(url).hostname or "").lower()
    if _host_matches(host, DISCORD_HOSTS):
        return DISCORD
    if _host_matches(host, SLACK_HOSTS):
        return SLACK
    return JSON


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def body_for(fmt: str, message: Message) -> dict[str, Any]:
    """The JSON body to POST for this format."""
    if fmt == DISCORD:
        # allowed_mentions: alert text comes from strangers; never let it ping @everyone in the user's server
        return {"content": _clip(message.text, DISCORD_LIMIT), "allowed_mentions": {"parse": []}}
    if fmt == SLACK:
        return {"text": _clip(message.text, SLACK_LIMIT)}
    return message.as_json()


def target(url: str) -> str:
    """The receiver as it may appear in logs and events: scheme and host only. Webhook URLs carry their secret in
    the path (Discord: /api/webhooks/<id>/<token>, Slack: /services/<…>), which a query-only redaction would keep."""
    from autosig.redact import redact_url

    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable url>"
    return redact_url(f"{parts.scheme}://{host}{port}/***")
