"""`autosig execute`: the execute stage alone, for whoever runs it as a service of its own (then set
AUTOSIG_EXECUTE_IN_WORKER=false on the worker). Stops on SIGTERM/SIGINT after the request in flight."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from autosig.commands._store import add_store_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store_argument(parser)


def run(args: argparse.Namespace) -> int:
    from autosig.events import open_store
    from autosig.executor import ConsentRefused, Executor
    from autosig.logs import setup_logging
    from autosig.startup import settings_or_exit

    settings = settings_or_exit()
    url = args.store or settings.store_url
    setup_logging(settings.log_dir, secrets=settings.execution.secrets())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def store():  # noqa: ANN202 - a factory of the store the executor reopens after a failure
        return open_store(url, writer="executor", fsync=settings.fsync, tail_poll_seconds=settings.tail_poll_seconds)

    executor = Executor(settings, store, stop=stop)
    try:
        executor.check_at_start()
    except ConsentRefused as exc:
        print(f"autosig: invalid configuration: live trading refused: {exc}", file=sys.stderr)
        return 2
    return executor.run()
