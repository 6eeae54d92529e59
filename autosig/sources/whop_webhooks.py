"""Whop's webhooks, signed per the Standard Webhooks scheme: verifying a delivery and reading the one event AutoSig
acts on, `chat.message.created` (a new message in a channel), plus signing for the simulator and the tests.

    event = verify_delivery(secret, request_headers, body, now)   # raises WebhookRejected(outcome, detail)
    if event is not None:                                          # None: verified, but another event type
        event.webhook_id, event.channels, event.message_id

Whop signs with the literal bytes of its `ws_…` secret (its SDK's verify_webhook says so), whereas the Standard
Webhooks reference library base64-decodes a string secret first; so the library is handed the secret's bytes, which
it uses as they are. A verified delivery is only a wake-up: the poll stays the only source of what a message says.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from autosig.redact import Secret

TOLERANCE_S = 300  # deliveries stamped more than 5 minutes away from now are refused (replays)
CHAT_MESSAGE_CREATED = "chat.message.created"
# Outcomes of a refused delivery, as counted in /metrics.
BAD_SIGNATURE, OLD_TIMESTAMP, MALFORMED = "bad_signature", "old_timestamp", "malformed"
_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class WebhookRejected(Exception):
    """A delivery refused: `outcome` is BAD_SIGNATURE, OLD_TIMESTAMP or MALFORMED; `detail` is safe to show."""

    def __init__(self, outcome: str, detail: str) -> None:
        super().__init__(f"{outcome}: {detail}")
        self.outcome = outcome
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ChatMessageCreated:
    webhook_id: str
    timestamp: str  # the signed send time, RFC 3339 UTC
    channels: tuple[str, ...]  # data.channel.id, then its experience_id when there is one
    message_id: str


def _signer(secret: Secret | str) -> Webhook:
    raw = secret.reveal() if isinstance(secret, Secret) else secret
    return Webhook(raw.encode("utf-8"))  # bytes: used as the HMAC key unchanged, as Whop does


def sign(secret: Secret | str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of a delivery of `body` signed with `secret` (Whop's way)."""
    when = datetime.fromtimestamp(timestamp, UTC)
    signature = _signer(secret).sign(webhook_id, when, body.decode("utf-8"))
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def verify_delivery(secret: Secret, headers: Mapping[str, str], body: bytes, now: float) -> ChatMessageCreated | None:
    """The chat.message.created event of a genuine, fresh delivery; None for a genuine delivery of another type."""
    found = {name: headers.get(name) for name in _HEADERS}
    if not all(found.values()):
        missing = ", ".join(name for name, value in found.items() if not value)
        raise WebhookRejected(MALFORMED, f"missing {missing}")
    webhook_id = str(found["webhook-id"])
    if len(webhook_id) > 200 or not webhook_id.isprintable():
        raise WebhookRejected(MALFORMED, "webhook-id is not an id")
    try:
        stamp = float(found["webhook-timestamp"] or "")
    except ValueError:
        raise WebhookRejected(MALFORMED, "webhook-timestamp is not a number of seconds") from None
    if not math.isfinite(stamp) or abs(now - stamp) > TOLERANCE_S:
        raise WebhookRejected(OLD_TIMESTAMP, "webhook-timestamp is more than 5 minutes from now (a replay?)")
    try:
        # the library checks the timestamp too (against the wall clock) and every v1 signature in constant time
        _signer(secret).verify(body, {k: v or "" for k, v in found.items()}, json_parse=False)
    except WebhookVerificationError as exc:
        if "timestamp" in str(exc).lower():
            raise WebhookRejected(OLD_TIMESTAMP, "webhook-timestamp is more than 5 minutes from now") from None
        raise WebhookRejected(BAD_SIGNATURE, "the signature does not match WHOP_WEBHOOK_SECRET") from None
    except (ValueError, TypeError, UnicodeError):
        # a signature header that is not "v1,<base64>", or a body that is not UTF-8: attacker-controlled input
        raise WebhookRejected(BAD_SIGNATURE, "the signature header cannot be read") from None
    return _chat_message_created(webhook_id, stamp, body)


def _chat_message_created(webhook_id: str, stamp: float, body: bytes) -> ChatMessageCreated | None:
    try:
        doc: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise WebhookRejected(MALFORMED, "the body is not JSON") from None
    if not isinstance(doc, dict):
        raise WebhookRejected(MALFORMED, "the body is not a JSON object")
    if doc.get("type") != CHAT_MESSAGE_CREATED:
        return None
    data = doc.get("data")
    channel = data.get("channel") if isinstance(data, dict) else None
    message = data.get("message") if isinstance(data, dict) else None
    channel_id = channel.get("id") if isinstance(channel, dict) else None
    message_id = message.get("id") if isinstance(message, dict) else None
    if not isinstance(channel_id, str) or not channel_id or not isinstance(message_id, str) or not message_id:
        raise WebhookRejected(MALFORMED, "a chat.message.created event without data.channel.id and data.message.id")
    channels = [channel_id]
    experience = channel.get("experience_id") if isinstance(channel, dict) else None
    if isinstance(experience, str) and experience and experience != channel_id:
        channels.append(experience)  # a listing URL may name the experience rather than the chat feed
    sent = datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return ChatMessageCreated(webhook_id, sent, tuple(channels), message_id)
