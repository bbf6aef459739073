#!/usr/bin/env bash
# The project's own tests: unit tests, then integration tests with real containers.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/pytest tests "$@"
