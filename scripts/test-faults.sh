#!/usr/bin/env bash
# The fault suite (`npm run test:faults`, in CI): every fault of docs/operations.md played against real processes —
# worker SIGKILL, Redis restart with AOF, PostgreSQL stopped, provider outages and 429 storms, Cluster master
# failover. Each test records its figures (lost, duplicated, over capacity, completed); the table is printed at the
# end and kept in test-artifacts/faults/. The suites run one at a time: they stop and start servers.
# A 6-node Redis Cluster of its own on TIDEGATE_FAULTS_CLUSTER_BASE_PORT (default 7200) to +5, for the failovers.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/node.sh
source scripts/lib/node.sh
use_supported_node
# shellcheck source=lib/redis-cluster.sh
source scripts/lib/redis-cluster.sh

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/ensure-services.sh
start_redis_cluster "${TIDEGATE_FAULTS_CLUSTER_BASE_PORT:-7200}"

export TEST_FAULTS_CLUSTER_NODES=$CLUSTER_NODES
rm -rf test-artifacts/faults
mkdir -p test-artifacts/faults
status=0
npx jest --ci --runInBand --selectProjects faults --json --outputFile=test-artifacts/jest-faults.json "$@" || status=$?
node tools/fault-summary.js test-artifacts/faults
node tools/test-summary.js test-artifacts/jest-faults.json || status=1
exit "$status"
