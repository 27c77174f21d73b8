#!/usr/bin/env bash
# Makes sure Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432, user postgres without password) answer on
# loopback: starts them if they are down, installs them with apt if they are absent (as root, Debian). Also installs
# Debian's Chromium (/usr/bin/chromium), which the browser tier drives through playwright-core.
# Used by the test command and CI; `npm start` does not need it (it runs an embedded PostgreSQL and its own Redis).
set -euo pipefail

log() { printf 'services: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; exit 1
  fi
}

apt_install() {
  log "installing $* with apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_until() { # wait_until <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.5
  done
}

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG; }

ensure_redis() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || apt_install redis-server
  if redis_up; then log "Redis answers on 127.0.0.1:6379"; return; fi
  log "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_until 20 redis_up || { log "Redis did not start (see /var/log/redis/ci.log)"; exit 1; }
  log "Redis started"
}

pg_up() { psql "postgresql://postgres@127.0.0.1:5432/postgres" -Atc 'SELECT 1' | grep -q 1; }

trust_loopback() {
  # A fresh Debian cluster asks loopback clients for a password; tests connect as postgres without one.
  local hba
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    [ -f "$hba" ] || continue
    if ! grep -q '^# tidegate: trust loopback' "$hba"; then
      log "allowing passwordless loopback connections in $hba (test machines only)"
      as_root sh -c "{ echo '# tidegate: trust loopback'; echo 'host all all 127.0.0.1/32 trust'; echo 'host all all ::1/128 trust'; cat '$hba'; } > '$hba.new' && mv '$hba.new' '$hba'"
    fi
  done
}

ensure_postgres() {
  command -v pg_ctlcluster >/dev/null && command -v psql >/dev/null || { apt_install postgresql; trust_loopback; }
  if pg_up; then log "PostgreSQL answers on 127.0.0.1:5432"; return; fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  if ! wait_until 30 pg_up; then
    trust_loopback
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
    wait_until 15 pg_up || { log "PostgreSQL does not accept postgres@127.0.0.1:5432 without a password"; exit 1; }
  fi
  log "PostgreSQL started"
}

ensure_chromium() {
  # The browser tier (test/browser) uses the distribution's Chromium: playwright's own browser downloads are not used.
  if [ -x /usr/bin/chromium ]; then log "Chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"; return; fi
  apt_install chromium
  [ -x /usr/bin/chromium ] || { log "Chromium did not install (/usr/bin/chromium is missing)"; exit 1; }
  log "Chromium installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
}

ensure_redis
ensure_postgres
ensure_chromium
