"""The fault suite: a burst of work, one fault, and at the end the counts are equal: events
written = events consumed = distinct mails at the SMTP sink; nothing lost, nothing duplicated (a
resend after a crash between the SMTP server's acceptance and its record is counted and
reported, never hidden, and carries the same Message-ID)."""
from __future__ import annotations

import asyncio
import os
import signal
import time

import aio_pika
import pytest

from services.notification.app import WORKER
from shared.app import CONSUMER
from shared.parked import list_parked
from tests.faults.pipeline import Pipeline, assert_exact
from tests.support.wait import eventually
from tests.support import env

pytestmark = pytest.mark.slow


async def test_broker_unreachable_during_commits(unique):
    async with Pipeline(unique, broker_proxy=True) as p:
        await p.write(20)
        await p.settle(20)
        p.broker_proxy.cut()
        await eventually(lambda: not p.producer_broker.is_connected, 10, "the relay noticed the cut")
        started = time.monotonic()
        await p.write(200)  # every commit succeeds while the broker is away
        await asyncio.sleep(1)
        assert p.distinct() == 20, "nothing can have been published meanwhile"
        p.broker_proxy.restore()
        await p.settle(220)
        f = await p.figures("broker unreachable during 200 commits",
                            recovered_seconds=round(time.monotonic() - started, 1))
    assert_exact(f)


async def test_broker_link_lost_and_back_in_a_1000_event_burst(unique):
    async with Pipeline(unique, broker_proxy=True) as p:
        burst = asyncio.create_task(p.write(1000, concurrency=10))
        await eventually(lambda: p.distinct() >= 200, 60, "the burst is under way")
        p.broker_proxy.cut()  # the relay and the consumer both lose their link
        cut_at = time.monotonic()
        await asyncio.sleep(2)
        p.broker_proxy.restore()
        await burst
        await p.settle(1000, timeout=120)
        f = await p.figures("broker link lost for 2 s in a 1,000-event burst",
                            recovered_seconds=round(time.monotonic() - cut_at, 1))
    assert_exact(f)


async def test_network_to_the_broker_cut_for_10_seconds(unique):
    async with Pipeline(unique, broker_proxy=True) as p:
        writing = asyncio.create_task(p.write(300, concurrency=2, pause=0.05))
        await eventually(lambda: p.distinct() >= 30, 60, "the work is under way")
        p.broker_proxy.cut()
        cut_at = time.monotonic()
        await asyncio.sleep(10)
        during = p.distinct()
        p.broker_proxy.restore()
        restored_at = time.monotonic()
        await writing
        await p.settle(300, timeout=120)
        first_after = time.monotonic() - restored_at
        f = await p.figures("network to the broker cut for 10 s while events are written",
                            mails_before_restore=during, seconds_from_restore_to_all=round(first_after, 1),
                            cut_seconds=round(restored_at - cut_at, 1))
    assert_exact(f)


async def test_relay_killed_between_publish_and_mark(unique):
    """The relay publishes a batch (confirmed by the broker) and dies before it marks the rows:
    the next relay publishes them again, and the consumer's inbox makes that a no-op."""
    async with Pipeline(unique) as p:
        p.relay.stop()
        await asyncio.wait({p.relay_task}, timeout=5)
        await p.write(50)
        published = asyncio.Event()
        real_publish = p.producer_broker.publish
        count = 0

        async def publish_then_die(*args, **kwargs):
            nonlocal count
            await real_publish(*args, **kwargs)  # the broker confirmed it
            count += 1
            if count == 50:
                published.set()
            await asyncio.Event().wait()  # ... and the process dies before marking anything

        p.producer_broker.publish = publish_then_die
        from shared.outbox import OutboxRelay
        doomed = OutboxRelay(p.producer_pool, p.producer_broker, p.producer_dsn)
        dying = asyncio.create_task(doomed.publish_batch())
        await asyncio.wait_for(published.wait(), 10)
        dying.cancel()  # killed: its transaction rolls back, the rows are still pending
        await asyncio.gather(dying, return_exceptions=True)
        async with p.producer_pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 50
        p.producer_broker.publish = real_publish
        survivor = OutboxRelay(p.producer_pool, p.producer_broker, p.producer_dsn)
        assert await survivor.drain() == 50  # every event goes out a second time
        await p.settle(50)
        f = await p.figures("relay killed between publish and mark (50 events published twice)")
    assert_exact(f)


