"""The one-line verdict the dashboard shows in its banner, derived from a status snapshot.

Green only while the last successful poll is fresh and nothing is wrong; amber while fresh but failing (or a gap was
detected, or the first poll is still due); red once stale. `since` is an RFC 3339 time the page shows in the
viewer's zone ("Whop rejects the token since 14:02").
"""

from __future__ import annotations

from typing import Any

from autosig.projections.ingestion import epoch

REASONS = {
    "auth": "Whop rejects the token",
    "rate_limited": "Whop is rate-limiting the worker",
    "http_5xx": "Whop is failing (HTTP {status})",
    "http_4xx": "Whop refuses the request (HTTP {status})",
    "timeout": "Whop does not answer in time",
    "network": "Whop cannot be reached",
    "bad_response": "Whop answers with something that is not alert JSON (a login page?)",
    "store": "The event store refuses writes (disk full or database down)",
}


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    s = int(seconds)
    if s < 90:
        return f"{s} s"
    if s < 90 * 60:
        return f"{round(s / 60)} min"
    if s < 48 * 3600:
        h, m = divmod(round(s / 60), 60)
        return f"{h} h {m} min" if m else f"{h} h"
    return f"{round(s / 86400)} d"


# What the Whop client says when an OAuth sign-in can no longer be renewed: the headline then says what to do.
SIGN_IN_EXPIRED = "Whop sign-in expired — run autosig whop-login"


def reason_text(error: dict[str, Any] | None) -> str:
    if not error:
        return "Polls fail"
    if error.get("reason") == "auth" and SIGN_IN_EXPIRED in str(error.get("detail") or ""):
        return SIGN_IN_EXPIRED
    template = REASONS.get(str(error.get("reason")), "Polls fail ({reason})")
    return template.format(status=error.get("http_status") or "?", reason=error.get("reason"))


def banner(status: dict[str, Any], now: float) -> dict[str, Any]:
    worker = status["worker"]
    lag = status["lag"]
    stale = status["stale"]
    stale_after = worker.get("stale_after_seconds")
    fresh_for = f"stale after {human_duration(stale_after)} without a successful poll"
    success_age = lag["success_age_seconds"]
    failing = worker["consecutive_failures"] > 0
    error = worker["last_error"]

    def verdict(level: str, headline: str, since: str | None, detail: str) -> dict[str, Any]:
        return {"level": level, "headline": headline, "since": since, "detail": detail}

    if worker["last_poll_at"] is None:
        started = worker.get("started_at")
        if started is None:
            return verdict(
                "red",
                "Worker has never polled",
                None,
                "The worker stream is empty: start the worker (python main.py) on the same event store.",
            )
        started_age = now - (epoch(started) or now)
        if not stale or started_age <= (stale_after or 0):
            return verdict("amber", "Waiting for the worker's first poll", started, "The worker started; " + fresh_for)
        return verdict("red", "Worker has never polled", started, "The worker started but recorded no poll.")

    if stale:
        if failing:
            return verdict(
                "red",
                reason_text(error),
                worker["failing_since"],
                f"{worker['consecutive_failures']} failed polls in a row; last successful poll "
                f"{human_duration(success_age)} ago" + (f" — {error['detail']}" if error and error.get("detail") else ""),
            )
        if worker.get("stopped_at"):
            return verdict("red", "Worker stopped", worker["stopped_at"], "No poll since the worker stopped.")
        if success_age is None:
            return verdict("red", "No successful poll yet", worker["last_poll_at"], fresh_for)
        return verdict(
            "red",
            f"No poll for {human_duration(lag['poll_age_seconds'])}",
            worker["last_success_at"],
            "The worker may be hung or dead; " + fresh_for,
        )
    if failing:
        return verdict(
            "amber",
            reason_text(error),
            worker["failing_since"],
            f"Last successful poll {human_duration(success_age)} ago; {fresh_for}"
            + (f" — {error['detail']}" if error and error.get("detail") else ""),
        )
    if worker.get("stopped_at"):
        return verdict(
            "amber", "Worker stopped", worker["stopped_at"], f"Data is still fresh; it turns stale after {human_duration(stale_after)}."
        )
    if worker.get("last_poll_gap"):
        return verdict(
            "amber",
            "Gap: alerts may be missing",
            worker.get("last_gap_at"),
            "The last poll reached WHOP_MAX_BACKFILL_PAGES without meeting a known message.",
        )
    return verdict(
        "green",
        f"Ingesting — last successful poll {human_duration(success_age)} ago",
        None,
        f"Polling every {human_duration(worker.get('poll_interval_seconds'))}; {fresh_for}.",
    )
