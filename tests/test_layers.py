"""The rules of the layers that an import checker cannot see (the import rules themselves are `lint-imports`
contracts in pyproject.toml, run by `make test`)."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "autosig"
# Reading the environment is configuration's job alone. The simulators are stand-ins for other companies' servers,
# configured like them; the demo builds its children's environments from its own.
MAY_READ_ENVIRONMENT = {"config.py", "sources/simulator.py", "brokers/simulator.py", "commands/demo.py"}
_ENVIRONMENT = re.compile(r"\bos\.(environ|getenv)\b|\bgetenv\(")
_DESIGN_REFERENCE = re.compile(r"DESIGN\s*§|DESIGN\.md")


def _modules() -> list[tuple[str, str]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        out.append((rel, path.read_text(encoding="utf-8")))
    return out


def test_only_configuration_reads_the_environment() -> None:
    readers = [rel for rel, text in _modules() if _ENVIRONMENT.search(text) and not _allowed(rel)]
    assert readers == [], f"these modules read the environment; read it in autosig/config.py instead: {readers}"


def _allowed(rel: str) -> bool:
    return rel in MAY_READ_ENVIRONMENT or any(rel.startswith(p.removesuffix(".py") + "/") for p in MAY_READ_ENVIRONMENT)


def test_comments_point_to_the_projects_own_docs() -> None:
    cited = [rel for rel, text in _modules() if _DESIGN_REFERENCE.search(text)]
    assert cited == [], f"these modules cite a design file the repository does not have (see docs/): {cited}"
