#!/usr/bin/env bash
# npm start: the whole Tidegate system with a demo, from a fresh clone.
# Installs the dependencies if needed (npm ci), builds dist/, then hands over to dist/scripts/start.js (see
# scripts/start.ts): PostgreSQL and Redis if none are configured, migrations, demo data, the three apps.
#   npm start                 run until Ctrl-C
#   npm start -- --check      start, wait until ready, print the summary, stop, exit 0 (CI)
# package.json runs this with `exec`, and this script execs node at the end: npm's child is then the orchestrator
# itself, so SIGINT or SIGTERM to `npm start` (npm forwards them) or to this script's PID stops the whole stack.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() {
  printf 'start: %s\n' "$*" >&2
  exit 1
}

# A supported Node.js (package.json "engines"): the machine's if it is one, else Node 24 fetched once from the npm
# registry (scripts/lib/node.sh); npm ci, the build and the orchestrator below then run on it. The build is CommonJS
# and loads NestJS 12's ES modules with require(esm).
# shellcheck source=lib/node.sh
source scripts/lib/node.sh
use_supported_node

# Dependencies: install when node_modules is missing or older than package-lock.json. npm keeps its own record of
# the installed tree in node_modules/.package-lock.json, rewritten by every install: that is the age compared.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  command -v npm >/dev/null 2>&1 || fail "npm is not installed (it comes with Node.js)."
  echo "start: installing dependencies (npm ci)…"
  npm ci --no-audit --no-fund || fail "npm ci failed (see above)."
fi
# Our postinstall generates the Prisma client; redo it if an install skipped scripts (npm ci --ignore-scripts).
if [[ ! -f node_modules/.prisma/client/default.js ]]; then
  echo "start: generating the Prisma client…"
  node tools/prisma.js generate || fail "prisma generate failed (see above)."
fi

node tools/build.js || fail "the build failed (see above)."

exec node dist/scripts/start.js "$@"
