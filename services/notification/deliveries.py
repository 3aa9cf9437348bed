"""Deliveries: made from events (idempotently), sent by a worker that claims due rows with
FOR UPDATE SKIP LOCKED, so several notification processes share the work.

A delivery's context (names, links, activation codes: what the mail says) is needed only until
the mail is sent or given up: then it is emptied. The rest of the row (template, recipient,
status, error) stays for the operator's view and is deleted after ``delivery_retention_days``."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import timedelta

import asyncpg

from services.notification.settings import NotificationSettings
from services.notification.smtp import PermanentFailure, SmtpPool, TemporaryFailure
from services.notification.templates import render
from shared.logs import log_fields, request_id_var

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)


async def create_delivery(conn: asyncpg.Connection, *, event_id: uuid.UUID, template: str,
                          recipient: str, context: dict) -> None:
    await conn.execute(
        """INSERT INTO deliveries (id, event_id, template, recipient, context, request_id)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id, template, recipient) DO NOTHING""",
        uuid.uuid4(), event_id, template, recipient.lower(), context, request_id_var.get())


def retry_delay(attempts: int) -> timedelta:
    """1 min, 2, 4, ... capped at 1 hour."""
    return timedelta(seconds=min(3600, 60 * 2 ** max(0, attempts - 1)))


class DeliveryWorker:
    def __init__(self, pool: asyncpg.Pool, smtp: SmtpPool, settings: NotificationSettings, dsn: str,
                 *, retry_delay=retry_delay) -> None:
        self.pool, self.smtp, self.settings, self.dsn = pool, smtp, settings, dsn
        self.retry_delay = retry_delay
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._stopping = False

    async def claim(self, limit: int) -> list[asyncpg.Record]:
        async with self.pool.acquire(timeout=10) as conn:
            return await conn.fetch(
                """UPDATE deliveries d SET status = 'sending', locked_until = now() + $2, attempts = attempts + 1
                   WHERE id IN (SELECT id FROM deliveries
                                WHERE (status = 'pending' AND next_attempt_at <= now())
                                   OR (status = 'sending' AND locked_until < now())
                                ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
                   RETURNING d.id, d.template, d.recipient, d.context, d.attempts, d.request_id""",
                limit, LEASE)

    async def _send_one(self, row: asyncpg.Record) -> tuple:
        """Send one mail; returns its outcome as an UPDATE row (id, status, error, delay)."""
        token = request_id_var.set(row["request_id"])
        try:
            mail = render(row["template"], row["context"])
            await self.smtp.send(self.smtp.build(row["recipient"], mail, str(row["id"])))
        except TemporaryFailure as exc:
            if row["attempts"] >= self.settings.delivery_max_attempts:
                outcome = (row["id"], "failed", f"opgegeven na {row['attempts']} pogingen: {exc}", None)
            else:
                outcome = (row["id"], "pending", str(exc), self.retry_delay(row["attempts"]))
        except PermanentFailure as exc:
            outcome = (row["id"], "failed", str(exc), None)
        except Exception as exc:  # a template bug: keep the row, try later, make it visible
            log.exception("delivery failed unexpectedly")
            outcome = (row["id"], "pending", repr(exc), self.retry_delay(row["attempts"]))
        else:
            outcome = (row["id"], "sent", None, None)
        log.info("delivery " + outcome[1], extra=log_fields(delivery_id=str(row["id"]), error=outcome[2]))
        request_id_var.reset(token)
        return outcome

    async def run_once(self) -> int:
        """Claim due deliveries, send them over the pooled connections, record every outcome."""
        rows = await self.claim(self.settings.smtp_connections * 8)
        if rows:
            outcomes = await asyncio.gather(*(self._send_one(r) for r in rows))
            async with self.pool.acquire(timeout=10) as conn:
                await conn.executemany(
                    """UPDATE deliveries SET status = $2, last_error = $3, locked_until = NULL,
                              sent_at = CASE WHEN $2 = 'sent' THEN now() END,
                              context = CASE WHEN $2 IN ('sent', 'failed') THEN '{}'::jsonb ELSE context END,
                              next_attempt_at = now() + coalesce($4::interval, interval '0')
                       WHERE id = $1""", outcomes)
        return len(rows)

    async def housekeeping(self) -> int:
        """Delete sent and failed deliveries older than the retention; returns how many."""
        async with self.pool.acquire(timeout=10) as conn:
            status = await conn.execute(
                """DELETE FROM deliveries WHERE status IN ('sent', 'failed')
                   AND created_at < now() - make_interval(days => $1)""", self.settings.delivery_retention_days)
        return int(status.split()[-1])

    async def _listen(self) -> None:
        with contextlib.suppress(Exception):
            if self._listener is None or self._listener.is_closed():
                self._listener = await asyncpg.connect(self.dsn)
                await self._listener.add_listener("deliveries", lambda *_: self._wake.set())

    async def run(self) -> None:
        next_housekeeping = 0.0
        while not self._stopping:
            await self._listen()
            self._wake.clear()
            try:
                if time.monotonic() >= next_housekeeping:
                    next_housekeeping = time.monotonic() + 3600
                    await self.housekeeping()
                while not self._stopping and await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery worker failed, retrying")
                await asyncio.sleep(1)
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.delivery_poll_seconds)

    def stop(self) -> None:
        """Finish the mails in hand, take no new ones."""
        self._stopping = True
        self._wake.set()

    async def close(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()
