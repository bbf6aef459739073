#!/usr/bin/env bash
# The main job: the restart, scale-out and dependency suites against the bundled
# reference app (durable mode), ending with a verdict table. Uses Docker when an engine
# can be had, local processes otherwise (--backend auto). Extra arguments go to `harness run`.
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS_DOCKER=optional scripts/setup.sh
exec .venv/bin/harness run "$@"
