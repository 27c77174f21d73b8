#!/usr/bin/env bash
# The test command (`npm test`): installs what is missing, makes sure Redis and PostgreSQL answer on loopback,
# then runs format, lint and type checks, the OpenAPI drift check, and all three Jest tiers.
# Extra arguments go to Jest (e.g. `npm test -- --selectProjects unit`).
set -euo pipefail
cd "$(dirname "$0")/.."

# A supported Node.js for everything below (npm ci included): the machine's, or Node 24 fetched once (scripts/lib/node.sh).
# shellcheck source=lib/node.sh
source scripts/lib/node.sh
use_supported_node

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "test: installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

bash scripts/ensure-services.sh

echo "test: format, lint, type-check"
npm run --silent check
echo "test: OpenAPI documents"
npm run --silent openapi:check

mkdir -p test-artifacts
npx jest --ci --selectProjects unit integration e2e browser --json --outputFile=test-artifacts/jest-main.json "$@"
node tools/test-summary.js test-artifacts/jest-main.json
