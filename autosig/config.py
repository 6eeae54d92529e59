"""Every setting AutoSig reads, taken from the environment once and validated (the README's "Configuration").

An invalid value raises ConfigError naming the variable; processes turn it into one line on stderr and exit 2
(see autosig.startup). Secrets are wrapped in `Secret`, whose repr never shows the value. A leaf: nothing else in
AutoSig reads the environment, and this module imports nothing of AutoSig but the other leaves.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from autosig.config_execution import ExecutionConfigError, ExecutionSettings, load_execution
from autosig.redact import Secret, redact_url

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class ConfigError(ValueError):
    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    whop_alerts_urls: tuple[str, ...] = ()
    whop_access_token: Secret | None = None
    poll_interval_seconds: float = 30.0
    dry_run: bool = True
    live_trading: bool = False
    log_dir: Path = Path("logs")
    store_url: str = "file:logs"
    fsync: bool = True
    parser_version: str | None = None  # None: the newest registered
    stale_after_seconds: float = 90.0
    tail_poll_seconds: float = 0.5
    max_backfill_pages: int = 50
    dashboard_password: Secret | None = None
    port: int | None = None
    authors: frozenset[str] = field(default_factory=frozenset)
    notify_url: str | None = None
    notify_signals: bool = False  # AUTOSIG_NOTIFY_SIGNALS: also push one message per new signal
    whop_timeout_seconds: float = 30.0  # read timeout of each Whop request (connect: the smaller of 10 s and this)
    extra_parsers: tuple[str, ...] = ()  # AUTOSIG_EXTRA_PARSERS: more parser modules to register
    execution: ExecutionSettings = field(default_factory=ExecutionSettings)  # the executor's (config_execution)
    # --- Whop sign-in and webhooks (see the README: "Whop sign-in" and "Webhooks") ---
    whop_webhook_secret: Secret | None = None  # WHOP_WEBHOOK_SECRET: enables POST /webhooks/whop on the web
    whop_client_id: str | None = None  # WHOP_CLIENT_ID: an OAuth grant (autosig whop-login) instead of a fixed token
    whop_client_secret: Secret | None = None  # WHOP_CLIENT_SECRET: only for apps that have one

    def require_source(self) -> None:
        """The worker needs a source; the web does not."""
        if not self.whop_alerts_urls:
            raise ConfigError("WHOP_ALERTS_URL", "is not set; give the Whop listing URL, e.g. "
                              "https://api.whop.com/api/v1/messages?channel_id=chat_feed_XXXX")  # fmt: skip

    @property
    def lease_seconds(self) -> float:
        """How long the worker's (and the executor's) lease lasts unless renewed: 3 poll intervals, at least 30 s, so
        a redeploy's new worker takes over soon after the old one vanished, never while it still polls."""
        return max(30.0, 3 * self.poll_interval_seconds)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(name, f"{raw!r} is not a boolean; use true/false, 1/0 or yes/no")


def _number(env: Mapping[str, str], name: str, default: float | None, *, minimum: float = 0.0) -> float | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a number; give a positive number of seconds") from None
    if not math.isfinite(value) or value <= minimum:
        raise ConfigError(name, f"{raw!r} must be a finite number greater than {minimum:g}")
    return value


def _int(env: Mapping[str, str], name: str, default: int | None, *, minimum: int, maximum: int) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise ConfigError(name, f"{value} is out of range ({minimum} to {maximum})")
    return value


