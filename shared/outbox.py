"""Transactional outbox: write the event with the change; a relay publishes it after commit."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import timedelta
from typing import Iterable

import asyncpg
from aio_pika.exceptions import DeliveryError
from pydantic import BaseModel

from shared.bus import Broker
from shared.events.envelope import Envelope
from shared.events.registry import event_type_of
from shared.logs import request_id_var

log = logging.getLogger(__name__)


class Outbox:
    """``await outbox.add(conn, SomethingHappened(...), subject=id)`` inside a transaction."""

    def __init__(self, service_name: str) -> None:
        self.source = f"/doorstroom/{service_name}"

    async def add(self, conn: asyncpg.Connection, payload: BaseModel, *, subject: str | None = None) -> Envelope:
        if not conn.is_in_transaction():
            raise RuntimeError("outbox.add must run inside the transaction of the change it reports")
        et = event_type_of(payload)
        env = Envelope(source=self.source, type=et.name, dataversion=et.version, subject=subject,
                       requestid=request_id_var.get(), data=payload.model_dump(mode="json"))
        await conn.execute("INSERT INTO outbox (event_id, event_type, envelope) VALUES ($1, $2, $3)",
                           env.id, et.name, env.model_dump(mode="json"))
        return env

    async def add_many(self, conn: asyncpg.Connection,
                       items: Iterable[tuple[BaseModel, str | None]]) -> list[Envelope]:
        """Like ``add`` for many ``(payload, subject)`` pairs in one statement (bulk imports)."""
        if not conn.is_in_transaction():
            raise RuntimeError("outbox.add_many must run inside the transaction of the change it reports")
        envs: list[Envelope] = []
        rid = request_id_var.get()
        for payload, subject in items:
            et = event_type_of(payload)
            envs.append(Envelope(source=self.source, type=et.name, dataversion=et.version, subject=subject,
                                 requestid=rid, data=payload.model_dump(mode="json")))
        if envs:
            await conn.execute(
                """INSERT INTO outbox (event_id, event_type, envelope)
                   SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]::jsonb[])""",
                [e.id for e in envs], [e.type for e in envs], [e.model_dump_json() for e in envs])
        return envs


def _row_backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300.0, 0.5 * 2 ** min(attempts, 10)))


class OutboxRelay:
    """Publishes pending outbox rows with publisher confirms and marks them sent.

    Wakes on LISTEN/NOTIFY with a polling fallback; claims rows with FOR UPDATE SKIP LOCKED so
    several replicas can run at once and each row is published by one of them.
    """

    def __init__(self, pool: asyncpg.Pool, broker: Broker, dsn: str, *, poll_seconds: float = 1.0,
                 batch_size: int = 200, retention: timedelta = timedelta(days=30)) -> None:
        self.pool, self.broker, self.dsn = pool, broker, dsn
        self.poll_seconds, self.batch_size, self.retention = poll_seconds, batch_size, retention
        self._next_housekeeping = 0.0
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many rows were claimed (0 when nothing was due)."""
        async with self.pool.acquire(timeout=10) as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT id, event_type, envelope, attempts FROM outbox
                   WHERE published_at IS NULL AND next_attempt_at <= now()
                   ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""", self.batch_size)
            if not rows:
                return 0
            results = await asyncio.gather(*(self._publish(r) for r in rows), return_exceptions=True)
            sent, failed = [], []
            for row, result in zip(rows, results):
                if result is None:
                    sent.append(row["id"])
                elif isinstance(result, DeliveryError):
                    failed.append((row["id"], row["attempts"] + 1, repr(result)[:500]))
                else:
                    # The link to the broker is gone: undo nothing, the rows stay pending and
                    # the relay tries again once the connection is back.
                    raise result
            if sent:
                await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", sent)
            for row_id, attempts, error in failed:
                log.warning("event not routable, will retry", extra={"fields": {"outbox_id": row_id}})
                await conn.execute(
                    "UPDATE outbox SET attempts = $2, last_error = $3, next_attempt_at = now() + $4 WHERE id = $1",
                    row_id, attempts, error, _row_backoff(attempts))
            return len(rows)

    async def _publish(self, row: asyncpg.Record) -> None:
        env = row["envelope"]
        headers = {"x-request-id": env["requestid"]} if env.get("requestid") else {}
        await self.broker.publish(row["event_type"], json.dumps(env).encode(), message_id=env["id"],
                                  headers=headers)

    async def housekeeping(self) -> tuple[int, int]:
        """Forget published outbox rows and inbox rows older than the retention (30 days: far
        beyond any redelivery), so neither table grows without bound."""
        async with self.pool.acquire(timeout=10) as conn:
            out = await conn.execute("DELETE FROM outbox WHERE published_at < now() - $1::interval", self.retention)
            inn = await conn.execute("DELETE FROM inbox WHERE handled_at < now() - $1::interval", self.retention)
        return int(out.split()[-1]), int(inn.split()[-1])

    async def drain(self) -> int:
        total = 0
        while (n := await self.publish_batch()):
            total += n
        return total

    async def _listen(self) -> None:
        with contextlib.suppress(Exception):
            if self._listener is None or self._listener.is_closed():
                self._listener = await asyncpg.connect(self.dsn)
                await self._listener.add_listener("outbox", lambda *_: self._wake.set())

    async def run(self) -> None:
        failures = 0
        while True:
            await self._listen()
            self._wake.clear()
            try:
                if self.broker.is_connected:
                    await self.drain()
                    failures = 0
                if time.monotonic() >= self._next_housekeeping:
                    self._next_housekeeping = time.monotonic() + 3600
                    await self.housekeeping()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker link down, database restarting: try again soon
                failures += 1
                log.warning("outbox relay failed, retrying", extra={"fields": {"error": repr(exc)[:300]}})
                await asyncio.sleep(min(5.0, 0.2 * 2 ** failures))
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def close(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()
