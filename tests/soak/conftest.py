"""The soak: `--soak-full` selects the long form (`make soak`); without it the same code runs small inside `make test`."""

from __future__ import annotations

import pytest

FULL_TIMEOUT_S = 3 * 3600


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-full",
        action="store_true",
        default=False,
        help="run the soak at full size (10,000 alerts, 200 worker SIGKILLs); without it a short form runs",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: the long fault run (short form in make test, full with --soak-full)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak-full", default=False):
        for item in items:
            if item.get_closest_marker("soak"):
                item.add_marker(pytest.mark.timeout(FULL_TIMEOUT_S))


@pytest.fixture
def soak_full(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--soak-full", default=False))


FIGURES = pytest.StashKey[list[tuple[str, list[str]]]]()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> list[str]:
    """Lines the soak wants printed at the end of the run (in the terminal summary, whatever the capture setting)."""
    lines: list[str] = []
    request.config.stash.setdefault(FIGURES, []).append((request.node.name, lines))
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for name, lines in config.stash.get(FIGURES, []):
        if lines:
            terminalreporter.section(f"soak figures: {name}", sep="-")
            for line in lines:
                terminalreporter.line(line)
