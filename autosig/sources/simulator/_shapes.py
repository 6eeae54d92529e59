"""The objects the simulator serves, field for field as Whop's API definition has them (the official SDK's models
`MessageListItem` and `ForumPostListItem`, and the `chat.message.created` webhook payload), so that whatever reads
the real Whop reads the simulator the same way."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

MESSAGES = "messages"
FORUM_POSTS = "forum_posts"


def iso(ts: datetime) -> str:
    """Whop's timestamp form: milliseconds and Z."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def listed_item(
    kind: str,
    item_id: str,
    content: str | None,
    *,
    created_at: Any,
    user: dict[str, Any],
    reply_to: str | None,
    rng: random.Random,
) -> dict[str, Any]:
    """A new item as Whop lists it: a chat message (GET /api/v1/messages, every field the model requires) or, for
    kind FORUM_POSTS, a forum post (GET /api/v1/forum_posts; a comment names its post in parent_id)."""
    if kind == FORUM_POSTS:
        return {
            "id": item_id,
            "title": None,
            "content": content,
            "created_at": created_at,
            "updated_at": created_at,
            "is_edited": False,
            "is_pinned": False,
            "is_poster_admin": True,
            "parent_id": reply_to,
            "comment_count": 0,
            "like_count": rng.randint(0, 40),
            "view_count": rng.randint(3, 400),
            "attachments": [],
            "user": user,
        }
    return {
        "id": item_id,
        "content": content,
        "created_at": created_at,
        "updated_at": created_at,
        "is_edited": False,
        "is_pinned": False,
        "mentions": [],
        "mentions_everyone": False,
        "message_type": "regular",
        "replying_to_message_id": reply_to,
        "user": user,
        "view_count": rng.randint(3, 400),
        "reaction_counts": [],
        "poll": None,
        "poll_votes": [],
    }


def chat_message_created(
    webhook_id: str, message: dict[str, Any], *, channel: str, experience_id: str | None, sent_at: datetime
) -> dict[str, Any]:
    """The body of a `chat.message.created` webhook: the channel and the message as the API would list it."""
    return {
        "id": webhook_id,
        "api_version": "v1",
        "api_version_date": None,
        "timestamp": iso(sent_at),
        "type": "chat.message.created",
        "account_id": None,
        "data": {
            "reason": "channel_message",
            "audience": {"type": "channel", "user_ids": None},
            "channel": {"id": channel, "type": "chat", "experience_id": experience_id},
            "message": message,
        },
    }
