#!/usr/bin/env bash
# PostgreSQL and Redis programs for the local backend (which runs them as its own
# child processes, never as system services). `ensure` installs Debian's packages when
# a program is missing, without letting the packages start any service.
set -euo pipefail

have_servers() {
  { command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } \
    && command -v redis-server >/dev/null
}

case "${1:-ensure}" in
  ensure)
    if have_servers; then
      echo "servers: postgresql and redis-server are installed" >&2
      exit 0
    fi
    echo "servers: installing postgresql and redis-server (no service is started)" >&2
    policy=/usr/sbin/policy-rc.d
    created=""
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created=1
    fi
    trap '[ -n "$created" ] && rm -f "$policy"' EXIT
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql redis-server >/dev/null \
      || { apt-get update -q >/dev/null && apt-get install -y -q postgresql redis-server >/dev/null; }
    ;;
  *)
    echo "usage: $0 ensure" >&2
    exit 2
    ;;
esac
