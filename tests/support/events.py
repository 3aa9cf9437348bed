"""Building blocks for event tests: a database with the shared tables, a broker, a probe queue."""
from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import aio_pika

from shared import db
from shared.bus import Broker
from shared.events.identity_events import VerificationRequested
from tests.support import env


def sample_event(n: int = 0) -> VerificationRequested:
    return VerificationRequested(verification_id=uuid.uuid4(), email=f"leerling{n}@example.nl",
                                 verify_url="http://localhost/v", expires_at=datetime.now(UTC) + timedelta(days=1))


@asynccontextmanager
async def database(name: str):
    dsn = env.database_url(name)
    await db.ensure_database(dsn)
    pool = await db.create_pool(dsn, min_size=1, max_size=8)
    await db.migrate(pool, [("shared", "shared.migrations")])
    try:
        yield pool, dsn
    finally:
        await pool.close()


@asynccontextmanager
async def broker(exchange: str, url: str | None = None):
    b = Broker(url or env.AMQP_URL, exchange, "test")
    await b.connect()
    try:
        yield b
    finally:
        await b.close()


class Probe:
    """An exclusive queue bound to routing keys, collecting envelopes as they arrive."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self._event = asyncio.Event()

    @classmethod
    async def bind(cls, b: Broker, *keys: str) -> "Probe":
        probe = cls()
        channel = await b.connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        for key in keys:
            await queue.bind(b.exchange, key)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                probe.received.append(json.loads(message.body))
                probe._event.set()

        await queue.consume(on_message)
        return probe

    async def wait_for(self, count: int, timeout: float = 10) -> list[dict]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.received) < count:
            self._event.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self.received)} of {count} events arrived")
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return self.received
