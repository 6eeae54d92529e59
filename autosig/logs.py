"""Human logs: stdout plus a rotating `app.log` in the log directory, with secrets masked everywhere.

Every line passes through `redact`, which masks registered secret values and anything after `Bearer`, so a token
that slips into a message or a traceback still never reaches a terminal or a file.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

LOGGER_NAME = "autosig"
APP_LOG = "app.log"
_MAX_BYTES = 5 * 1024 * 1024
_BACKUPS = 5
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\"]+")
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def add_secret(value: str | None) -> None:
    """Registers a value that must never appear in any log line (very short values would mask ordinary text)."""
    if value and len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return _BEARER.sub(r"\1***", text)


class _RedactingFormatter(logging.Formatter):
    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - stdlib name
        return time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created)) + f".{int(record.msecs):03d}Z"


class _QuietFileHandler(logging.handlers.RotatingFileHandler):
    """A log file that cannot be written (disk full) must not stop the worker or flood stderr with tracebacks."""

    _warned = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - stdlib name
        if not self._warned:
            self._warned = True
            exc = sys.exc_info()[1]
            detail = type(exc).__name__ if exc is not None else "error"
            print(f"autosig: cannot write {self.baseFilename} ({detail}); logging to stdout only", file=sys.stderr)


def setup_logging(
    log_dir: Path | None, *, secrets: Iterable[str | None] = (), level: int = logging.INFO
) -> logging.Logger:
    """Configures the `autosig` logger: stdout always, `<log_dir>/app.log` (rotating) when the directory is usable."""
    for secret in secrets:
        add_secret(secret)
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(level)
    logger.propagate = False
    formatter = _RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stdout = logging.StreamHandler(sys.stdout)
    stdout.setFormatter(formatter)
    logger.addHandler(stdout)
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            file_handler = _QuietFileHandler(
                log_dir / APP_LOG, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8"
            )
        except OSError as exc:
            print(
                f"autosig: cannot open {log_dir / APP_LOG} ({type(exc).__name__}); logging to stdout only",
                file=sys.stderr,
            )
        else:
            file_handler.setFormatter(formatter)
            logger.addHandler(file_handler)
    return logger


def say(message: str) -> None:
    """One line on stderr (problems an operator must see even when stdout goes nowhere), redacted."""
    try:
        print(redact(message), file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
