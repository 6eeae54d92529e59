"""The execution settings (the README's "Trading with AutoSig"): the mode, the broker, sizing, caps and gates, read
once with the rest of the configuration and validated at start. A leaf, like autosig.config, which embeds these.

The mode follows from DRY_RUN, LIVE_TRADING and AUTOSIG_BROKER:

    DRY_RUN=true (default)                      dry_run   every decision recorded as a final plan; nothing is sent
    DRY_RUN=false, LIVE_TRADING=false, broker   paper     the broker's paper / sandbox endpoint only
    DRY_RUN=false, LIVE_TRADING=true, broker    live      the live endpoint, with the live consent checked at start

Anything else stops the process at start with one line naming the variable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from autosig.redact import Secret

BROKERS = ("none", "alpaca", "tradier", "sim")
PAPER_URLS = {"alpaca": "https://paper-api.alpaca.markets", "tradier": "https://sandbox.tradier.com/v1"}
LIVE_URLS = {"alpaca": "https://api.alpaca.markets", "tradier": "https://api.tradier.com/v1"}
LIVE_HOSTS = {"alpaca": "api.alpaca.markets", "tradier": "api.tradier.com"}
ALPACA_DATA_URL = "https://data.alpaca.markets"
_SIZE = re.compile(r"^(alert|fixed:\d+|usd:\d+(\.\d+)?|pct:\d+(\.\d+)?)$")
_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ExecutionConfigError(ValueError):
    """Raised by load_execution; autosig.config turns it into its ConfigError (same variable, same words)."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class ExecutionSettings:
    mode: str = "dry_run"  # dry_run | paper | live
    broker: str = "none"
    broker_url: str | None = None  # the trading base URL (Alpaca: host root; Tradier: including /v1)
    broker_data_url: str | None = None  # Alpaca's market data host
    alpaca_key_id: Secret | None = None
    alpaca_secret_key: Secret | None = None
    tradier_token: Secret | None = None
    tradier_account: str | None = None
    live_account: str | None = None  # AUTOSIG_LIVE_ACCOUNT: the account number typed as consent
    in_worker: bool = True
    size: str = "usd:500"
    max_trade_usd: Decimal = Decimal(1000)
    max_contracts: int = 10
    max_open_positions: int = 10
    max_trades_per_day: int = 20
    max_daily_usd: Decimal = Decimal(5000)
    max_daily_loss_usd: Decimal = Decimal(500)
    min_confidence: float = 0.8
    max_alert_age_seconds: float = 90.0
    max_quote_age_seconds: float = 5.0
    min_option_price: Decimal = Decimal("0.10")
    slippage_pct_option: Decimal = Decimal(10)
    slippage_pct_stock: Decimal = Decimal(3)
    entry_timeout_seconds: float = 120.0
    trade_entries: bool = True
    trade_exits: bool = True
    tickers_allow: frozenset[str] = field(default_factory=frozenset)
    tickers_deny: frozenset[str] = field(default_factory=frozenset)
    settle_seconds: float = 0.0
    close_expiring_at: str | None = None  # "HH:MM" New York time
    broker_timeout_seconds: float = 8.0  # every broker request; under a third of the executor's lease
    explicit: frozenset[str] = field(default_factory=frozenset)  # the variables set in the environment

    @property
    def sends(self) -> bool:
        return self.mode != "dry_run"

    def secrets(self) -> list[str]:
        """Every secret these settings hold, for masking in logs."""
        return [s.reveal() for s in (self.alpaca_key_id, self.alpaca_secret_key, self.tradier_token) if s]

    def limits(self) -> dict[str, float]:
        return {
            "max_open_positions": self.max_open_positions,
            "max_trades_per_day": self.max_trades_per_day,
            "max_daily_usd": float(self.max_daily_usd),
            "max_daily_loss_usd": float(self.max_daily_loss_usd),
        }


