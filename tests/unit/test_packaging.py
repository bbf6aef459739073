"""The wheel's contents as pyproject.toml declares them, and where the source tree's harness finds its files.

The wheel itself is built, installed and run in tests/integration/test_installed.py; this
catches the commonest drift early: a new folder of modules under harness/ that the explicit
package list (needed for the scenarios/ mapping) does not name, so the wheel would lack it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from harness import bundled, cli
from harness.load import runner

ROOT = Path(__file__).resolve().parents[2]
#: folders of harness/ that are not packages: copied into images, never imported
DATA_FOLDERS = {"dockerfiles"}


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_folder_of_modules_is_a_package_of_the_wheel() -> None:
    folders = {p.parent for p in (ROOT / "harness").rglob("*.py") if "__pycache__" not in p.parts}
    wanted = {".".join(f.relative_to(ROOT).parts) for f in folders if not DATA_FOLDERS & set(f.parts)}
    packages = set(_setuptools()["packages"])
    assert wanted - packages == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert packages - wanted == {"harness.scenarios"}


def test_scenarios_locustfile_and_image_files_are_mapped_into_the_package() -> None:
    config = _setuptools()
    assert config["package-dir"] == {"harness.scenarios": "scenarios", "harness.locust": "."}
    assert config["py-modules"] == ["harness.locust.locustfile"]
    assert "dockerfiles/*" in config["package-data"]["harness"]
    assert (ROOT / "scenarios" / "__init__.py").is_file()  # a package: `pytest --pyargs harness.scenarios`


def test_the_source_tree_harness_finds_its_files_at_the_top_level() -> None:
    assert bundled.SOURCE_TREE == ROOT
    assert cli.SCENARIOS == bundled.SCENARIOS == ROOT / "scenarios"
    assert runner.LOCUSTFILE == bundled.LOCUSTFILE == ROOT / "locustfile.py"
    assert cli.DEFAULT_TARGET == bundled.default_target() == ROOT / "targets" / "refapp" / "durable.yaml"
    assert bundled.runs_home() == ROOT
