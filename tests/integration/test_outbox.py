"""The transactional outbox and its relay, against real PostgreSQL and RabbitMQ."""
from __future__ import annotations

import asyncio
from collections import Counter

from shared.outbox import Outbox, OutboxRelay
from tests.support.events import Probe, broker, database, sample_event


async def test_event_is_published_after_commit_and_never_after_rollback(unique):
    async with database(f"outbox_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        probe = await Probe.bind(b, "identity.#")
        relay = OutboxRelay(pool, b, dsn)
        outbox = Outbox("test")

        async with pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            kept = await outbox.add(conn, sample_event(1))
            assert await relay.drain() == 0, "an uncommitted event must not be visible to the relay"
            await tx.commit()

            tx = conn.transaction()
            await tx.start()
            await outbox.add(conn, sample_event(2))
            await tx.rollback()

        assert await relay.drain() == 1
        [envelope] = await probe.wait_for(1)
        assert envelope["id"] == str(kept.id)
        assert envelope["type"] == "identity.verification_requested"
        await asyncio.sleep(0.3)
        assert len(probe.received) == 1
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def test_outbox_refuses_to_write_outside_a_transaction(unique):
    async with database(f"outbox_notx_{unique}") as (pool, _):
        async with pool.acquire() as conn:
            try:
                await Outbox("test").add(conn, sample_event())
            except RuntimeError:
                pass
            else:
                raise AssertionError("outbox.add outside a transaction must fail")


async def test_two_relays_publish_each_row_once(unique):
    async with database(f"outbox_two_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b1, \
            broker(f"ex.{unique}") as b2:
        probe = await Probe.bind(b1, "#")
        outbox = Outbox("test")
        async with pool.acquire() as conn, conn.transaction():
            for i in range(600):
                await outbox.add(conn, sample_event(i))
        r1 = OutboxRelay(pool, b1, dsn, batch_size=50)
        r2 = OutboxRelay(pool, b2, dsn, batch_size=50)
        claimed = await asyncio.gather(r1.drain(), r2.drain())
        assert sum(claimed) == 600
        assert all(n > 0 for n in claimed), f"both relays should have worked: {claimed}"
        received = await probe.wait_for(600)
        await asyncio.sleep(0.5)
        counts = Counter(e["id"] for e in probe.received)
        assert len(counts) == 600 and max(counts.values()) == 1, "every row exactly once"
        assert len(received) == 600


async def test_relay_wakes_on_notify_and_publishes_without_being_asked(unique):
    async with database(f"outbox_wake_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        probe = await Probe.bind(b, "#")
        relay = OutboxRelay(pool, b, dsn, poll_seconds=30)  # polling alone would be far too slow
        task = asyncio.create_task(relay.run())
        try:
            await asyncio.sleep(0.5)
            async with pool.acquire() as conn, conn.transaction():
                await Outbox("test").add(conn, sample_event())
            await probe.wait_for(1, timeout=5)
        finally:
            task.cancel()
            await relay.close()


async def test_unroutable_event_raises_and_stays_pending_with_its_error(unique):
    async with database(f"outbox_unroutable_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        relay = OutboxRelay(pool, b, dsn)
        async with pool.acquire() as conn, conn.transaction():
            await Outbox("test").add(conn, sample_event())
        assert await relay.drain() == 1
        async with pool.acquire() as conn:
            row = await conn.fetchrow("SELECT published_at, attempts, last_error, next_attempt_at > now() AS later FROM outbox")
        assert row["published_at"] is None and row["attempts"] == 1 and row["later"]
        assert "DeliveryError" in row["last_error"] or "NO_ROUTE" in row["last_error"]
        # once a queue is bound, the row goes out
        probe = await Probe.bind(b, "#")
        async with pool.acquire() as conn:
            await conn.execute("UPDATE outbox SET next_attempt_at = now()")
        assert await relay.drain() == 1
        await probe.wait_for(1)


async def test_housekeeping_forgets_old_published_rows_and_old_inbox_rows_only(unique):
    import uuid as _uuid
    async with database(f"outbox_hk_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        relay = OutboxRelay(pool, b, dsn)
        async with pool.acquire() as conn, conn.transaction():
            for i in range(3):
                await Outbox("test").add(conn, sample_event(i))
            await conn.execute("""UPDATE outbox SET published_at = now() - interval '40 days'
                                  WHERE id = (SELECT min(id) FROM outbox)""")
            await conn.execute("""UPDATE outbox SET created_at = now() - interval '40 days'
                                  WHERE id = (SELECT max(id) FROM outbox)""")  # old but never sent
            await conn.execute("INSERT INTO inbox VALUES ('c', $1, 't', now() - interval '40 days')", _uuid.uuid4())
            await conn.execute("INSERT INTO inbox VALUES ('c', $1, 't', now())", _uuid.uuid4())
        assert await relay.housekeeping() == (1, 1)
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 2
            assert await conn.fetchval("SELECT count(*) FROM inbox") == 1