async def test_database_unreachable_longer_than_the_whole_retry_schedule(unique):
    """Notification's database goes away mid-burst for 8 s, far longer than the retry schedule
    (0.2 + 0.4 s here): nothing is parked, everything is handled once it is back."""
    async with Pipeline(unique, db_proxy=True) as p:
        app = p.notification_apps[0]
        writing = asyncio.create_task(p.write(400, concurrency=4, pause=0.01))
        await eventually(lambda: p.distinct() >= 50, 60, "the work is under way")
        p.db_proxy.cut()
        cut_at = time.monotonic()
        await eventually(lambda: not app[CONSUMER].database_reachable, 20, "the consumer noticed")
        ready = await (await p.clients[0].get("/readyz")).json()
        assert ready["status"] == 503 and ready["checks"] == {"database": False, "broker": True}
        assert "database" in ready["detail"]
        r = await p.clients[0].get("/v1/deliveries/stats", headers=p.issuer.headers("admin"))  # needs the database
        assert r.status == 503 and r.headers["Retry-After"] == "30"
        assert "niet bereikbaar" in (await r.json())["detail"]
        await asyncio.sleep(8)
        p.db_proxy.restore()
        restored_at = time.monotonic()
        await writing
        await p.settle(400, timeout=120)
        parked = await list_parked(env.AMQP_URL, p.exchange, "notification")
        f = await p.figures("notification's database unreachable for 8 s mid-burst (retry schedule 0.6 s)",
                            parked=len(parked), outage_seconds=round(restored_at - cut_at, 1),
                            seconds_from_restore_to_all=round(time.monotonic() - restored_at, 1))
    assert parked == [], "an outage parks nothing"
    assert_exact(f)


async def test_a_poison_message_among_good_ones_is_parked_and_the_others_flow(unique):
    async with Pipeline(unique) as p:
        await p.write(100)
        channel = await p.producer_broker.connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(p.exchange)
        for body in (b"{geen json", b'{"id": "x"}'):
            await exchange.publish(aio_pika.Message(body, message_id="poison"), "identity.verification_requested")
        await p.write(100)
        await p.settle(200)
        parked = await eventually(lambda: _parked(p, 2), 30, "both poison messages parked")
        f = await p.figures("two poison messages among 200 good ones", parked=len(parked))
    assert {m.message_id for m in parked} == {"poison"}
    assert_exact(f)


async def _parked(p: Pipeline, n: int):
    found = await list_parked(env.AMQP_URL, p.exchange, "notification")
    return found if len(found) >= n else None


async def test_smtp_answering_4xx_then_5xx(unique):
    """The mail server answers 451 to everything for a while (mails wait and are tried again),
    then takes the mails, except for two addresses it now refuses with 550: those end failed
    with their reason in the stats, every other mail arrives once."""
    async with Pipeline(unique, delivery_max_attempts=20) as p:
        p.sink.tempfail_all = True
        await p.write(100)
        rejected = await p.write(2, prefix="reject")
        await eventually(_has_retried(p), 30, "mails were refused with 451 and wait")
        p.sink.tempfail_all = False
        await p.settle(100, timeout=60)
        stats = await (await p.clients[0].get("/v1/deliveries/stats", headers=p.issuer.headers("admin"))).json()
        f = await p.figures("SMTP 451 for everything, then 550 for two addresses", stats=stats)
    assert stats["counts"]["failed"] == 2 and stats["failed_by_kind"] == {"smtp_rejected": 2}
    assert not p.recipients_mailed() & set(rejected)
    assert_exact(f, failed=2)


