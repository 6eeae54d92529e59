"""The pause switch (its routes are in autosig.web.orders): `POST /orders/pause` and `POST /orders/resume` append
`execution.paused` / `execution.resumed` to the `control` stream, which the executor reads before every decision and
every first send (the README, "Following signals into a broker account").

Form fields: `reason`, `cancel_entries` (pause only: also cancel working entries), `csrf_token`. Like reviews, a
switch needs DASHBOARD_PASSWORD (401 without it once set, refused while it is unset: nobody is identified by a
secret), a CSRF token bound to it (403 without a valid one) and a same-site request; and a store this process can
write (judged when the app is made): where it cannot, the page hides the switch and says why.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request

from autosig.config import Settings
from autosig.schema import CONTROL, Draft, execution_paused, execution_resumed
from autosig.web import forms, writes
from autosig.web.forms import Refused, check_same_origin
from autosig.web.host import WebState, wait_applied

EXTENSION = "autosig.control"
PURPOSE = "orders"
MAX_REASON = 500
NO_PASSWORD = (
    "Pause is disabled: DASHBOARD_PASSWORD is not set. The switch writes to the event log, so it needs a password "
    "even on this machine. Set DASHBOARD_PASSWORD in the web service's environment and sign in with it, or run "
    "`autosig pause` where the worker runs."
)
TRUE, FALSE = ("true", "on", "1", "yes"), ("", "false", "off", "0", "no")


def init_app(app: Flask, settings: Settings) -> None:
    """Judges once whether this process can write the `control` stream."""
    app.extensions[EXTENSION] = writes.unwritable_reason(settings, CONTROL)


def unwritable(app: Flask | None = None) -> str | None:
    """Why the switch is hidden ("the store cannot be written here"), or None."""
    reason = (app or current_app).extensions.get(EXTENSION)
    if reason is None:
        return None
    return (f"Pause is hidden: {reason}. The switch appends to the event log, which this web process cannot write; "
            "run `autosig pause` where the worker runs, or share a Postgres store between the services.")  # fmt: skip


def switch_state(st: WebState) -> dict[str, Any]:
    """What the page needs to show the switch: a token, or why it is not offered."""
    hidden = NO_PASSWORD if st.settings.dashboard_password is None else unwritable()
    return {"csrf": None if hidden else forms.csrf_token(st, PURPOSE), "hidden": hidden}


def _checked(st: WebState) -> str:
    """The reason given, once the request may switch; raises Refused otherwise."""
    check_same_origin()
    forms.check_csrf(st, PURPOSE, request.form.get("csrf_token"), "orders page", NO_PASSWORD)
    hidden = unwritable()
    if hidden is not None:
        raise Refused(hidden, 503)
    reason = request.form.get("reason", "").strip()
    if len(reason) > MAX_REASON:
        raise Refused(f"reason is longer than {MAX_REASON} characters", 400)
    return reason


def pause_request(st: WebState) -> Draft:
    """The execution.paused this POST asks for; raises Refused unless it may."""
    reason = _checked(st)
    cancel = request.form.get("cancel_entries", "").strip().lower()
    if cancel not in TRUE + FALSE:
        raise Refused("cancel_entries must be true or false", 400)
    return execution_paused(by="dashboard", reason=reason, cancel_entries=cancel in TRUE)


def resume_request(st: WebState) -> Draft:
    """The execution.resumed this POST asks for; raises Refused unless it may."""
    return execution_resumed(by="dashboard", reason=_checked(st))


def switch(st: WebState, draft: Draft) -> int:
    """Appends the switch to `control` and waits until this process shows it; returns its seq."""
    (event,) = writes.append(st, CONTROL, [draft])
    wait_applied(st, CONTROL, event.seq)
    return event.seq
