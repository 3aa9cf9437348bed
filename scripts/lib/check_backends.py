"""Do PostgreSQL and RabbitMQ really answer? An open port is not enough: a broker that accepts TCP
but never finishes the AMQP handshake, or blocks publishers on a resource alarm, makes tests wait
instead of fail. ``python check_backends.py [postgres] [rabbitmq]``: exit status 0 when each named
backend (default: both) answers within the time limit; 1 when one does not answer (the reason on
stderr); 2 when it answers but cannot serve us (too few free connections): a server that answers is
never restarted for that, the message names the setting to change."""
from __future__ import annotations

import asyncio
import os
import sys
import uuid

import aio_pika
import asyncpg

PG = os.environ.get("CHECK_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP = os.environ.get("CHECK_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
LIMIT = float(os.environ.get("CHECK_LIMIT_SECONDS", "20"))  # per check


NEEDED_CONNECTIONS = int(os.environ.get("CHECK_PG_FREE_CONNECTIONS", "40"))


class Busy(Exception):
    """The server answers, but cannot give us what we need: say so, never restart it."""


async def check_postgres() -> str | None:
    try:
        conn = await asyncpg.connect(PG, timeout=LIMIT)
    except Exception as exc:  # noqa: BLE001 - any failure is reported
        return f"PostgreSQL does not accept a connection: {exc!r}"
    try:
        free = await asyncio.wait_for(conn.fetchval(
            "SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity"), LIMIT)
    finally:
        await conn.close()
    if free < NEEDED_CONNECTIONS:
        raise Busy(f"PostgreSQL answers but has only {free} free connections; the tests need "
                   f"{NEEDED_CONNECTIONS}. Other programs hold the rest: end them, or raise max_connections "
                   "in postgresql.conf (SHOW config_file; then restart PostgreSQL yourself).")
    return None


async def check_rabbitmq() -> str | None:
    """Handshake, declare a queue, publish with a confirm and get the message back."""
    name = f"doorstroom.check.{uuid.uuid4().hex[:8]}"
    try:
        connection = await aio_pika.connect(AMQP, timeout=LIMIT)
    except Exception as exc:  # noqa: BLE001
        return f"RabbitMQ does not complete the AMQP handshake: {exc!r}"
    try:
        async with connection:
            channel = await asyncio.wait_for(connection.channel(publisher_confirms=True), LIMIT)
            queue = await asyncio.wait_for(channel.declare_queue(name, auto_delete=True), LIMIT)
            await channel.default_exchange.publish(aio_pika.Message(b"ok"), name, timeout=LIMIT)
            message = await asyncio.wait_for(queue.get(fail=False), LIMIT)
            await asyncio.wait_for(queue.delete(if_unused=False, if_empty=False), LIMIT)
            if message is None or message.body != b"ok":
                return "RabbitMQ confirmed a message but did not deliver it"
    except Exception as exc:  # noqa: BLE001
        return f"RabbitMQ does not publish or deliver (a resource alarm?): {exc!r}"
    return None


CHECKS = {"postgres": check_postgres, "rabbitmq": check_rabbitmq}


async def main(names: list[str]) -> int:
    for name in names or list(CHECKS):
        try:
            problem = await CHECKS[name]()
        except Busy as busy:
            print(busy, file=sys.stderr)
            return 2
        if problem:
            print(problem, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