def _has_retried(p: Pipeline):
    import asyncpg

    async def check() -> bool:
        conn = await asyncpg.connect(p.notification_dsn)
        try:
            return await conn.fetchval("SELECT count(*) FROM deliveries WHERE attempts >= 2") >= 50
        finally:
            await conn.close()
    return check


async def test_three_notification_workers_against_a_slow_smtp_server(unique):
    """Each mail takes 0.25 s to be accepted, so a connection's claim (8 mails) is in hand for 2 s,
    twice its 1 s lease: only the renewal of the lease keeps the other two workers from taking the
    same mails and sending them again."""
    async with Pipeline(unique, notifications=3, delivery_lease_seconds=1, smtp_connections=2) as p:
        p.sink.delay = 0.25
        await p.write(180)
        await p.settle(180, timeout=120)
        lost = sum(app[WORKER].lost_claims for app in p.notification_apps)
        f = await p.figures("three notification workers, SMTP answering in 0.25 s, lease 1 s",
                            lost_claims=lost)
    assert lost == 0
    assert_exact(f)


async def test_a_notification_worker_killed_with_mails_in_hand(unique):
    """SIGKILL in a 600-mail burst against a slow mail server: each mail's outcome is recorded as
    soon as the server accepted it, so at most one mail per SMTP connection is sent again (after
    the lease), with the same Message-ID."""
    async with Pipeline(unique, notification_process=True, delivery_lease_seconds=2, smtp_connections=4) as p:
        p.sink.delay = 0.02
        writing = asyncio.create_task(p.write(600))
        await eventually(lambda: p.distinct() >= 150, 60, "mails are being sent")
        first = p.processes[0]
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        killed_at = time.monotonic()
        await p.start_notification()
        await writing
        await p.settle(600, timeout=120)
        f = await p.figures("notification SIGKILLed in a 600-mail burst with mails in hand",
                            seconds_from_kill_to_all=round(time.monotonic() - killed_at, 1))
    assert_exact(f, resend_allowance=4)


async def test_a_consumer_killed_before_its_ack(unique):
    """SIGKILL while the consumer has messages in hand (handled and committed, not yet acked, or
    not yet handled): the broker delivers them again, and the inbox makes each one count once."""
    async with Pipeline(unique, notification_process=True, consumer_prefetch=64) as p:
        first = p.processes[0]
        writing = asyncio.create_task(p.write(600, concurrency=30))
        await eventually(lambda: p.distinct() >= 100, 60, "the consumer is busy")
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait()
        second = await p.start_notification()
        await writing
        await p.settle(600, timeout=120)
        duplicates_ignored = second.log_path.read_text().count("duplicate event ignored")
        f = await p.figures("consumer SIGKILLed with unacknowledged messages in a 600-event burst",
                            redelivered_and_ignored=duplicates_ignored)
    assert_exact(f, resend_allowance=4)


async def test_ten_thousand_unsubscribed_events_do_not_hold_up_a_fresh_one(unique):
    """10,000 events nobody subscribes to (and no archive to take them): the broker refuses each,
    and they are tried again later and finally parked; a fresh event still goes out first."""
    async with Pipeline(unique) as p:
        async with p.producer_pool.acquire() as conn:
            await conn.execute(
                """INSERT INTO outbox (event_id, event_type, envelope)
                   SELECT gen_random_uuid(), 'dossier.created',
                          jsonb_build_object('id', gen_random_uuid(), 'type', 'dossier.created',
                                             'source', '/doorstroom/dossier', 'time', now(), 'data', '{}'::jsonb,
                                             'specversion', '1.0', 'dataversion', 1)
                   FROM generate_series(1, 10000)""")
        await eventually(_all_tried(p), 120, "every unsubscribed event was tried once")
        async with p.producer_pool.acquire() as conn:  # they are all due again now
            await conn.execute("UPDATE outbox SET next_attempt_at = now() WHERE event_type = 'dossier.created'")
        started = time.monotonic()
        await p.write(1)
        await p.settle(1, timeout=30)
        latency = time.monotonic() - started
        f = await p.figures("a fresh event behind 10,000 refused ones", fresh_event_to_mail_seconds=round(latency, 3))
    assert_exact(f)


