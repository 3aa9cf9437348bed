"""Test isolation: each test run gets its own RabbitMQ vhost and its own databases."""
from __future__ import annotations

import os
import subprocess
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


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def create_vhost() -> None:
    _rabbitmqctl("add_vhost", VHOST)
    _rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")


def delete_vhost() -> None:
    try:
        _rabbitmqctl("delete_vhost", VHOST)
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
