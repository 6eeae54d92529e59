"""Shared fixtures. Tests that need Postgres or Chromium skip with a reason on a machine without them; CI sets
AUTOSIG_REQUIRE_PG=1 / AUTOSIG_REQUIRE_BROWSER=1 so that a missing part fails instead of skipping (and
AUTOSIG_REQUIRE_NETNS=1 for the network-namespace fixture in tests/netns.py)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def skip_or_fail(require_var: str, reason: str) -> None:
    if os.environ.get(require_var) == "1":
        pytest.fail(f"{reason} (required because {require_var}=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_url() -> str:
    url = os.environ.get("AUTOSIG_TEST_DATABASE_URL")
    if not url:
        skip_or_fail("AUTOSIG_REQUIRE_PG", "Postgres tests need AUTOSIG_TEST_DATABASE_URL")
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5):
            pass
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        skip_or_fail("AUTOSIG_REQUIRE_PG", f"Postgres at AUTOSIG_TEST_DATABASE_URL is not reachable: {exc}")
    return url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("AUTOSIG_CHROMIUM") or shutil.which("chromium")
    if not path:
        skip_or_fail("AUTOSIG_REQUIRE_BROWSER", "browser tests need Debian's chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("AUTOSIG_REQUIRE_BROWSER", "browser tests need the playwright package")
    return path


# Debian's chromium as root on a machine without network: no sandbox, no background connections.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    """One Chromium for the whole session: Playwright's sync API allows one running instance per thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d


@pytest.fixture(autouse=True)
def _no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    # Subprocesses started by tests inherit this; durability itself is tested explicitly where it matters.
    monkeypatch.setenv("AUTOSIG_FSYNC", os.environ.get("AUTOSIG_FSYNC", "never"))
