"""The execution settings: defaults, the mode rules, and one clear line naming the variable for every bad value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from autosig.config import ConfigError, load_settings


def test_defaults_are_a_dry_run_with_the_documented_caps():
    x = load_settings({}).execution
    assert (x.mode, x.broker, x.size, x.min_confidence, x.max_alert_age_seconds) == ("dry_run", "none", "usd:500", 0.8, 90)
    assert x.limits() == {"max_open_positions": 10, "max_trades_per_day": 20, "max_daily_usd": 5000.0,
                          "max_daily_loss_usd": 500.0}  # fmt: skip
    assert (x.max_trade_usd, x.max_contracts, x.min_option_price) == (Decimal(1000), 10, Decimal("0.10"))
    assert (x.slippage_pct_option, x.slippage_pct_stock, x.entry_timeout_seconds) == (Decimal(10), Decimal(3), 120)


def test_paper_needs_a_broker_and_refuses_a_live_host():
    keys = {"APCA_API_KEY_ID": "k", "APCA_API_SECRET_KEY": "s"}
    x = load_settings({"DRY_RUN": "false", "AUTOSIG_BROKER": "alpaca", **keys}).execution
    assert (x.mode, x.broker_url) == ("paper", "https://paper-api.alpaca.markets")
    x = load_settings({"DRY_RUN": "false", "AUTOSIG_BROKER": "tradier", "TRADIER_ACCESS_TOKEN": "t",
                       "TRADIER_ACCOUNT_ID": "VA1"}).execution  # fmt: skip
    assert x.broker_url == "https://sandbox.tradier.com/v1"
    with pytest.raises(ConfigError) as err:
        load_settings({"DRY_RUN": "false"})
    assert err.value.variable == "AUTOSIG_BROKER"
    with pytest.raises(ConfigError) as err:
        load_settings({"DRY_RUN": "false", "AUTOSIG_BROKER": "alpaca", "AUTOSIG_BROKER_URL": "https://api.alpaca.markets",
                       **keys})  # fmt: skip
    assert err.value.variable == "AUTOSIG_BROKER_URL" and "live endpoint" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_settings({"DRY_RUN": "false", "AUTOSIG_BROKER": "alpaca", "APCA_API_KEY_ID": "k"})
    assert err.value.variable == "APCA_API_SECRET_KEY"


def test_live_needs_the_live_host_and_explicit_consent():
    keys = {"APCA_API_KEY_ID": "k", "APCA_API_SECRET_KEY": "s"}
    base = {"DRY_RUN": "false", "LIVE_TRADING": "true", "AUTOSIG_BROKER": "alpaca", **keys}
    with pytest.raises(ConfigError) as err:
        load_settings(base)
    assert err.value.variable == "AUTOSIG_LIVE_ACCOUNT"
    consent = {"AUTOSIG_LIVE_ACCOUNT": "123", "AUTOSIG_SIZE": "fixed:1", "AUTOSIG_MAX_DAILY_USD": "500"}
    with pytest.raises(ConfigError) as err:
        load_settings({**base, **consent})
    assert err.value.variable == "AUTOSIG_MAX_DAILY_LOSS_USD"
    x = load_settings({**base, **consent, "AUTOSIG_MAX_DAILY_LOSS_USD": "100"}).execution
    assert (x.mode, x.broker_url) == ("live", "https://api.alpaca.markets")
    with pytest.raises(ConfigError) as err:
        load_settings({**base, **consent, "AUTOSIG_MAX_DAILY_LOSS_USD": "100",
                       "AUTOSIG_BROKER_URL": "https://paper-api.alpaca.markets"})  # fmt: skip
    assert err.value.variable == "AUTOSIG_BROKER_URL"
    with pytest.raises(ConfigError) as err:
        load_settings({"DRY_RUN": "false", "LIVE_TRADING": "true", "AUTOSIG_BROKER": "sim",
                       "AUTOSIG_BROKER_URL": "http://127.0.0.1:1"})  # fmt: skip
    assert err.value.variable == "LIVE_TRADING"


def test_dry_run_wins_over_live_trading():
    assert load_settings({"LIVE_TRADING": "true"}).execution.mode == "dry_run"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AUTOSIG_BROKER", "robinhood"),
        ("AUTOSIG_SIZE", "usd:"),
        ("AUTOSIG_SIZE", "half"),
        ("AUTOSIG_MAX_TRADE_USD", "-5"),
        ("AUTOSIG_MAX_CONTRACTS", "0"),
        ("AUTOSIG_MAX_OPEN_POSITIONS", "many"),
        ("AUTOSIG_MIN_CONFIDENCE", "1.5"),
        ("AUTOSIG_MAX_ALERT_AGE_SECONDS", "soon"),
        ("AUTOSIG_SLIPPAGE_PCT_OPTION", "x"),
        ("AUTOSIG_TRADE_ENTRIES", "maybe"),
        ("AUTOSIG_CLOSE_EXPIRING_AT", "3pm"),
        ("AUTOSIG_BROKER_URL", "ftp://broker"),
        ("AUTOSIG_BROKER_TIMEOUT_SECONDS", "40"),  # the lease is 90 s at the default poll interval
    ],
)
def test_every_bad_value_names_its_variable(variable, value):
    with pytest.raises(ConfigError) as err:
        load_settings({variable: value})
    assert err.value.variable == variable


def test_secrets_are_masked_in_the_settings_repr():
    x = load_settings({"APCA_API_KEY_ID": "key-123", "APCA_API_SECRET_KEY": "secret-456"}).execution
    assert "secret-456" not in repr(x) and "key-123" not in repr(x)
    assert set(x.secrets()) == {"key-123", "secret-456"}
