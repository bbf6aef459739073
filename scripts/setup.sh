#!/usr/bin/env bash
# Shared set-up of the two entry commands: a virtual environment with the harness
# installed, a Docker engine, and the offline images. Idempotent and quick when done.
# With HARNESS_DOCKER=optional (the main command), a machine where no Docker engine can
# be had still runs: the harness then uses its local-process backend.
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
if [ "${HARNESS_DOCKER:-required}" = optional ]; then
  if scripts/docker-engine.sh ensure; then
    .venv/bin/harness images
  else
    echo "setup: no Docker engine; runs use the local-process backend" >&2
  fi
else
  scripts/docker-engine.sh ensure
  .venv/bin/harness images
fi
