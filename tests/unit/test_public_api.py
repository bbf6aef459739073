"""The public surface is explicit, and loading the plugin imports no Docker code."""

from __future__ import annotations

import subprocess
import sys

import harness


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
