"""Stall alarms and signal notifications: pushes a message to AUTOSIG_NOTIFY_URL when ingestion turns stale, when
Whop rejects the token, when ingestion recovers, once a day with the heads of every stream, optionally per new
signal, and for execution: every fill, refusal, unknown or unverified outcome, missed exit, pause and resume, and the
daily loss cap reached.

    machine.py   the pure state machine: apply(event) per stream, due(now) -> the messages not yet delivered
    orders.py    its part for the orders and control streams
    messages.py  the message, its id, and the Discord / Slack / plain JSON bodies
    deliver.py   one message, POSTed with retries and backoff until the receiver accepts it
    election.py  one sender among every web process (the store's notifier lease)
    sender.py    the edges together: elected, it reads the streams, delivers what is due, records each delivery
    heads.py     the stream-heads message (also sent on demand by `autosig notify-heads`)
    web.py       starting and stopping the sender in a web process

Every delivery is recorded in the `notifications` stream, keyed by the message id, so a delivered message is never
sent again after a restart and a newly elected sender resumes with what is not delivered yet (at-least-once: a crash
between the receiver's 2xx and the record sends that one message again, with the same id).
"""

from autosig.notify.machine import Baseline, NotifyMachine
from autosig.notify.messages import Message, body_for, format_for

__all__ = ["Baseline", "Message", "NotifyMachine", "body_for", "format_for"]
