"""The web service: a Flask app factory (docs/ARCHITECTURE.md, "Processes"; the README, "The dashboard and web API").

    app = create_app()                      # settings from the environment
    app = create_app(settings, clock=clock) # tests

Creating the app starts nothing: the per-process host begins tailing on the first request or from gunicorn's
post_worker_init hook (gunicorn.conf.py), so `--preload` and forking servers are safe.
"""

from __future__ import annotations

from flask import Flask

from autosig.clock import Clock
from autosig.config import Settings
from autosig.notify import web as notify_web
from autosig.startup import settings_or_exit
from autosig.web import api, auth, control, dashboard, health, ledger, metrics, orders, reviews, stream, webhooks
from autosig.web.host import EXTENSION, WebState, build_host, state


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, window: int | None = None) -> Flask:
    settings = settings or settings_or_exit()
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    app.extensions[EXTENSION] = WebState(settings, build_host(settings, window=window), clock or Clock())
    notify_web.init_app(app, settings, app.extensions[EXTENSION].clock)  # stall alarms (autosig.notify)
    auth.init_app(app)
    control.init_app(app, settings)  # can this process write the pause switch?
    for module in (health, api, stream, metrics, dashboard, ledger, reviews, orders, webhooks):
        app.register_blueprint(module.bp)
    return app


def start_host(app: Flask) -> None:
    """Starts tailing in this process (gunicorn's post_worker_init calls it after fork)."""
    state(app).host.start()
    notify_web.start(app)  # stall alarms: one sender thread per process, only the elected one sends


def stop_host(app: Flask) -> None:
    notify_web.stop(app)  # stall alarms
    state(app).host.stop()


__all__ = ["create_app", "start_host", "stop_host"]
