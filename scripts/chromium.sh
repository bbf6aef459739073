#!/usr/bin/env bash
# Make a headless Chromium available for the HTML report's browser test.
#
#   scripts/chromium.sh ensure   install Debian's chromium package when `chromium`
#                                is not on PATH (needs root); a no-op otherwise
#
# The browser test (tests/integration/test_html_report.py) renders a report and opens
# it with `chromium --headless=new`; under CI=true a missing chromium fails that test.
set -euo pipefail

have_chromium() { command -v chromium >/dev/null 2>&1; }

install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends chromium >/dev/null
}

ensure() {
  if have_chromium; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "chromium: installing chromium needs root; run this as root or install chromium yourself" >&2
    exit 1
  fi
  echo "chromium: installing Debian's chromium package" >&2
  # The package lists may be stale or absent: refresh them only when the install fails.
  if ! install; then
    echo "chromium: install failed; running apt-get update and trying again" >&2
    apt-get update -q -o DPkg::Lock::Timeout=300 >/dev/null
    install
  fi
  have_chromium || { echo "chromium: installed, but no chromium on PATH" >&2; exit 1; }
  echo "chromium: $(chromium --version 2>/dev/null || echo installed)" >&2
}

case "${1:-}" in
  ensure) ensure ;;
  *) echo "usage: $0 ensure" >&2; exit 2 ;;
esac