def _text(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    return raw.strip() if raw and raw.strip() else None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _text(env, name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ExecutionConfigError(name, f"{raw!r} is not a boolean; use true/false, 1/0 or yes/no")


def _decimal(env: Mapping[str, str], name: str, default: Decimal, *, positive: bool = True) -> Decimal:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ExecutionConfigError(name, f"{raw!r} is not a number") from None
    if not value.is_finite() or value < 0 or (positive and value == 0):
        raise ExecutionConfigError(name, f"{raw!r} must be a {'positive' if positive else 'non-negative'} number")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float, *, allow_zero: bool = False) -> float:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ExecutionConfigError(name, f"{raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ExecutionConfigError(name, f"{raw!r} must be a positive number of seconds")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ExecutionConfigError(name, f"{raw!r} is not a whole number of at least 1")
    return int(raw)


def _tickers(env: Mapping[str, str], name: str) -> frozenset[str]:
    raw = _text(env, name) or ""
    return frozenset(t.strip().upper().lstrip("$/") for t in raw.replace(",", " ").split() if t.strip())


def _url(env: Mapping[str, str], name: str) -> str | None:
    raw = _text(env, name)
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ExecutionConfigError(name, "is not an http(s) URL")
    return raw.rstrip("/")


def load_execution(env: Mapping[str, str], *, dry_run: bool, live_trading: bool) -> ExecutionSettings:
    """The execution settings; raises ExecutionConfigError naming the first invalid variable."""
    broker = (_text(env, "AUTOSIG_BROKER") or "none").lower()
    if broker not in BROKERS:
        raise ExecutionConfigError("AUTOSIG_BROKER", f"{broker!r} is not one of {', '.join(BROKERS)}")
    if dry_run:
        mode = "dry_run"
    elif broker == "none":
        raise ExecutionConfigError("AUTOSIG_BROKER", "DRY_RUN=false needs a broker: set alpaca, tradier or sim")
    elif live_trading and broker == "sim":
        raise ExecutionConfigError("LIVE_TRADING", "the broker simulator has no live account; use LIVE_TRADING=false")
    else:
        mode = "live" if live_trading else "paper"
    broker_url = _url(env, "AUTOSIG_BROKER_URL")
    if broker_url is None and broker in PAPER_URLS:
        broker_url = LIVE_URLS[broker] if mode == "live" else PAPER_URLS[broker]
    if broker == "sim" and broker_url is None and mode != "dry_run":
        raise ExecutionConfigError("AUTOSIG_BROKER_URL", "the broker simulator's URL is needed with AUTOSIG_BROKER=sim")
    host = urlsplit(broker_url).hostname if broker_url else None
    if mode == "paper" and broker in LIVE_HOSTS and host == LIVE_HOSTS[broker]:
        raise ExecutionConfigError("AUTOSIG_BROKER_URL", f"{broker_url} is the live endpoint; paper trading refuses it")
    if mode == "live" and host != LIVE_HOSTS.get(broker):
        raise ExecutionConfigError("AUTOSIG_BROKER_URL", "LIVE_TRADING=true requires the broker's live host "
                                   f"({LIVE_URLS[broker]})")  # fmt: skip
    size = (_text(env, "AUTOSIG_SIZE") or "usd:500").lower()
    if not _SIZE.match(size) or size in ("fixed:0", "usd:0", "pct:0"):
        raise ExecutionConfigError("AUTOSIG_SIZE", f"{size!r} is not alert, fixed:N, usd:X or pct:X")
    close_at = _text(env, "AUTOSIG_CLOSE_EXPIRING_AT")
    if close_at is not None and not _CLOCK_TIME.match(close_at):
        raise ExecutionConfigError("AUTOSIG_CLOSE_EXPIRING_AT", f"{close_at!r} is not a New York time as HH:MM")
    confidence_text = _text(env, "AUTOSIG_MIN_CONFIDENCE")
    confidence = 0.8
    if confidence_text is not None:
        try:
            confidence = float(confidence_text)
        except ValueError:
            raise ExecutionConfigError("AUTOSIG_MIN_CONFIDENCE", f"{confidence_text!r} is not a number") from None
        if not 0 <= confidence <= 1:
            raise ExecutionConfigError("AUTOSIG_MIN_CONFIDENCE", "must be between 0 and 1")
    key_id, secret_key = _secret(env, "APCA_API_KEY_ID"), _secret(env, "APCA_API_SECRET_KEY")
    token, account = _secret(env, "TRADIER_ACCESS_TOKEN"), _text(env, "TRADIER_ACCOUNT_ID")
    if mode != "dry_run" and broker == "alpaca" and not (key_id and secret_key):
        missing = "APCA_API_KEY_ID" if not key_id else "APCA_API_SECRET_KEY"
        raise ExecutionConfigError(missing, "is not set; Alpaca needs both API keys to trade")
    if mode != "dry_run" and broker == "tradier" and not (token and account):
        missing = "TRADIER_ACCESS_TOKEN" if not token else "TRADIER_ACCOUNT_ID"
        raise ExecutionConfigError(missing, "is not set; Tradier needs the access token and the account id to trade")
    explicit = frozenset(k for k in env if k.startswith("AUTOSIG_") and _text(env, k) is not None)
    settings = ExecutionSettings(
        mode=mode,
        broker=broker,
        broker_url=broker_url,
        broker_data_url=_url(env, "AUTOSIG_BROKER_DATA_URL") or (ALPACA_DATA_URL if broker == "alpaca" else None),
        alpaca_key_id=key_id,
        alpaca_secret_key=secret_key,
        tradier_token=token,
        tradier_account=account,
        live_account=_text(env, "AUTOSIG_LIVE_ACCOUNT"),
        in_worker=_flag(env, "AUTOSIG_EXECUTE_IN_WORKER", True),
        size=size,
        max_trade_usd=_decimal(env, "AUTOSIG_MAX_TRADE_USD", Decimal(1000)),
        max_contracts=_count(env, "AUTOSIG_MAX_CONTRACTS", 10),
        max_open_positions=_count(env, "AUTOSIG_MAX_OPEN_POSITIONS", 10),
        max_trades_per_day=_count(env, "AUTOSIG_MAX_TRADES_PER_DAY", 20),
        max_daily_usd=_decimal(env, "AUTOSIG_MAX_DAILY_USD", Decimal(5000)),
        max_daily_loss_usd=_decimal(env, "AUTOSIG_MAX_DAILY_LOSS_USD", Decimal(500)),
        min_confidence=confidence,
        max_alert_age_seconds=_seconds(env, "AUTOSIG_MAX_ALERT_AGE_SECONDS", 90.0),
        max_quote_age_seconds=_seconds(env, "AUTOSIG_MAX_QUOTE_AGE_SECONDS", 5.0),
        min_option_price=_decimal(env, "AUTOSIG_MIN_OPTION_PRICE", Decimal("0.10"), positive=False),
        slippage_pct_option=_decimal(env, "AUTOSIG_SLIPPAGE_PCT_OPTION", Decimal(10), positive=False),
        slippage_pct_stock=_decimal(env, "AUTOSIG_SLIPPAGE_PCT_STOCK", Decimal(3), positive=False),
        entry_timeout_seconds=_seconds(env, "AUTOSIG_ENTRY_TIMEOUT_SECONDS", 120.0),
        trade_entries=_flag(env, "AUTOSIG_TRADE_ENTRIES", True),
        trade_exits=_flag(env, "AUTOSIG_TRADE_EXITS", True),
        tickers_allow=_tickers(env, "AUTOSIG_TICKERS_ALLOW"),
        tickers_deny=_tickers(env, "AUTOSIG_TICKERS_DENY"),
        settle_seconds=_seconds(env, "AUTOSIG_SETTLE_SECONDS", 0.0, allow_zero=True),
        close_expiring_at=close_at,
        broker_timeout_seconds=_seconds(env, "AUTOSIG_BROKER_TIMEOUT_SECONDS", 8.0),
        explicit=explicit,
    )
    if mode == "live":
        for name in ("AUTOSIG_LIVE_ACCOUNT", "AUTOSIG_SIZE", "AUTOSIG_MAX_DAILY_USD", "AUTOSIG_MAX_DAILY_LOSS_USD"):
            if name not in explicit:
                raise ExecutionConfigError(name, "must be set explicitly to trade real money (LIVE_TRADING=true)")
    return settings


def _secret(env: Mapping[str, str], name: str) -> Secret | None:
    raw = _text(env, name)
    return Secret(raw) if raw else None
