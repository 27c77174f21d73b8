#!/usr/bin/env bash
# The benchmarks (`npm run bench`, `npm run soak`, `npm run simulate`): on a supported Node.js, as `npm start` and
# `npm test` run (the machine's, or Node 24 fetched once: scripts/lib/node.sh), so the figures are those of the
# runtime Tidegate ships on; the children (apps, baselines, fakes) are forked from the same binary. Builds first.
# Usage: bash scripts/bench.sh <script under dist/, e.g. bench/run.js> [arguments…]
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=lib/node.sh
source scripts/lib/node.sh
use_supported_node

script="$1"
shift
node tools/build.js
exec node "dist/$script" "$@"
