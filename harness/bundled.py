"""Where the files shipped beside the library are: the scenario suites and the locustfile.

In the source tree they sit at the top level (``scenarios/``, ``locustfile.py``); a wheel
carries them inside the package (``harness/scenarios/``, ``harness/locust/locustfile.py``,
mapped there by pyproject.toml), so an installed harness runs its suites from any folder
with no checkout on ``sys.path``. The installed place is looked at first, then the source
tree's. The reference app (``targets/``) is the project's own test subject and ships with
the source tree only: an installed harness has no default target.

Imports nothing of the harness: any layer may ask where these files are.
"""

from __future__ import annotations

from pathlib import Path

#: the ``harness`` package folder (site-packages/harness when installed from a wheel)
PACKAGE = Path(__file__).resolve().parent


def _source_tree() -> Path | None:
    """The checkout this package runs from (an editable install, or the tree on ``sys.path``), if any."""
    root = PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() and (root / "scenarios").is_dir() else None


#: the source tree, or None for a harness installed from a wheel
SOURCE_TREE = _source_tree()


def _shipped(installed: Path, in_source_tree: str) -> Path:
    if installed.exists() or SOURCE_TREE is None:
        return installed
    return SOURCE_TREE / in_source_tree


#: the scenario suites: a folder of pytest modules (a package, so ``pytest --pyargs harness.scenarios`` finds it)
SCENARIOS = _shipped(PACKAGE / "scenarios", "scenarios")
#: run by locust in processes of its own, never imported by the harness (it patches a process with gevent)
LOCUSTFILE = _shipped(PACKAGE / "locust" / "locustfile.py", "locustfile.py")


def default_target() -> Path | None:
    """The reference app's durable spec in a source tree; None when installed (no reference app ships)."""
    if SOURCE_TREE is None:
        return None
    spec = SOURCE_TREE / "targets" / "refapp" / "durable.yaml"
    return spec if spec.is_file() else None


def runs_home() -> Path:
    """The folder whose ``runs/`` gets a run's results by default: the source tree, else the current folder."""
    return SOURCE_TREE if SOURCE_TREE is not None else Path.cwd()
