"""Transactional outbox: write the event with the change; a relay publishes it after commit."""
from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta
from typing import Iterable

import asyncpg
from aio_pika.exceptions import DeliveryError
from pydantic import BaseModel

from shared import metrics, tracing
from shared.bus import Broker
from shared.events.envelope import Envelope, wire_body
from shared.events.registry import all_event_types, event_type_of
from shared.logs import log_fields, request_id_var
from shared.loops import NotifyWakeup, Worker
from shared.sealing import SCRUBBED, sealed_fields

log = logging.getLogger(__name__)


class Outbox:
    """``await outbox.add(conn, SomethingHappened(...), subject=id)`` inside a transaction."""

    def __init__(self, service_name: str) -> None:
        self.source = f"/doorstroom/{service_name}"

    def envelope(self, payload: BaseModel, *, subject: str | None = None) -> Envelope:
        """The envelope of ``payload`` as this service publishes it (request id and trace of the
        moment): what ``add`` writes, for a statement that writes the row with its change itself."""
        et = event_type_of(payload)
        return Envelope(source=self.source, type=et.name, dataversion=et.version, subject=subject,
                        requestid=request_id_var.get(), traceparent=tracing.current_traceparent(),
                        data=payload.model_dump(mode="json"))

    async def add(self, conn: asyncpg.Connection, payload: BaseModel, *, subject: str | None = None) -> Envelope:
        if not conn.is_in_transaction():
            raise RuntimeError("outbox.add must run inside the transaction of the change it reports")
        env = self.envelope(payload, subject=subject)
        await conn.execute("INSERT INTO outbox (event_id, event_type, envelope) VALUES ($1, $2, $3)",
                           env.id, env.type, env.wire())
        return env

    async def add_many(self, conn: asyncpg.Connection,
                       items: Iterable[tuple[BaseModel, str | None]]) -> list[Envelope]:
        """Like ``add`` for many ``(payload, subject)`` pairs in one statement (bulk imports)."""
        if not conn.is_in_transaction():
            raise RuntimeError("outbox.add_many must run inside the transaction of the change it reports")
        envs = [self.envelope(payload, subject=subject) for payload, subject in items]
        if envs:
            await conn.execute(
                """INSERT INTO outbox (event_id, event_type, envelope)
                   SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]::jsonb[])""",
                [e.id for e in envs], [e.type for e in envs], [json.dumps(e.wire()) for e in envs])
        return envs


def _row_backoff(attempts: int) -> timedelta:
    """0.5 s, 1 s, 2 s, ... up to five minutes between tries of a row the broker refused."""
    return timedelta(seconds=min(300.0, 0.5 * 2 ** min(attempts, 10)))


# Sealed values (shared.sealing) of published rows: replaced by "sealed:scrubbed" once the row is
# older than the relay's scrub_after. Only the rows of types with sealed fields are read.
SCRUB_SEALED = f"""UPDATE outbox SET envelope = regexp_replace(
                      envelope::text, '"sealed:v1:[0-9a-f]{{8}}:[A-Za-z0-9_-]+"', '"{SCRUBBED}"', 'g')::jsonb
                  WHERE published_at < now() - $1::interval AND event_type = ANY($2::text[])
                    AND envelope::text LIKE '%"sealed:v1:%'"""


def sealed_event_types() -> list[str]:
    """The event types whose payload has a sealed field (a link or code that lets its holder act)."""
    return [et.name for et in all_event_types() if sealed_fields(et.payload)]


# Fresh rows first, in the order they were written; retries only with what room is left in the
# batch, so rows the broker keeps refusing never hold up new events. One statement (one round trip
# per batch): the retries' branch finds nothing in the partial index when none is due.
CLAIM = """WITH fresh AS (SELECT id, event_type, envelope, attempts FROM outbox
                          WHERE published_at IS NULL AND attempts = 0
                          ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED),
                retries AS (SELECT id, event_type, envelope, attempts FROM outbox
                            WHERE published_at IS NULL AND attempts > 0 AND parked_at IS NULL
                              AND next_attempt_at <= now()
                            ORDER BY next_attempt_at
                            LIMIT greatest(0, $1 - (SELECT count(*) FROM fresh)) FOR UPDATE SKIP LOCKED)
           SELECT * FROM fresh UNION ALL SELECT * FROM retries"""


