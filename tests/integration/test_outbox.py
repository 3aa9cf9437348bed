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


async def _refused_rows(pool, n: int, *, attempts: int = 1) -> None:
    """``n`` rows the broker refused before, due again now."""
    async with pool.acquire() as conn, conn.transaction():
        for i in range(n):
            await Outbox("test").add(conn, sample_event(i))
        await conn.execute("UPDATE outbox SET attempts = $1, next_attempt_at = now() - interval '1 minute'", attempts)


async def test_a_fresh_row_is_claimed_before_a_full_batch_of_due_retries(unique):
    async with database(f"outbox_fresh_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        await _refused_rows(pool, 300)  # nobody listens: they will be refused again
        async with pool.acquire() as conn, conn.transaction():
            fresh = await Outbox("test").add(conn, sample_event(999))
        relay = OutboxRelay(pool, b, dsn, batch_size=50)
        probe = await Probe.bind(b, "#")  # from now on every event is routable: see what comes first
        await relay.publish_batch()
        first = await probe.wait_for(1)
        assert first[0]["id"] == str(fresh.id), "the fresh event goes out in the first batch, before any retry"
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT published_at IS NOT NULL FROM outbox WHERE event_id = $1", fresh.id)


async def test_a_row_refused_too_often_is_parked_listed_and_replayed(unique):
    import subprocess
    import sys

    from shared.parked import list_parked_outbox, replay_outbox
    from tests.support.apps import ROOT
    async with database(f"outbox_park_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        relay = OutboxRelay(pool, b, dsn, max_attempts=3)
        async with pool.acquire() as conn, conn.transaction():
            event = await Outbox("test").add(conn, sample_event())
        for attempt in range(1, 4):
            assert await relay.drain() == 1
            async with pool.acquire() as conn:
                row = await conn.fetchrow("SELECT attempts, parked_at, last_error FROM outbox")
                await conn.execute("UPDATE outbox SET next_attempt_at = now()")  # time passes
            assert row["attempts"] == attempt and (row["parked_at"] is not None) == (attempt == 3)
        assert "NO_ROUTE" in row["last_error"] or "DeliveryError" in row["last_error"]
        assert await relay.drain() == 0, "a parked row is not tried again"

        proc = subprocess.run([sys.executable, "-m", "shared.parked", "list", "--service", "test", "--outbox"],
                              cwd=ROOT, env={"DATABASE_URL": dsn, "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and "1 geparkeerde gebeurtenissen" in proc.stderr
        assert str(event.id) in proc.stdout and "identity.verification_requested" in proc.stdout
        [parked] = await list_parked_outbox(dsn)
        assert parked.attempts == 3

        probe = await Probe.bind(b, "#")  # the operator binds a queue, then puts the event back
        assert await replay_outbox(dsn) == 1
        assert await relay.drain() == 1
        await probe.wait_for(1)
        assert await list_parked_outbox(dsn) == []


async def test_housekeeping_deletes_parked_rows_only_after_their_own_retention(unique):
    from datetime import timedelta
    async with database(f"outbox_hk_parked_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        relay = OutboxRelay(pool, b, dsn, parked_retention=timedelta(days=90))
        async with pool.acquire() as conn, conn.transaction():
            for i in range(2):
                await Outbox("test").add(conn, sample_event(i))
            await conn.execute("UPDATE outbox SET attempts = 10, parked_at = now() - interval '40 days'")
            await conn.execute("""UPDATE outbox SET parked_at = now() - interval '100 days'
                                  WHERE id = (SELECT min(id) FROM outbox)""")
        await relay.housekeeping()
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 1


async def test_with_the_archive_nothing_is_unroutable(unique):
    from shared.bus import Archive
    from tests.support.events import broker as make_broker
    exchange = f"ex.{unique}"
    async with database(f"outbox_arch_{unique}") as (pool, dsn), make_broker(exchange) as plain:
        b = type(plain)(plain.url, exchange, "test", archive=Archive(exchange, max_age="1h"))
        await b.connect()
        try:
            relay = OutboxRelay(pool, b, dsn)
            async with pool.acquire() as conn, conn.transaction():
                for i in range(30):
                    await Outbox("test").add(conn, sample_event(i))
            assert await relay.drain() == 30
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
                assert await conn.fetchval("SELECT max(attempts) FROM outbox") == 0
        finally:
            channel = await b.connection.channel()
            await channel.queue_delete(f"{exchange}.archive")
            await b.close()
