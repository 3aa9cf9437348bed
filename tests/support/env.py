"""Test isolation: each test run gets its own RabbitMQ vhost and its own databases."""
from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import asyncpg

RUN_ID = os.environ.get("DOORSTROOM_TEST_RUN") or uuid.uuid4().hex[:8]
VHOST = f"test-{RUN_ID}"
AMQP_URL = f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_PREFIX = f"dst_{RUN_ID}_"


def database_url(name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{DB_PREFIX}{name}"


def service_env(service: str, *, db: str | None = None, **extra: object) -> dict[str, str]:
    """Environment for a service under test (also for subprocesses)."""
    env = {"DATABASE_URL": database_url(db or service), "AMQP_URL": AMQP_URL,
           "EVENT_EXCHANGE": "doorstroom.events", "OUTBOX_POLL_SECONDS": "0.2",
           "RETRY_DELAYS_MS": "[200,400]", "LOG_LEVEL": "WARNING", "HTTP_HOST": "127.0.0.1"}
    env.update({k.upper(): str(v) for k, v in extra.items()})
    return env


def _rabbitmqctl(*args: str, attempts: int = 3) -> None:
    """rabbitmqctl with a timeout that also ends the Erlang node it starts (a plain kill of the
    wrapper leaves that node behind, and enough of those make later calls hang)."""
    for attempt in range(1, attempts + 1):
        proc = subprocess.Popen(["rabbitmqctl", "-q", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            continue
        if proc.returncode == 0:
            return
        if attempt == attempts:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {err.decode()[-500:]}")
        time.sleep(1)
    raise RuntimeError(f"rabbitmqctl {' '.join(args)} did not answer")


def create_vhost() -> None:
    _rabbitmqctl("add_vhost", VHOST)
    _rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")


def delete_vhost() -> None:
    try:
        _rabbitmqctl("delete_vhost", VHOST, attempts=1)
    except Exception:
        pass


async def drop_databases() -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        names = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", DB_PREFIX + "%")
        for row in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await conn.close()