def _all_tried(p: Pipeline):
    async def check() -> bool:
        async with p.producer_pool.acquire() as conn:
            return await conn.fetchval("SELECT count(*) FROM outbox WHERE attempts = 0") == 0
    return check


async def test_a_notification_worker_stopped_with_sigterm_hands_back_its_mails(unique):
    """SIGTERM in a burst against a slow mail server: the mails in hand are finished and recorded,
    the claimed but unsent ones handed back at once; the process ends cleanly within its grace
    period, and the next one sends the rest: no mail twice."""
    async with Pipeline(unique, notification_process=True, delivery_lease_seconds=60, smtp_connections=4) as p:
        p.sink.delay = 0.05
        await p.write(300)
        await eventually(lambda: p.distinct() >= 60, 60, "mails are being sent")
        stopped_at = time.monotonic()
        code = await p.processes[0].stop(timeout=20)  # SIGTERM; SIGKILL only after 20 s
        stop_seconds = time.monotonic() - stopped_at
        assert code == 0, "SIGTERM ends the service cleanly"
        await p.start_notification()  # the lease is a minute: only a hand-back lets this one send now
        await p.settle(300, timeout=60)
        f = await p.figures("notification stopped with SIGTERM in a 300-mail burst",
                            seconds_to_stop=round(stop_seconds, 1))
    assert_exact(f)


async def test_cold_start_a_service_started_before_its_database_and_broker_waits_for_them(unique):
    """Cold start in any order: PostgreSQL and RabbitMQ refuse connections when the service starts
    (as in a compose or Kubernetes start where they come up later); it keeps trying, logs it, and is
    ready soon after they are there."""
    from tests.support.apps import ServiceProcess
    from tests.support.tcp_proxy import TcpProxy

    pg = await TcpProxy("127.0.0.1", 5432).start()
    mq = await TcpProxy("127.0.0.1", 5672).start()
    pg.cut()
    mq.cut()
    service = ServiceProcess("notification", db=f"cold_{unique}", log_level="INFO", event_exchange=f"ex.{unique}",
                             database_url=env.database_url(f"cold_{unique}").replace(":5432/", f":{pg.port}/"),
                             amqp_url=f"amqp://guest:guest@127.0.0.1:{mq.port}/", startup_timeout_seconds=60)
    starting = asyncio.create_task(service.start(timeout=60))
    try:
        await asyncio.sleep(3)
        assert not starting.done(), "it waits instead of exiting"
        pg.restore()
        await asyncio.sleep(2)
        assert not starting.done(), "it waits for the broker too"
        mq.restore()
        await starting
        log = service.log_path.read_text()
        assert "PostgreSQL not reachable yet, trying again" in log and "RabbitMQ not reachable yet, trying again" in log
        assert await service.stop() == 0
    finally:
        if not starting.done():
            starting.cancel()
        if service.proc is not None and service.proc.poll() is None:
            service.proc.kill()
        await pg.close()
        await mq.close()


async def test_a_service_gives_up_when_its_database_never_comes(unique):
    from tests.support.apps import ServiceProcess
    from tests.support.tcp_proxy import TcpProxy

    pg = await TcpProxy("127.0.0.1", 5432).start()
    pg.cut()
    service = ServiceProcess("notification", db=f"never_{unique}", event_exchange=f"ex.{unique}",
                             database_url=env.database_url(f"never_{unique}").replace(":5432/", f":{pg.port}/"),
                             startup_timeout_seconds=2)
    try:
        with pytest.raises(RuntimeError, match="exited"):
            await service.start(timeout=30)
        assert service.proc.returncode != 0
        assert "PostgreSQL not reachable, giving up" in service.log_path.read_text()
    finally:
        await pg.close()
