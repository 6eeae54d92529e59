"""Event types, one constant each, grouped by the stream they are written to."""

from __future__ import annotations

# raw
ALERT_RECEIVED = "alert.received"
ALERT_EDITED = "alert.edited"
# parsed
ALERT_PARSED = "alert.parsed"
# worker
WORKER_STARTED = "worker.started"
WORKER_STOPPED = "worker.stopped"
POLL_COMPLETED = "poll.completed"
POLL_FAILED = "poll.failed"
# orders
EXECUTOR_STARTED = "executor.started"
EXECUTOR_STOPPED = "executor.stopped"
ORDER_PLANNED = "order.planned"
ORDER_SKIPPED = "order.skipped"
ORDER_SUBMITTED = "order.submitted"
ORDER_UPDATED = "order.updated"
ORDER_CANCEL_REQUESTED = "order.cancel_requested"
ORDER_UNKNOWN = "order.unknown"
ORDER_FAILED = "order.failed"
POSITION_RECONCILED = "position.reconciled"
POSITION_EXPIRED = "position.expired"
# control
EXECUTION_PAUSED = "execution.paused"
EXECUTION_RESUMED = "execution.resumed"
# inbox
WEBHOOK_RECEIVED = "webhook.received"
# reviews
REVIEW_RECORDED = "review.recorded"
# notifications
NOTIFICATION_DELIVERED = "notification.delivered"
NOTIFY_BASELINE = "notify.baseline"
