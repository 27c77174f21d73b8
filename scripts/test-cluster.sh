#!/usr/bin/env bash
# Runs the integration tier against a real 6-node Redis Cluster (3 masters, 3 replicas) on loopback ports,
# then tears it down. Ports: TIDEGATE_CLUSTER_BASE_PORT (default 7100) to +5.
set -euo pipefail
cd "$(dirname "$0")/.."

base=${TIDEGATE_CLUSTER_BASE_PORT:-7100}
ports=$(seq "$base" $((base + 5)))
dir=$(mktemp -d -t tidegate-cluster-XXXXXX)
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

command -v redis-server >/dev/null || { echo "test:cluster needs redis-server (Debian: apt-get install redis-server)"; exit 1; }
[ -d node_modules ] || npm ci

for port in $ports; do
  if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
    echo "test:cluster: port $port is taken; set TIDEGATE_CLUSTER_BASE_PORT to a free range"; exit 1
  fi
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$dir/$port/nodes.conf" \
    --cluster-node-timeout 5000 --save "" --appendonly no --dir "$dir/$port" --logfile "$dir/$port/redis.log" &
  pids+=($!)
done

for port in $ports; do
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done

nodes=$(for port in $ports; do printf '127.0.0.1:%s ' "$port"; done)
# shellcheck disable=SC2086
redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes >"$dir/create.log" || { cat "$dir/create.log"; exit 1; }

for _ in $(seq 1 100); do
  if redis-cli -h 127.0.0.1 -p "$base" cluster info | grep -q 'cluster_state:ok'; then break; fi
  sleep 0.2
done
redis-cli -h 127.0.0.1 -p "$base" cluster info | grep -q 'cluster_state:ok' || { echo "test:cluster: cluster did not become ok"; exit 1; }
echo "test:cluster: 6-node Redis Cluster ready on 127.0.0.1:$base-$((base + 5))"

export TEST_REDIS_CLUSTER_NODES
TEST_REDIS_CLUSTER_NODES=$(echo "$nodes" | xargs | tr ' ' ',')
mkdir -p test-artifacts
npx jest --ci --forceExit --selectProjects integration --json --outputFile=test-artifacts/jest-cluster.json "$@"
node tools/test-summary.js test-artifacts/jest-cluster.json
