"""The public surface is explicit, and loading the plugin imports no Docker code.

Public: ``harness.__all__`` and the ``__all__`` of the packages ``harness``'s docstring names.
Every harness name a package's ``__init__`` binds is in its ``__all__``, and what ships as a
user would write it (the scenarios, the locustfile, the targets' Python, the README's examples)
imports only public names: a name it needs is a name a user's own scenario may rely on.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import harness

ROOT = Path(__file__).resolve().parents[2]
#: the packages whose ``__all__`` is public, besides ``harness`` itself
PUBLIC_PACKAGES = ("harness.checkers", "harness.faults", "harness.load", "harness.workloads")
PUBLIC = ("harness", *PUBLIC_PACKAGES)


def _bound_harness_names(package: str) -> set[str]:
    """Names a package's ``__init__`` binds at top level to harness objects: imported from a harness
    module, or defined there. Standard-library helpers it imports (``Any``) are not its surface."""
    tree = ast.parse(Path(importlib.import_module(package).__file__).read_text())  # type: ignore[arg-type]
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "harness":
            names |= {a.asname or a.name for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("package", PUBLIC)
def test_every_public_name_is_exported(package: str) -> None:
    module = importlib.import_module(package)
    exported = list(module.__all__)
    assert exported == sorted(exported), f"{package}.__all__ is not sorted"
    missing = sorted(_bound_harness_names(package) - set(exported))
    assert missing == [], f"{package}: public names missing from __all__: {missing}"
    for name in exported:
        assert getattr(module, name, None) is not None, f"{package}.__all__ names {name}, which it lacks"


def _shipped_sources() -> list[tuple[str, str]]:
    """(where, source) of everything written the way a user writes it."""
    files = [*sorted((ROOT / "scenarios").glob("*.py")), ROOT / "locustfile.py", *sorted((ROOT / "targets").rglob("*.py"))]
    sources = [(str(f.relative_to(ROOT)), f.read_text()) for f in files]
    readme = (ROOT / "README.md").read_text()
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", readme, re.S), 1):
        sources.append((f"README.md python block {i}", block))
    extending = (ROOT / "docs" / "extending.md").read_text()   # the custom-kind example
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", extending, re.S), 1):
        sources.append((f"docs/extending.md python block {i}", block))
    return sources


def _private_imports(where: str, source: str) -> list[str]:
    """Every import of a harness name that is not public, as ``where:line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{where}:{node.lineno}: import {a.name}" for a in node.names
                      if a.name.split(".")[0] == "harness" and a.name not in PUBLIC]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "harness":
            if node.module not in PUBLIC:
                found.append(f"{where}:{node.lineno}: from {node.module} import ...")
                continue
            exported = set(importlib.import_module(node.module).__all__)
            found += [f"{where}:{node.lineno}: {a.name} is not in {node.module}.__all__" for a in node.names
                      if a.name not in exported]
    return found


def test_what_ships_imports_only_public_names() -> None:
    sources = _shipped_sources()
    assert any(where.startswith("scenarios/") for where, _ in sources) and any("README" in w for w, _ in sources)
    assert any(where.startswith("docs/extending.md") for where, _ in sources)
    private = [line for where, source in sources for line in _private_imports(where, source)]
    assert private == [], "\n".join(private)


def test_a_private_import_is_named() -> None:
    """The check above can fail: a scenario importing from an internal module is named with its line."""
    source = "from harness import Scenario\nfrom harness.run import Scenario\nfrom harness.faults import Fault, base\n"
    assert _private_imports("scenarios/x.py", source) == [
        "scenarios/x.py:2: from harness.run import ...", "scenarios/x.py:3: base is not in harness.faults.__all__"]


def test_all_names_exist_and_are_sorted() -> None:
    assert harness.__all__ == sorted(harness.__all__)
    for name in harness.__all__:
        assert hasattr(harness, name), name


def test_documented_names_import_from_the_package() -> None:
    """The README has users subclass SpecAdapter and Adapter, imported from ``harness``."""
    from harness import Adapter, SpecAdapter

    assert issubclass(SpecAdapter, Adapter)
    assert "SpecAdapter" in harness.__all__


def test_plugin_import_is_light() -> None:
    code = "import sys, harness.plugin; print(sorted(m for m in ('docker', 'testcontainers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
