"""The event archive: a RabbitMQ stream bound to every event type keeps every event (so nothing
is unroutable), lists a time range, and replays it into one consumer's queue, where the inbox
makes what was handled before a no-op and events without a handler there are ignored."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

from shared.bus import Archive, Broker
from shared.archive import read_archive, replay
from shared.consumer import Consumer, Subscription
from shared.events.identity_events import PasswordChanged
from shared.outbox import Outbox, OutboxRelay
from shared.parked import list_parked
from tests.support import env
from tests.support.apps import ROOT
from tests.support.events import database, sample_event
from tests.support.wait import eventually

EVENT = "identity.verification_requested"


async def test_archive_keeps_lists_and_replays_into_one_consumer(unique):
    exchange = f"ex.{unique}"
    b = Broker(env.AMQP_URL, exchange, "test", archive=Archive(exchange, max_age="1h"))
    await b.connect()
    try:
        async with database(f"archive_{unique}") as (pool, dsn):
            async with pool.acquire() as conn:
                await conn.execute("CREATE TABLE effects (event_id uuid PRIMARY KEY)")

            async def handler(conn, envelope, data):
                await conn.execute("INSERT INTO effects VALUES ($1)", envelope.id)

            outbox, relay = Outbox("identity"), OutboxRelay(pool, b, dsn)
            since = datetime.now(UTC)
            # before the consumer exists (a new subscriber): nobody but the archive hears these
            async with pool.acquire() as conn, conn.transaction():
                early = [await outbox.add(conn, sample_event(i)) for i in range(5)]
                other = await outbox.add(conn, PasswordChanged(account_id=uuid.uuid4(), email="x@example.nl",
                                                               changed_at=datetime.now(UTC)))
            assert await relay.drain() == 6, "routable: the archive takes them"

            consumer = Consumer("replayed", b, pool, [Subscription(EVENT, handler)], retry_delays_ms=(100,),
                                queue_type="classic")
            await consumer.start()
            async with pool.acquire() as conn, conn.transaction():
                late = [await outbox.add(conn, sample_event(i)) for i in range(5, 8)]
            await relay.drain()

            async def effects(n):
                return await pool.fetchval("SELECT count(*) FROM effects") == n
            await eventually(lambda: effects(3), 15, "the subscriber hears the events after it came")

            found = await read_archive(env.AMQP_URL, exchange, since=since, idle_seconds=1)
            assert [e.message_id for e in found] == [str(e.id) for e in early + [other] + late]
            only = await read_archive(env.AMQP_URL, exchange, since=since, types={EVENT}, idle_seconds=1)
            assert len(only) == 8
            until = await read_archive(env.AMQP_URL, exchange, since=since, until=late[0].time, idle_seconds=1)
            assert [e.message_id for e in until] == [str(e.id) for e in early + [other]]

            # the operator replays the whole range into the new consumer: it catches up
            assert await replay(env.AMQP_URL, exchange, "replayed", found) == 9
            await eventually(lambda: effects(8), 15, "the 5 missed events are handled, the 3 others not again")
            await asyncio.sleep(0.5)
            assert await pool.fetchval("SELECT count(*) FROM effects") == 8
            assert await list_parked(env.AMQP_URL, exchange, "replayed") == [], \
                "an event without a handler here is ignored, not parked"
            await consumer.stop()

            # the command line
            cli = subprocess.run(
                [sys.executable, "-m", "shared.archive", "list", "--since", (since - timedelta(seconds=1)).isoformat()],
                cwd=ROOT, env={"AMQP_URL": env.AMQP_URL, "EVENT_EXCHANGE": exchange, "PATH": "/usr/bin:/bin"},
                capture_output=True, text=True, timeout=60)
            assert cli.returncode == 0 and "9 gebeurtenissen in het archief" in cli.stderr
            assert str(other.id) in cli.stdout and "identity.password_changed" in cli.stdout
            assert "x@example.nl" not in cli.stdout, "the listing shows no payload"
    finally:
        channel = await b.connection.channel()
        for queue in (f"{exchange}.archive", f"{exchange}.replayed", f"{exchange}.replayed.parked",
                      f"{exchange}.replayed.retry.1"):
            await channel.queue_delete(queue)
        await b.close()


async def test_a_changed_retention_keeps_the_existing_archive(unique, caplog):
    exchange = f"ex.{unique}"
    first = Broker(env.AMQP_URL, exchange, "a", archive=Archive(exchange, max_age="1h"))
    await first.connect()
    second = Broker(env.AMQP_URL, exchange, "b", archive=Archive(exchange, max_age="2h"))
    try:
        await second.connect()  # does not fail: the stream stays as it is, with a warning
        assert second.is_connected
        assert "event archive exists with other arguments" in caplog.text
    finally:
        channel = await first.connection.channel()
        await channel.queue_delete(f"{exchange}.archive")
        await first.close()
        await second.close()
