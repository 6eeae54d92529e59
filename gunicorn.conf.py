"""gunicorn settings the fixed start command cannot carry (docs/ARCHITECTURE.md, "Processes"):

    gunicorn --bind 0.0.0.0:$PORT --workers 2 --timeout 120 web:app

gunicorn reads this file from the working directory. Each worker process tails the event streams on its own threads,
started here after fork (threads do not survive a fork) — or lazily on the first request when run otherwise.
"""

import signal

# Threads, not processes, per connection: a live stream (SSE) holds one thread for as long as the page is open.
# 48 threads with at most 32 live streams per process (autosig.web.stream.MAX_STREAMS) leave 16 for requests.
worker_class = "gthread"
threads = 48
# gunicorn >= 25.1 opens a control socket under $XDG_RUNTIME_DIR or ~/.gunicorn by default; two servers on one
# machine fight over it, and nothing here uses it.
control_socket_disable = True
# Live streams end within a second of SIGTERM (see post_worker_init); ordinary requests take milliseconds.
graceful_timeout = 10
# Behind Railway's proxy connections are reused; keep them a little longer than the default 2 s.
keepalive = 5


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    app = worker.wsgi
    if not hasattr(app, "extensions") or "autosig" not in app.extensions:
        return
    from autosig.web import start_host
    from autosig.web.host import state

    start_host(app)
    host = state(app).host
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):  # noqa: ANN001, ANN202
        # End live streams promptly so the graceful shutdown does not wait graceful_timeout for them.
        host.stopping.set()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_term)
