"""Test isolation: each test run gets its own RabbitMQ vhost and its own databases."""
from __future__ import annotations

import os
import signal
import subprocess
import uuid

import asyncpg

RUN_ID = os.environ.get("DOORSTROOM_TEST_RUN") or uuid.uuid4().hex[:8]
# RabbitMQ 3.10 stalls when many vhosts are added and deleted at once (seen here with several
# test runs in parallel), so every run shares the default vhost and owns an exchange instead:
# all queues of a run are named after its exchange and are deleted when the run ends.
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
EXCHANGE = f"doorstroom.test.{RUN_ID}"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_PREFIX = f"dst_{RUN_ID}_"


def database_url(name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{DB_PREFIX}{name}"


def service_env(service: str, *, db: str | None = None, **extra: object) -> dict[str, str]:
    """Environment for a service under test (also for subprocesses)."""
    env = {"DATABASE_URL": database_url(db or service), "AMQP_URL": AMQP_URL,
           "EVENT_EXCHANGE": EXCHANGE, "QUEUE_TYPE": "classic", "EVENT_ARCHIVE": "false", "OUTBOX_POLL_SECONDS": "0.2",
           "RETRY_DELAYS_MS": "[200,400]", "LOG_LEVEL": "WARNING", "HTTP_HOST": "127.0.0.1",
           "DIGEST_AUTO": "false"}  # the MBO digest's daily run only where a test asks for it (by the clock)
    env.update({k.upper(): str(v) for k, v in extra.items()})
    return env


def run_exchange(tag: str) -> str:
    """An exchange of this run's own (for tests that need their events apart from other tests')."""
    return f"{EXCHANGE}.{tag}"


def rabbitmq_list(kind: str, *columns: str) -> list[list[str]]:
    """``rabbitmqctl -q list_<kind> <columns>``: one row of fields per line (header left out);
    nothing when rabbitmqctl does not answer within a minute."""
    proc = subprocess.Popen(["rabbitmqctl", "-q", f"list_{kind}", *columns], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return []
    return [line.split() for line in out.decode().splitlines()[1:] if line.strip()]


def _names(kind: str) -> list[str]:
    return [row[0] for row in rabbitmq_list(kind, "name")]


async def delete_run_queues() -> int:
    """Delete the queues and exchanges this run declared (all named after its run id), so runs
    leave nothing behind in the broker. Best effort."""
    import aio_pika

    prefixes = (EXCHANGE, f"ex.{RUN_ID}")
    queues = [n for n in _names("queues") if n.startswith(prefixes)]
    exchanges = [n for n in _names("exchanges") if n.startswith(prefixes)]
    if not queues and not exchanges:
        return 0
    connection = await aio_pika.connect(AMQP_URL, timeout=30)
    async with connection:
        channel = await connection.channel()
        for name in queues:
            try:
                await channel.queue_delete(name)
            except Exception:
                channel = await connection.channel()
        for name in exchanges:
            try:
                await channel.exchange_delete(name)
            except Exception:
                channel = await connection.channel()
    return len(queues) + len(exchanges)


async def drop_databases() -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        names = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", DB_PREFIX + "%")
        for row in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await conn.close()
