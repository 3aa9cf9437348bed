"""Consuming: inbox dedupe, retries with delays, parking and replay, against real services."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import asyncpg

from shared.consumer import Consumer, Subscription
from shared.events.envelope import Envelope
from shared.outbox import Outbox, OutboxRelay
from shared.parked import list_parked
from tests.support import env
from tests.support.apps import ROOT
from tests.support.events import broker, database, sample_event

EVENT = "identity.verification_requested"


async def _effects_table(pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS effects (event_id uuid, email text)")


async def _count(pool, sql="SELECT count(*) FROM effects") -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval(sql)


async def _eventually(predicate, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_duplicate_delivery_has_its_effect_once(unique):
    async with database(f"consumer_dup_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        await _effects_table(pool)

        async def handler(conn, envelope, data):
            await conn.execute("INSERT INTO effects VALUES ($1, $2)", envelope.id, str(data.email))

        consumer = Consumer("dup", b, pool, [Subscription(EVENT, handler)], retry_delays_ms=(100,))
        await consumer.start()
        env_ = Envelope(source="/test", type=EVENT, data=sample_event().model_dump(mode="json"))
        body = env_.model_dump_json().encode()
        for _ in range(3):  # the same event delivered three times
            await b.publish(EVENT, body, message_id=str(env_.id))
        assert await _eventually(lambda: _count(pool, "SELECT count(*) FROM inbox"))
        await asyncio.sleep(0.5)
        assert await _count(pool) == 1
        await consumer.stop()


async def test_failing_handler_is_retried_then_parked_while_others_flow_and_replay_works(unique):
    async with database(f"consumer_dlq_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        await _effects_table(pool)
        attempts: dict[str, int] = {}
        broken = {"poison@example.nl"}

        async def handler(conn, envelope, data):
            attempts[str(data.email)] = attempts.get(str(data.email), 0) + 1
            if str(data.email) in broken:
                raise RuntimeError("kapot")
            await conn.execute("INSERT INTO effects VALUES ($1, $2)", envelope.id, str(data.email))

        consumer = Consumer("dlq", b, pool, [Subscription(EVENT, handler)], retry_delays_ms=(100, 200, 300))
        await consumer.start()
        outbox, relay = Outbox("test"), OutboxRelay(pool, b, dsn)
        async with pool.acquire() as conn, conn.transaction():
            poison = sample_event().model_copy(update={"email": "poison@example.nl"})
            poison_env = await outbox.add(conn, poison)
            for i in range(20):
                await outbox.add(conn, sample_event(i))
        await relay.drain()

        assert await _eventually(lambda: _count_equals(pool, 20))
        parked = []

        async def is_parked():
            parked[:] = await list_parked(env.AMQP_URL, f"ex.{unique}", "dlq")
            return len(parked) == 1
        assert await _eventually(is_parked, 15)
        assert parked[0].message_id == str(poison_env.id)
        assert "kapot" in parked[0].error and parked[0].attempts == 4
        assert attempts["poison@example.nl"] == 4  # the first try and three retries
        # listing leaves it parked
        assert len(await list_parked(env.AMQP_URL, f"ex.{unique}", "dlq")) == 1

        broken.clear()  # the operator fixed the cause; the command replays it
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shared.parked", "replay", "--service", "dlq", cwd=ROOT,
            env={"AMQP_URL": env.AMQP_URL, "EVENT_EXCHANGE": f"ex.{unique}", "PATH": "/usr/bin:/bin"},
            stderr=subprocess.PIPE)
        _, err = await proc.communicate()
        assert proc.returncode == 0 and "1 berichten" in err.decode()
        assert await _eventually(lambda: _count_equals(pool, 21))
        assert await list_parked(env.AMQP_URL, f"ex.{unique}", "dlq") == []
        await consumer.stop()


async def test_message_that_is_not_an_envelope_is_parked_at_once(unique):
    async with database(f"consumer_poison_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        calls = []

        async def handler(conn, envelope, data):
            calls.append(envelope.id)

        consumer = Consumer("junk", b, pool, [Subscription(EVENT, handler)], retry_delays_ms=(100,))
        await consumer.start()
        await b.publish(EVENT, b"{not json", message_id=str(uuid.uuid4()))

        async def parked_one():
            return len(await list_parked(env.AMQP_URL, f"ex.{unique}", "junk")) == 1
        assert await _eventually(parked_one)
        assert calls == []
        await consumer.stop()


async def _count_equals(pool, n):
    return await _count(pool) == n


async def test_events_arriving_together_are_handled_in_shared_transactions_each_once(unique):
    """A burst (with every event also delivered twice) goes through in transactions of several
    events: each effect once, fewer transactions than events, and a failing handler among them
    costs the others nothing."""
    async with database(f"consumer_batch_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE effects (event_id uuid, email text, tx bigint)")
        runs: dict[str, int] = {}

        async def handler(conn, envelope, data):
            runs[str(data.email)] = runs.get(str(data.email), 0) + 1
            if str(data.email) == "kapot@example.nl":
                raise RuntimeError("kapot")
            await conn.execute("INSERT INTO effects VALUES ($1, $2, txid_current())", envelope.id, str(data.email))

        consumer = Consumer("batch", b, pool, [Subscription(EVENT, handler)], retry_delays_ms=(100,), prefetch=100)
        await consumer.start()
        events = [Envelope(source="/test", type=EVENT, data=sample_event(i).model_dump(mode="json")) for i in range(300)]
        broken = Envelope(source="/test", type=EVENT,
                          data=sample_event().model_copy(update={"email": "kapot@example.nl"}).model_dump(mode="json"))
        await asyncio.gather(*(b.publish(EVENT, e.model_dump_json().encode(), message_id=str(e.id))
                               for e in [*events[:150], broken, *events[150:], *events]))
        assert await _eventually(lambda: _count(pool, "SELECT count(DISTINCT event_id) FROM effects"), 30)

        async def all_in():
            return await _count(pool) == 300
        assert await _eventually(all_in, 30)
        await asyncio.sleep(0.5)
        assert await _count(pool) == 300  # each once, the duplicates too
        assert await _count(pool, "SELECT count(DISTINCT tx) FROM effects") < 300 / 2
        parked = await list_parked(env.AMQP_URL, f"ex.{unique}", "batch")

        async def broken_parked():
            parked[:] = await list_parked(env.AMQP_URL, f"ex.{unique}", "batch")
            return len(parked) == 1
        assert await _eventually(broken_parked, 15)
        assert parked[0].message_id == str(broken.id) and parked[0].attempts == 2
        assert runs["kapot@example.nl"] == 2  # its first try and its one retry: never run twice per try
        await consumer.stop()


async def test_an_event_handed_in_as_the_last_transaction_ends_is_not_left_behind(unique):
    """The next event comes in just after the only transaction under way has finished (before its
    task is cleared away): a new transaction takes it, it does not wait for ever."""
    async with database(f"consumer_gap_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        seen = []

        async def handler(conn, envelope, data):
            seen.append(envelope.id)

        consumer = Consumer("gap", b, pool, [Subscription(EVENT, handler)], retry_delays_ms=(100,),
                            batch_transactions=1)
        first = Envelope(source="/test", type=EVENT, data=sample_event(1).model_dump(mode="json"))
        # the state just after the only transaction's task ended, before its done-callback ran
        ended = asyncio.create_task(asyncio.sleep(0))
        await ended
        consumer._batches.add(ended)
        assert await asyncio.wait_for(consumer._together(first, consumer._payload(first)), 10) is True
        assert seen == [first.id]


async def test_a_lost_transaction_is_tried_again_without_spending_a_try(unique):
    """A deadlock or serialization failure (two transactions of events arriving together) is not
    the message's fault: with no retries at all configured, the event is still handled, once."""
    async with database(f"consumer_conflict_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        await _effects_table(pool)
        calls: dict[str, int] = {}
        lose = {"deadlock@example.nl": asyncpg.exceptions.DeadlockDetectedError,
                "serialization@example.nl": asyncpg.exceptions.SerializationError}

        async def handler(conn, envelope, data):
            email = str(data.email)
            calls[email] = calls.get(email, 0) + 1
            if email in lose and calls[email] <= 2:
                raise lose[email]("lost to another transaction")
            await conn.execute("INSERT INTO effects VALUES ($1, $2)", envelope.id, email)

        consumer = Consumer("conflict", b, pool, [Subscription(EVENT, handler)], retry_delays_ms=())
        await consumer.start()
        try:
            outbox, relay = Outbox("test"), OutboxRelay(pool, b, dsn)
            async with pool.acquire() as conn, conn.transaction():
                for email in lose:
                    await outbox.add(conn, sample_event().model_copy(update={"email": email}))
                for i in range(10):
                    await outbox.add(conn, sample_event(i))
            await relay.drain()
            assert await _eventually(lambda: _count_equals(pool, 12))
            assert await _count(pool, "SELECT count(DISTINCT event_id) FROM effects") == 12
            assert await list_parked(env.AMQP_URL, f"ex.{unique}", "conflict") == []
            assert all(calls[email] == 3 for email in lose)  # lost twice, then done
        finally:
            await consumer.stop()
