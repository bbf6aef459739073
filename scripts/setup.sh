#!/usr/bin/env bash
# Shared set-up of the two entry commands: a virtual environment with the harness
# installed, a Docker engine, and the offline images. Idempotent and quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing the harness into .venv" >&2
  .venv/bin/pip install -q -e '.[dev]'
  touch "$stamp"
fi
scripts/docker-engine.sh ensure
.venv/bin/harness images
