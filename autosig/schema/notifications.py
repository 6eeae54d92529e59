"""Delivered alarms (`notifications`): a restart never resends a delivered message, and the baseline says where
notifications began (what happened before is history, never announced)."""

from __future__ import annotations

from typing import Any

from autosig.schema.draft import Draft
from autosig.schema.types import NOTIFICATION_DELIVERED, NOTIFY_BASELINE


def notification_delivered(message_id: str, data: dict[str, Any]) -> Draft:
    """Keyed by the message's stable id, so one change is recorded once however often it was delivered."""
    return Draft(NOTIFICATION_DELIVERED, data, None, message_id)


def notify_baseline(data: dict[str, Any]) -> Draft:
    """The first sender's starting point; keyed so that two first senders agree on one."""
    return Draft(NOTIFY_BASELINE, data, None, "baseline")