class OutboxRelay(Worker):
    """Publishes pending outbox rows with publisher confirms and marks them sent.

    Wakes on LISTEN/NOTIFY with a polling fallback; claims rows with FOR UPDATE SKIP LOCKED so
    several replicas can run at once and each row is published by one of them. A row the broker
    refuses (unroutable, nacked) is tried again with growing pauses and parked in the outbox after
    ``max_attempts``: visible to ``python -m shared.parked list --outbox`` and put back by
    ``replay --outbox``. While the broker link is down nothing is counted: rows simply wait.

    A published row is kept ``retention`` (30 days) for the record, but what it needs no longer —
    its sealed links and codes — is scrubbed by the hourly housekeeping once the row was published
    ``scrub_after`` ago. A row not published yet (pending, parked) keeps them: it must still deliver.
    """

    name = "outbox-relay"

    def __init__(self, pool: asyncpg.Pool, broker: Broker, dsn: str, *, poll_seconds: float = 1.0,
                 batch_size: int = 200, retention: timedelta = timedelta(days=30),
                 max_attempts: int = 10, parked_retention: timedelta = timedelta(days=90),
                 scrub_after: timedelta = timedelta(hours=1)) -> None:
        super().__init__(poll_seconds=poll_seconds, wakeup=NotifyWakeup(dsn, "outbox"))
        self.pool, self.broker, self.dsn = pool, broker, dsn
        self.batch_size, self.retention, self.max_attempts = batch_size, retention, max_attempts
        self.parked_retention = parked_retention
        self.scrub_after = scrub_after
        self._next_housekeeping = 0.0

    async def step(self) -> bool:
        if not self.broker.is_connected:
            return False  # nothing can go out; the rows wait (the poll interval looks again)
        return await self.publish_batch() > 0

    async def on_idle(self) -> None:
        if time.monotonic() >= self._next_housekeeping:
            self._next_housekeeping = time.monotonic() + 3600
            await self.housekeeping()

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many rows were claimed (0 when nothing was due)."""
        async with self.pool.acquire(timeout=10) as conn, conn.transaction():
            rows = await conn.fetch(CLAIM, self.batch_size)
            if not rows:
                return 0
            results = await asyncio.gather(*(self._publish(r) for r in rows), return_exceptions=True)
            sent, refused = [], []
            for row, result in zip(rows, results):
                if result is None:
                    sent.append(row["id"])
                elif isinstance(result, DeliveryError):
                    refused.append((row, result))
                elif isinstance(result, BaseException):
                    # The link to the broker is gone: undo nothing, the rows stay pending and
                    # the relay tries again once the connection is back.
                    raise result
            if sent:
                await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", sent)
            if refused:
                await self._refused(conn, refused)
        # counted once the transaction committed (a failed commit publishes them again)
        if sent:
            metrics.OUTBOX_PUBLISHED.labels(self.broker.service_name).inc(len(sent))
        if refused:
            metrics.OUTBOX_FAILED.labels(self.broker.service_name).inc(len(refused))
            if (parked := sum(1 for row, _ in refused if row["attempts"] + 1 >= self.max_attempts)):
                metrics.OUTBOX_PARKED.labels(self.broker.service_name).inc(parked)
        return len(rows)

    async def _refused(self, conn: asyncpg.Connection, refused: list[tuple[asyncpg.Record, DeliveryError]]) -> None:
        """Count a refusal; park the rows that reached ``max_attempts``."""
        rows = [row for row, _ in refused]
        errors = [exc for _, exc in refused]
        ids = [r["id"] for r in rows]
        attempts = [r["attempts"] + 1 for r in rows]
        await conn.execute(
            """UPDATE outbox o SET attempts = u.attempts, last_error = u.error,
                      next_attempt_at = now() + u.pause,
                      parked_at = CASE WHEN u.attempts >= $5 THEN now() END
               FROM unnest($1::bigint[], $2::int[], $3::text[], $4::interval[]) AS u(id, attempts, error, pause)
               WHERE o.id = u.id""",
            ids, attempts, [_refusal(e) for e in errors], [_row_backoff(a) for a in attempts], self.max_attempts)
        parked = sum(1 for a in attempts if a >= self.max_attempts)
        log.warning("events refused by the broker", extra=log_fields(
            count=len(rows), parked=parked, types=sorted({r["event_type"] for r in rows})))

    async def _publish(self, row: asyncpg.Record) -> None:
        env = row["envelope"]
        headers = {"x-request-id": env["requestid"]} if env.get("requestid") else {}
        # the publication is a span of the trace that wrote the event (its traceparent); the
        # envelope keeps that traceparent, so consumers continue the same trace
        with tracing.span(self.broker.service_name, f"publish {row['event_type']}", kind=tracing.SpanKind.PRODUCER,
                          parent=tracing.extract(env),
                          attributes={"messaging.system": "rabbitmq", "messaging.operation.type": "send",
                                      "messaging.destination.name": row["event_type"]}):
            # rows written before the structured mode may hold "subject": null: left out on the wire
            await self.broker.publish(row["event_type"], wire_body(env), message_id=env["id"], headers=headers)

    async def housekeeping(self) -> tuple[int, int]:
        """Forget published outbox rows and inbox rows older than the retention (30 days: far
        beyond any redelivery), and parked rows after their own, longer retention, so no table
        grows without bound; scrub the sealed values of published rows (``scrub_after``)."""
        async with self.pool.acquire(timeout=10) as conn:
            await conn.execute(SCRUB_SEALED, self.scrub_after, sealed_event_types())
            out = await conn.execute("DELETE FROM outbox WHERE published_at < now() - $1::interval", self.retention)
            inn = await conn.execute("DELETE FROM inbox WHERE handled_at < now() - $1::interval", self.retention)
            gone = await conn.execute("DELETE FROM outbox WHERE parked_at < now() - $1::interval",
                                      self.parked_retention)
        if (n := int(gone.split()[-1])):
            log.warning("parked outbox rows deleted after their retention", extra=log_fields(count=n))
        return int(out.split()[-1]), int(inn.split()[-1])

    async def drain(self) -> int:
        """Publish every row that is due now; returns how many rows were claimed."""
        total = 0
        while (n := await self.publish_batch()):
            total += n
        return total


def _refusal(exc: DeliveryError) -> str:
    frame = getattr(exc, "frame", None)
    reason = getattr(frame, "reply_text", None) if frame is not None else None
    return (f"{type(exc).__name__}: {reason}" if reason else repr(exc))[:500]
