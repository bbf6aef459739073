#!/usr/bin/env bash
# Make a Docker engine available, or stop the one this script started.
#
#   scripts/docker-engine.sh ensure   install Debian's docker.io if no engine exists,
#                                     start dockerd if none answers (needs root)
#   scripts/docker-engine.sh stop     stop the dockerd that `ensure` started, if any
#
# `ensure` records the daemon it started in $HARNESS_DOCKERD_PIDFILE, so `stop`
# never touches an engine it did not start.
set -euo pipefail

PIDFILE="${HARNESS_DOCKERD_PIDFILE:-/tmp/harness-dockerd.pid}"
LOG="${HARNESS_DOCKERD_LOG:-/tmp/harness-dockerd.log}"

engine_answers() { docker info >/dev/null 2>&1; }

as_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "docker-engine: $* needs root; run it as root or start a Docker engine yourself" >&2
    exit 1
  fi
}

install_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0
  as_root "installing ${missing[*]}"
  echo "docker-engine: installing ${missing[*]} from Debian's packages" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
}

ensure() {
  install_packages
  if engine_answers; then
    return 0
  fi
  as_root "starting dockerd"
  echo "docker-engine: starting dockerd (log: $LOG)" >&2
  nohup dockerd >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 300); do
    engine_answers && { echo "docker-engine: dockerd is up (pid $(cat "$PIDFILE"))" >&2; return 0; }
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
    sleep 0.1
  done
  echo "docker-engine: dockerd did not come up; last log lines:" >&2
  tail -n 20 "$LOG" >&2 || true
  exit 1
}

stop() {
  [ -f "$PIDFILE" ] || return 0
  local pid
  pid="$(cat "$PIDFILE")"
  if kill -0 "$pid" 2>/dev/null; then
    echo "docker-engine: stopping the dockerd it started (pid $pid)" >&2
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" || true
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  ensure) ensure ;;
  stop) stop ;;
  *) echo "usage: $0 ensure|stop" >&2; exit 2 ;;
esac
