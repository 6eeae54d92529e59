"""Human logs: stdout and a rotating app.log, with secrets masked even when they slip into a message."""

from __future__ import annotations

import logging

import pytest

from autosig.logs import LOGGER_NAME, redact, setup_logging


@pytest.fixture(autouse=True)
def _restore_logging():
    yield
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True


def test_logs_go_to_stdout_and_app_log_with_secrets_masked(tmp_path, capsys):
    logger = setup_logging(tmp_path, secrets=["s3cr3t-token-value"])
    log = logging.getLogger("autosig.worker")
    log.info("Fetching alerts...")
    log.error("header was Authorization: Bearer s3cr3t-token-value and Bearer other-token-123")
    try:
        raise ValueError("boom s3cr3t-token-value")
    except ValueError:
        log.exception("failed")
    for handler in logger.handlers:
        handler.flush()
    out = capsys.readouterr().out
    text = (tmp_path / "app.log").read_text()
    for where in (out, text):
        assert "Fetching alerts..." in where and " INFO autosig.worker: " in where
        assert "s3cr3t-token-value" not in where and "other-token-123" not in where
        assert "Bearer ***" in where
    assert redact("x s3cr3t-token-value y") == "x *** y"


def test_unwritable_log_dir_falls_back_to_stdout(tmp_path, capsys):
    target = tmp_path / "file-not-dir"
    target.write_text("")
    setup_logging(target)
    logging.getLogger("autosig.worker").info("still logging")
    captured = capsys.readouterr()
    assert "still logging" in captured.out and "logging to stdout only" in captured.err
