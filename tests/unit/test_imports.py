"""Imports follow the data flow: the import-linter contracts in pyproject.toml hold.

The contracts (``[tool.importlinter]``) put every module of the package in a layer
(vocabulary at the bottom, the CLI and the plugin on top), forbid import cycles between
sibling modules, keep the backends' internals behind ``harness.backends``, and keep the
checkers pure (the history, never the spec, client or backend that made it). The
first test checks the tree; the others plant a defect in a copy of the package and show
the check failing on it, naming the offending import, so the first cannot pass by
checking nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: runs import-linter's own command line (``lint-imports``) with this interpreter
LINT = ("import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
        "--no-cache", "--no-logo", "pyproject.toml")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the ``harness`` package under ``root``, with ``root``'s pyproject.toml.

    ``root`` comes first on the path, so a copy of the package is analysed rather than the
    installed one.
    """
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", *LINT], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert "Contracts:" in result.stdout, f"import-linter did not run:\n{result.stdout}{result.stderr}"
    assert result.returncode == 0, f"an import goes against the layers of pyproject.toml:\n{result.stdout}"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml, to plant defects in."""
    shutil.copytree(ROOT / "harness", tmp_path / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def plant(copy: Path, module: str, line: str) -> int:
    """Append ``line`` to ``module`` (a path under the copy); return the number of its first line."""
    path = copy / module
    text = path.read_text() if path.exists() else '"""A module nobody placed in a layer."""\n'
    text = text if text.endswith("\n") else text + "\n"
    path.write_text(text + line + "\n")
    return text.count("\n") + 1


@pytest.mark.parametrize(("module", "line", "message"), [
    # the history is data every layer hands on: it must not know how it is reported
    ("harness/history.py", "import harness.report.html",
     "harness.history is not allowed to import harness.report"),
    # a function-local import is a dependency too
    ("harness/errors.py", "def later():\n    from harness.spec import TargetSpec",
     "harness.errors is not allowed to import harness.spec"),
    # and so is one for type checkers only
    ("harness/spec.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from harness.client import Client",
     "harness.spec is not allowed to import harness.client"),
    # same level, independent: a fault knows the Deployment, never a backend
    ("harness/faults/process.py", "import harness.backends",
     "harness.faults is not allowed to import harness.backends"),
], ids=["history->report", "function-local", "type-checking", "faults->backends"])
def test_a_planted_back_reference_fails(copy: Path, module: str, line: str, message: str) -> None:
    at = plant(copy, module, line) + line.count("\n")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout
    assert f"l.{at}" in result.stdout, result.stdout  # the planted line, in the copy


def test_a_planted_cycle_fails(copy: Path) -> None:
    # fail_loud already imports counters: counters importing fail_loud closes a cycle inside one layer
    plant(copy, "harness/checkers/counters.py", "import harness.checkers.fail_loud")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "no import cycles between sibling modules, at any depth BROKEN" in result.stdout, result.stdout
    # import-linter names the cycle's package and the fewest imports whose removal breaks it
    assert "No cycles are allowed in harness.checkers." in result.stdout, result.stdout
    assert ".fail_loud -> .counters" in result.stdout or ".counters -> .fail_loud" in result.stdout, result.stdout


def test_a_module_outside_every_layer_fails(copy: Path) -> None:
    plant(copy, "harness/newcomer.py", "import harness.history")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "harness.newcomer" in result.stdout, result.stdout


def test_a_checker_that_reads_the_spec_fails(copy: Path) -> None:
    # the spec is a lower layer, so the layers allow it: the checkers' own contract does not
    at = plant(copy, "harness/checkers/durability.py", "from harness.spec import TargetSpec")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "checkers know the history, not how it was made BROKEN" in result.stdout, result.stdout
    assert f"harness.checkers.durability -> harness.spec (l.{at})" in result.stdout, result.stdout


def test_a_backend_internal_reached_from_outside_fails(copy: Path) -> None:
    at = plant(copy, "harness/run.py", "import harness.backends.docker")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert "Illegal imports of protected package harness.backends.docker" in result.stdout, result.stdout
    assert f"harness.run -> harness.backends.docker (l.{at})" in result.stdout, result.stdout
