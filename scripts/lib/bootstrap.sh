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

backend_ok() { timeout 150 .venv/bin/python scripts/lib/check_backends.py "$1"; }

# Only ever under CI=true: a CI machine's servers hold nothing to keep. Anywhere else a server is
# the developer's or operator's own, used by other programs too: it is never restarted or killed.
restart_rabbitmq() {
  log "restarting RabbitMQ (CI)"
  timeout 60 rabbitmqctl -q stop >/dev/null 2>&1 || pkill -9 -f beam.smp || true
  for _ in $(seq 1 30); do port_open 5672 || break; sleep 1; done
  rabbitmq-server -detached || true
  wait_port 5672 RabbitMQ
  for _ in $(seq 1 30); do rabbitmqctl -q await_startup >/dev/null 2>&1 && break; sleep 1; done
}

# An open port is not a working backend: a broker can accept TCP and never answer, or block every
# publisher on a resource alarm, and tests would then wait instead of fail. Check both for real.
# A server that answers is left alone, busy or not (too few free connections: say so and stop).
# One that does not answer is reported; only on a CI machine (CI=true) is it restarted, and a
# broker that a restart does not bring back gets a fresh node database as a last resort.
ensure_backends_answer() {
  local rc=0
  backend_ok postgres || rc=$?
  if [ "$rc" = 2 ]; then return 1; fi      # answers, but too busy: the message says what to change
  if [ "$rc" != 0 ]; then
    if [ "${CI:-}" != "true" ]; then
      log "PostgreSQL does not answer; it is left as it is (not restarted outside CI). Check it with: pg_lsclusters"
      return 1
    fi
    log "PostgreSQL does not answer; restarting it (CI)"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main restart || true
    wait_port 5432 PostgreSQL
    backend_ok postgres || { log "PostgreSQL still does not answer"; return 1; }
  fi
  backend_ok rabbitmq && return 0
  if [ "${CI:-}" != "true" ]; then
    log "RabbitMQ does not answer; it is left as it is (not restarted outside CI). Check it with: rabbitmq-diagnostics status"
    return 1
  fi
  restart_rabbitmq
  backend_ok rabbitmq && return 0
  log "RabbitMQ still does not answer: starting it with a fresh node database (CI only)"
  pkill -9 -f beam.smp || true
  sleep 2
  rm -rf /var/lib/rabbitmq/mnesia/rabbit@*
  restart_rabbitmq
  backend_ok rabbitmq && return 0
  log "RabbitMQ does not answer; see rabbitmq-diagnostics status"; return 1
}

# tests/deploy checks the alert rules with promtool when there is one. Only the binary, taken out
# of Debian's prometheus package into .venv/bin: no Prometheus server is installed or started.
ensure_promtool() {
  command -v promtool >/dev/null && return 0
  [ -x .venv/bin/promtool ] && return 0
  command -v apt-get >/dev/null || return 0
  log "installing promtool (from Debian's prometheus package) into .venv/bin"
  local dir; dir="$(mktemp -d)"
  ( cd "$dir" && apt-get update -qq && apt-get download prometheus >/dev/null 2>&1 \
      && dpkg-deb -x prometheus_*.deb x && cp x/usr/bin/promtool "$ROOT/.venv/bin/promtool" ) \
    || log "promtool not installed: tests/deploy skips \`promtool check rules\`"
  rm -rf "$dir"
}

# The browser tests (tests/browser) drive Debian's Chromium headless with Playwright; a browser
# downloaded by `playwright install` is never used. Installed once, quietly; a no-op afterwards.
ensure_test_tools() {
  ensure_promtool || true
  [ -x /usr/bin/chromium ] && return 0
  log "installing Chromium for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
  [ -x /usr/bin/chromium ] || { log "chromium is not installed at /usr/bin/chromium"; return 1; }
}

bootstrap() { ensure_venv; ensure_postgres; ensure_rabbitmq; ensure_backends_answer; }
