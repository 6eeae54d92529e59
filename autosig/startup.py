"""What every entry point does first: read the configuration (one line and exit 2 when it is invalid) and register
the parsers it names, so that a bad AUTOSIG_PARSER_VERSION or AUTOSIG_EXTRA_PARSERS stops the process at start."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from autosig import parsing
from autosig.config import ConfigError, Settings, load_settings


def settings_or_exit(env: Mapping[str, str] | None = None, *, require_source: bool = False) -> Settings:
    try:
        return checked_settings(env, require_source=require_source)
    except ConfigError as exc:
        print(f"autosig: invalid configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def checked_settings(env: Mapping[str, str] | None = None, *, require_source: bool = False) -> Settings:
    """load_settings, plus the checks that need the parsers; raises ConfigError."""
    settings = load_settings(env)
    if require_source:
        settings.require_source()
    try:
        parsing.register(settings.extra_parsers)
    except (ImportError, ValueError) as exc:
        raise ConfigError("AUTOSIG_EXTRA_PARSERS", f"cannot register a parser: {exc}") from None
    version = settings.parser_version
    if version is not None and version not in parsing.versions():
        raise ConfigError("AUTOSIG_PARSER_VERSION", f"{version!r} is not one of {', '.join(parsing.versions())}")
    return settings


def active_version(settings: Settings) -> str:
    return parsing.active_version(settings.parser_version)
