#!/usr/bin/env bash
# Make the Docker engine a swarm manager for the swarm backend, or leave the swarm this script made.
#
#   scripts/swarm.sh ensure   initialise a single-node swarm if the engine is in none,
#                             listening and advertising on 127.0.0.1 only
#   scripts/swarm.sh leave    leave the swarm that `ensure` initialised, if it did, and remove
#                             the docker_gwbridge network its init made
#
# `ensure` records in $HARNESS_SWARM_STATE (default /tmp/harness-swarm.state) that it
# initialised the swarm, so `leave` never takes down a swarm it did not make. The output of
# `docker swarm init` holds the join token, a secret: it is never printed.
set -euo pipefail

STATE="${HARNESS_SWARM_STATE:-/tmp/harness-swarm.state}"

node_state() { docker info --format '{{.Swarm.LocalNodeState}}'; }

init() {
  local out
  # --data-path-addr keeps the VXLAN traffic's address on loopback too (Docker 19.03+); an
  # engine that refuses the flag is initialised without it.
  if out="$(docker swarm init --listen-addr 127.0.0.1:2377 --advertise-addr 127.0.0.1 \
              --data-path-addr 127.0.0.1 2>&1)"; then
    return 0
  fi
  if [ "$(node_state)" = "inactive" ] && out="$(docker swarm init --listen-addr 127.0.0.1:2377 \
                                                  --advertise-addr 127.0.0.1 2>&1)"; then
    return 0
  fi
  # the error, never the output of a successful init (it holds the join token)
  echo "swarm: docker swarm init failed: ${out}" >&2
  exit 1
}

ensure() {
  local state
  state="$(node_state)"
  case "$state" in
    active)
      return 0 ;;
    inactive)
      # the bridge every swarm task uses to reach the host; init creates it and leave keeps it
      local bridge=kept
      docker network inspect docker_gwbridge >/dev/null 2>&1 || bridge=made
      init
      printf 'initialised\ndocker_gwbridge=%s\n' "$bridge" >"$STATE"
      echo "swarm: initialised a single-node swarm on 127.0.0.1 (state: $STATE)" >&2 ;;
    *)
      echo "swarm: the engine's swarm state is '$state', expected active or inactive; see docker info" >&2
      exit 1 ;;
  esac
}

leave() {
  [ -f "$STATE" ] || return 0
  if [ "$(head -n 1 "$STATE")" = "initialised" ]; then
    echo "swarm: leaving the swarm that ensure initialised" >&2
    docker swarm leave --force >/dev/null
    # leave the engine as ensure found it: the bridge the init made goes too (it holds nothing now)
    if grep -qx 'docker_gwbridge=made' "$STATE"; then
      docker network rm docker_gwbridge >/dev/null 2>&1 || echo "swarm: could not remove docker_gwbridge" >&2
    fi
  fi
  rm -f "$STATE"
}

case "${1:-}" in
  ensure) ensure ;;
  leave) leave ;;
  *) echo "usage: $0 ensure|leave" >&2; exit 2 ;;
esac
