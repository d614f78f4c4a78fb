"""The layering rules in ``.importlinter`` hold on this tree, and a break of any of them fails `make lint`.

The second test copies the code, breaks each rule once in the copy and runs the same command `make
lint` runs: a rule that never fails would pass the first test forever.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("services", "shared", "scrm")

#: One break per contract: (file, line added to it, the contract's name as lint-imports prints it).
BREAKS = [
    ("services/members/domain/model.py", "import pymongo", "A domain does no I/O"),
    (
        "services/members/service_layer/handlers.py",
        "from services.members.adapters import repository",
        "Inside a service",
    ),
    ("services/members/service_layer/handlers.py", "import httpx", "A service layer talks to the world"),
    ("services/members/bootstrap.py", "import services.gateway.bootstrap", "Services never import each other"),
    ("services/segments/bootstrap.py", "import services.screenshots", "Only campaigns verifies screenshots"),
    (
        "services/campaigns/bootstrap_worker.py",
        "import services.screenshots.domain",
        "The screenshot verifier is used only through",
    ),
    ("shared/settings/_base.py", "import services.members", "The shared library imports no service"),
    ("scrm/docs.py", "import scrm_dev.topics", "never imports the dev tools"),
    ("shared/maternal_infant/_spend.py", "import pymongo", "The shared maternal-infant kernel is pure"),
    ("shared/tabular/_csv.py", "import shared.web", "The shared CSV writer is pure"),
]


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_the_tree_keeps_every_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.fixture(scope="module")
def broken_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("broken")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    # The dev tools' package, a root package of the contracts too, lives in its own distribution's folder.
    shutil.copytree(ROOT / "devtools" / "scrm_dev", copy / "scrm_dev", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
    for path, line, _ in BREAKS:
        with (copy / path).open("a", encoding="utf-8") as file:
            file.write(f"\n{line}  # deliberately breaks a layering rule\n")
    return copy


@pytest.mark.parametrize(("path", "line", "contract"), BREAKS, ids=[b[2] for b in BREAKS])
def test_each_break_fails_the_lint(broken_copy: Path, path: str, line: str, contract: str) -> None:
    result = _lint(broken_copy)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in broken, result.stdout
    assert path.removesuffix(".py").replace("/", ".") in broken
