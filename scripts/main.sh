#!/usr/bin/env bash
# The main job: the restart and scale-out suites against the bundled reference app
# (durable mode), ending with a verdict table. Extra arguments go to `harness run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/harness run "$@"
