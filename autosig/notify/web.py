"""Starting and stopping the notification sender in a web process (only when AUTOSIG_NOTIFY_URL is set). Like the
host's tailing threads, it starts after fork (gunicorn's post_worker_init) or on the first request, never at import."""

from __future__ import annotations

from flask import Flask

from autosig.clock import Clock
from autosig.config import Settings
from autosig.notify.sender import Sender

EXTENSION = "autosig.notify"


def init_app(app: Flask, settings: Settings, clock: Clock) -> None:
    app.extensions[EXTENSION] = Sender(settings, clock=clock) if settings.notify_url else None


def start(app: Flask) -> None:
    sender = app.extensions.get(EXTENSION)
    if sender is not None:
        sender.start()


def stop(app: Flask) -> None:
    sender = app.extensions.get(EXTENSION)
    if sender is not None:
        sender.stop()
