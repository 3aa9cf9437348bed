# Sourced by scripts/test and scripts/dev: a fresh machine gets the venv, the project and its
# backing services. Idempotent; cheap when everything is already in place.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

ensure_venv() {
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    "$PY" -m venv .venv
  fi
  local stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
  if [ ! -f "$stamp" ]; then
    log "installing the project with its test extras"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]'
    rm -f .venv/.installed-*; touch "$stamp"
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 name=$2 i
  for i in $(seq 1 60); do port_open "$port" && return 0; sleep 1; done
  log "$name is not reachable on 127.0.0.1:$port"; return 1
}

ensure_postgres() {
  port_open 5432 && return 0
  if ! command -v pg_ctlcluster >/dev/null; then
    log "installing PostgreSQL"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  wait_port 5432 PostgreSQL
}

ensure_rabbitmq() {
  port_open 5672 && return 0
  if ! command -v rabbitmq-server >/dev/null; then
    log "installing RabbitMQ"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  fi
  log "starting RabbitMQ"
  rabbitmq-server -detached || true
  wait_port 5672 RabbitMQ
  # the AMQP port opens a moment before the broker accepts logins
  for _ in $(seq 1 30); do rabbitmqctl -q await_startup >/dev/null 2>&1 && break; sleep 1; done
}

# The browser tests (tests/browser) drive Debian's Chromium headless with Playwright; a browser
# downloaded by `playwright install` is never used. Installed once, quietly; a no-op afterwards.
ensure_test_tools() {
  [ -x /usr/bin/chromium ] && return 0
  log "installing Chromium for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
  [ -x /usr/bin/chromium ] || { log "chromium is not installed at /usr/bin/chromium"; return 1; }
}

bootstrap() { ensure_venv; ensure_postgres; ensure_rabbitmq; }
