"""Every background loop stops when asked, every time: cancelled while wake-ups stream in (a
signal from the process and real NOTIFYs from PostgreSQL), each loop must end at once, a thousand
times in a row. On Python 3.11, ``asyncio.wait_for(event.wait(), t)`` swallows a cancellation
that arrives as the event is set, and the loops built on it then ran for ever (a hung SIGTERM, a
hung test suite)."""
from __future__ import annotations

import asyncio
import random
from contextlib import asynccontextmanager

import pytest

from services.document.print_job_worker import PrintJobWorker
from services.document.settings import DocumentSettings
from services.identity.roster_import_worker import RosterImportWorker
from services.identity.settings import IdentitySettings
from services.notification.deliveries import DeliveryWorker
from services.notification.settings import NotificationSettings
from services.notification.smtp import SmtpPool
from shared import db
from shared.loops import Wakeup, Worker, wait_event
from shared.outbox import Outbox, OutboxRelay
from shared.periodic import PeriodicJob
from shared.revocations import Revocations, RevocationWatcher
from tests.support import env
from tests.support.events import broker

ROUNDS = 1000
AT_ONCE = 2.0  # seconds: "at once", with room for a loaded machine


@asynccontextmanager
async def database(name: str, *migrations: tuple[str, str]):
    dsn = env.database_url(name)
    await db.ensure_database(dsn)
    pool = await db.create_pool(dsn, min_size=1, max_size=4)
    await db.migrate(pool, [("shared", "shared.migrations"), *migrations])
    try:
        yield pool, dsn
    finally:
        await pool.close()


async def _stream_notifies(dsn: str, channel: str, stop: asyncio.Event) -> None:
    import asyncpg
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            await conn.execute(f"NOTIFY {channel}")
    finally:
        await conn.close()


async def _stream_wakeups(worker: Worker, stop: asyncio.Event) -> None:
    while not stop.is_set():
        worker.wake()
        await asyncio.sleep(0)


async def cancel_many_times(worker: Worker, dsn: str, channel: str | None) -> None:
    """Start the loop, let it run a little under a stream of wake-ups, cancel it, require it to end
    within AT_ONCE; ROUNDS times. Then the same with stop() instead of a cancellation."""
    stop_streams = asyncio.Event()
    streams = [asyncio.create_task(_stream_wakeups(worker, stop_streams))]
    if channel:
        streams.append(asyncio.create_task(_stream_notifies(dsn, channel, stop_streams)))
    rng = random.Random(9)
    try:
        for round_no in range(ROUNDS):
            task = asyncio.create_task(worker.run())
            for _ in range(rng.randrange(0, 6)):  # the cancel lands at varying points of the loop
                await asyncio.sleep(0)
            if rng.random() < 0.2:
                await asyncio.sleep(rng.random() / 200)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=AT_ONCE)
            assert task in done, f"{worker.name} did not end when cancelled (round {round_no})"
        task = asyncio.create_task(worker.run())
        await asyncio.sleep(0.05)
        worker.stop()
        done, _ = await asyncio.wait({task}, timeout=AT_ONCE)
        assert task in done and task.exception() is None, f"{worker.name} did not end when stopped"
    finally:
        stop_streams.set()
        await asyncio.gather(*streams, return_exceptions=True)
        await worker.close()


async def test_wait_event_never_swallows_a_cancellation():
    """The helper itself, at the exact race: the event is set and the task cancelled in the same
    turn of the loop, or a turn or two apart."""
    for round_no in range(ROUNDS):
        event = asyncio.Event()
        task = asyncio.create_task(wait_event(event, 30))
        await asyncio.sleep(0)
        event.set()
        for _ in range(round_no % 3):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=AT_ONCE)
        assert task in done
        # either it saw the event before the cancel arrived, or it was cancelled: never stuck
        assert task.cancelled() or task.result() is True


async def test_a_wakeup_times_out_and_a_set_one_wakes():
    wakeup = Wakeup()
    assert await wakeup.wait(0.01) is False
    wakeup.set()
    assert await wakeup.wait(5) is True
    assert await wakeup.wait(0.01) is False, "a wake-up is consumed once"


async def test_outbox_relay_stops_when_cancelled_under_wakeups(unique):
    async with database(f"loop_relay_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        async with pool.acquire() as conn, conn.transaction():  # something to publish now and then
            await conn.execute("SELECT 1")
        relay = OutboxRelay(pool, b, dsn, poll_seconds=30)
        await cancel_many_times(relay, dsn, "outbox")
        # and it still works afterwards
        outbox = Outbox("test")
        from tests.support.events import Probe, sample_event
        probe = await Probe.bind(b, "#")
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, sample_event())
        assert await relay.drain() == 1
        await probe.wait_for(1)


async def test_delivery_worker_stops_when_cancelled_under_wakeups(unique):
    async with database(f"loop_deliv_{unique}", ("notification", "services.notification.migrations")) as (pool, dsn):
        settings = NotificationSettings(database_url=dsn, delivery_poll_seconds=30)
        worker = DeliveryWorker(pool, SmtpPool(settings), settings, dsn)
        await cancel_many_times(worker, dsn, "deliveries")


async def test_print_job_worker_stops_when_cancelled_under_wakeups(unique):
    async with database(f"loop_print_{unique}", ("document", "services.document.migrations")) as (pool, dsn):
        settings = DocumentSettings(database_url=dsn, print_job_poll_seconds=30)
        worker = PrintJobWorker(pool, None, settings, Outbox("document"), dsn)  # no job: nothing renders
        await cancel_many_times(worker, dsn, "print_jobs")


async def test_roster_import_worker_stops_when_cancelled_under_wakeups(unique):
    async with database(f"loop_roster_{unique}", ("identity", "services.identity.migrations")) as (pool, dsn):
        settings = IdentitySettings(database_url=dsn, roster_import_poll_seconds=30)
        worker = RosterImportWorker(pool, Outbox("identity"), settings)
        try:
            await cancel_many_times(worker, dsn, None)
        finally:
            worker._drop_connection()


async def test_access_revocation_watcher_stops_when_cancelled_under_wakeups(unique):
    async with database(f"loop_revoke_{unique}") as (pool, dsn):
        watcher = RevocationWatcher(pool, dsn, Revocations(keep_seconds=960), poll_seconds=30)
        await cancel_many_times(watcher, dsn, "access_revocations")


@pytest.mark.parametrize("failing", [False, True])
async def test_periodic_job_stops_when_cancelled_under_wakeups(failing):
    runs = []

    async def job(app) -> None:
        runs.append(1)
        await asyncio.sleep(0)
        if failing:
            raise RuntimeError("kapot")

    await cancel_many_times(PeriodicJob("test-job", 30, job, app=None), "", None)
    assert runs
