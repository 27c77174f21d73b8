#!/usr/bin/env bash
# Sourced by test-cluster.sh and test-faults.sh: starts a 6-node Redis Cluster (3 masters, 3 replicas) on loopback
# ports <base>..<base>+5 in a temporary folder, waits until it is ok, and stops it when the calling script exits.
#   start_redis_cluster <base port> [extra redis-server arguments...]
# Sets CLUSTER_NODES (comma-separated host:port list) and CLUSTER_DIR.

cluster_pids=()
CLUSTER_DIR=""

stop_redis_cluster() {
  for pid in "${cluster_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${cluster_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "$CLUSTER_DIR" ] && rm -rf "$CLUSTER_DIR"
  return 0
}

start_redis_cluster() {
  local base=$1; shift
  local ports port nodes
  ports=$(seq "$base" $((base + 5)))
  command -v redis-server >/dev/null || { echo "needs redis-server (Debian: apt-get install redis-server)"; return 1; }
  CLUSTER_DIR=$(mktemp -d -t tidegate-cluster-XXXXXX)
  trap stop_redis_cluster EXIT INT TERM
  for port in $ports; do
    if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
      echo "redis cluster: port $port is taken; choose another base port"; return 1
    fi
    mkdir -p "$CLUSTER_DIR/$port"
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$CLUSTER_DIR/$port/nodes.conf" \
      --cluster-node-timeout 5000 --save "" --appendonly no --dir "$CLUSTER_DIR/$port" --logfile "$CLUSTER_DIR/$port/redis.log" "$@" &
    cluster_pids+=($!)
  done
  for port in $ports; do
    for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  nodes=$(for port in $ports; do printf '127.0.0.1:%s ' "$port"; done)
  # shellcheck disable=SC2086
  redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes >"$CLUSTER_DIR/create.log" || { cat "$CLUSTER_DIR/create.log"; return 1; }
  for _ in $(seq 1 100); do
    if redis-cli -h 127.0.0.1 -p "$base" cluster info | grep -q 'cluster_state:ok'; then break; fi
    sleep 0.2
  done
  redis-cli -h 127.0.0.1 -p "$base" cluster info | grep -q 'cluster_state:ok' || { echo "redis cluster did not become ok"; return 1; }
  CLUSTER_NODES=$(echo "$nodes" | xargs | tr ' ' ',')
  echo "6-node Redis Cluster ready on 127.0.0.1:$base-$((base + 5))"
}
