"""Registers the harness plugin for runs from the repository.

When the package is installed, its ``pytest11`` entry point (named ``harness.plugin``)
has already registered it under the same name, and pytest skips this import.
"""

pytest_plugins = ["harness.plugin"]