def _urls(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("WHOP_ALERTS_URL", "")
    urls = tuple(raw.split())
    for url in urls:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            raise ConfigError("WHOP_ALERTS_URL", f"{redact_url(url)!r} is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError("WHOP_ALERTS_URL", f"{redact_url(url)!r} is not an http(s) URL")
    return urls


def _secret(env: Mapping[str, str], name: str) -> Secret | None:
    raw = env.get(name)
    return Secret(raw) if raw else None


def _whop_sign_in(env: Mapping[str, str]) -> dict[str, object]:
    """WHOP_WEBHOOK_SECRET, WHOP_CLIENT_ID and WHOP_CLIENT_SECRET, as Settings fields."""
    webhook = env.get("WHOP_WEBHOOK_SECRET") or ""
    if webhook and (webhook != webhook.strip() or not webhook.strip()):
        raise ConfigError("WHOP_WEBHOOK_SECRET", "has leading or trailing spaces; paste the secret exactly as Whop shows it")
    client_id = (env.get("WHOP_CLIENT_ID") or "").strip() or None
    if client_id is not None and (len(client_id) > 200 or not client_id.isprintable() or " " in client_id):
        raise ConfigError("WHOP_CLIENT_ID", "is not a Whop app id (it looks like app_xxxxx)")
    client_secret = _secret(env, "WHOP_CLIENT_SECRET")
    if client_secret is not None and client_id is None:
        raise ConfigError("WHOP_CLIENT_SECRET", "is set without WHOP_CLIENT_ID; set both (or neither)")
    return {
        "whop_webhook_secret": Secret(webhook) if webhook else None,
        "whop_client_id": client_id,
        "whop_client_secret": client_secret,
    }


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Reads and validates every variable of the README's "Configuration"; raises ConfigError on the first invalid one."""
    env = os.environ if env is None else env
    poll = _number(env, "POLL_INTERVAL_SECONDS", 30.0)
    assert poll is not None
    log_dir = Path(env.get("AUTOSIG_LOG_DIR") or "logs")
    store_url = env.get("AUTOSIG_STORE_URL") or f"file:{log_dir}"
    if not store_url.startswith(("file:", "postgresql://", "postgres://")):
        raise ConfigError("AUTOSIG_STORE_URL", "must be file:DIR or postgresql://… (postgres:// also accepted)")
    fsync = (env.get("AUTOSIG_FSYNC") or "always").strip().lower()
    if fsync not in ("always", "never"):
        raise ConfigError("AUTOSIG_FSYNC", f"{fsync!r} is not allowed; use always or never")
    # Checked against the registered versions by the entry points (autosig.startup), which know the parsers.
    parser_version = (env.get("AUTOSIG_PARSER_VERSION") or "").strip() or None
    if parser_version is not None and not parser_version.isdigit():
        raise ConfigError("AUTOSIG_PARSER_VERSION", f"{parser_version!r} is not a parser version (a whole number)")
    port = _int(env, "PORT", None, minimum=1, maximum=65535)
    notify = (env.get("AUTOSIG_NOTIFY_URL") or "").strip() or None
    if notify is not None and urlsplit(notify).scheme not in ("http", "https"):
        raise ConfigError("AUTOSIG_NOTIFY_URL", "is not an http(s) URL")
    stale = _number(env, "AUTOSIG_STALE_AFTER_SECONDS", 3 * poll)
    tail_poll = _number(env, "AUTOSIG_TAIL_POLL_SECONDS", 0.5)
    backfill = _int(env, "WHOP_MAX_BACKFILL_PAGES", 50, minimum=1, maximum=100_000)
    assert stale is not None and tail_poll is not None and backfill is not None
    return Settings(
        whop_alerts_urls=_urls(env),
        whop_access_token=_secret(env, "WHOP_ACCESS_TOKEN"),
        poll_interval_seconds=poll,
        dry_run=_bool(env, "DRY_RUN", True),
        live_trading=_bool(env, "LIVE_TRADING", False),
        log_dir=log_dir,
        store_url=store_url,
        fsync=fsync == "always",
        parser_version=parser_version,
        stale_after_seconds=stale,
        tail_poll_seconds=tail_poll,
        max_backfill_pages=backfill,
        dashboard_password=_secret(env, "DASHBOARD_PASSWORD"),
        port=port,
        authors=frozenset(a.strip().lower() for a in (env.get("AUTOSIG_AUTHORS") or "").replace(",", " ").split()),
        notify_url=notify,
        notify_signals=_bool(env, "AUTOSIG_NOTIFY_SIGNALS", False),
        whop_timeout_seconds=_timeout(env, "WHOP_TIMEOUT_SECONDS", 30.0),
        extra_parsers=tuple((env.get("AUTOSIG_EXTRA_PARSERS") or "").replace(",", " ").split()),
        execution=_execution(env, poll),
        **_whop_sign_in(env),  # type: ignore[arg-type]
    )


def _execution(env: Mapping[str, str], poll: float) -> ExecutionSettings:
    try:
        execution = load_execution(env, dry_run=_bool(env, "DRY_RUN", True),
                                   live_trading=_bool(env, "LIVE_TRADING", False))  # fmt: skip
    except ExecutionConfigError as exc:
        raise ConfigError(exc.variable, exc.problem) from None
    lease = max(30.0, 3 * poll)
    if execution.broker_timeout_seconds * 3 >= lease:
        # The executor confirms its lease with twice this left before every send: it must fit well inside the lease.
        raise ConfigError("AUTOSIG_BROKER_TIMEOUT_SECONDS", f"must be under a third of the lease ({lease:g} s)")
    return execution


def _timeout(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a number of seconds") from None
    if not (0 < value <= 600):
        raise ConfigError(name, f"{raw!r} must be between 0 and 600 seconds")
    return value
