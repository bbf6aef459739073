"""The bundled scenario suites; installed as the harness.scenarios package (see pyproject.toml)."""
