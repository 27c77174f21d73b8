#!/usr/bin/env bash
# Runs the integration tier and the Cluster e2e suite (test/cluster: apps as separate processes) against a real
# 6-node Redis Cluster (3 masters, 3 replicas) on loopback ports, then tears it down.
# Ports: TIDEGATE_CLUSTER_BASE_PORT (default 7100) to +5.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/node.sh
source scripts/lib/node.sh
use_supported_node
# shellcheck source=lib/redis-cluster.sh
source scripts/lib/redis-cluster.sh

[ -d node_modules ] || npm ci
start_redis_cluster "${TIDEGATE_CLUSTER_BASE_PORT:-7100}"

export TEST_REDIS_CLUSTER_NODES=$CLUSTER_NODES
mkdir -p test-artifacts
npx jest --ci --selectProjects integration cluster-e2e --json --outputFile=test-artifacts/jest-cluster.json "$@"
node tools/test-summary.js test-artifacts/jest-cluster.json
