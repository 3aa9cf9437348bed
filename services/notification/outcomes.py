"""The outcomes of sent mails, written together: every SMTP connection (lane) hands its outcome to
one writer per process and waits for it before it sends its next mail, so a crash still repeats
at most the one mail per connection that was accepted but not yet recorded. What the lanes hand in
while a write is under way goes in the next write: one statement (and one commit) for all of
them, with no pause added when there is nothing else to wait for."""
from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import NamedTuple

import asyncpg

from shared.claims import ClaimTable
from shared.db import UNREACHABLE
from shared.logs import log_fields
from shared.loops import backoff

log = logging.getLogger(__name__)


class Outcome(NamedTuple):
    delivery_id: uuid.UUID
    status: str            # sent, failed, or pending (tried again after ``delay``)
    error: str | None
    kind: str | None       # error_kind of a failed delivery
    delay: timedelta | None


def record_sql(table: ClaimTable) -> str:
    """Write outcomes as their claims' holders: $1 ids, $2 claim tokens, $3 states, $4 errors,
    $5 error kinds, $6 pauses; returns the ids written (a claim that was lost writes nothing)."""
    return f"""UPDATE {table.table} SET status = u.new_status, last_error = u.error, error_kind = u.kind,
                      claim_token = NULL, lease_until = NULL,
                      sent_at = CASE WHEN u.new_status = 'sent' THEN now() END,
                      context = CASE WHEN u.new_status IN ('sent', 'failed') THEN '{{}}'::jsonb ELSE context END,
                      next_attempt_at = now() + coalesce(u.delay, interval '0')
               FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::interval[])
                    AS u(delivery_id, token, new_status, error, kind, delay)
               WHERE id = u.delivery_id AND claim_token = u.token AND {table.claimed}
               RETURNING id"""


class OutcomeWriter:
    def __init__(self, pool: asyncpg.Pool, table: ClaimTable) -> None:
        self.pool, self.sql = pool, record_sql(table)
        self._waiting: list[tuple[uuid.UUID, Outcome, asyncio.Future]] = []
        self._writing: asyncio.Task | None = None

    async def write(self, token: uuid.UUID, outcome: Outcome) -> bool:
        """Record ``outcome`` under claim ``token``; False when the claim was lost (another worker
        took the mail after the lease ran out). While the database is away the outcome waits and
        is written once it is back."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((token, outcome, future))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._drain(), name="delivery-outcomes")
        return await asyncio.shield(future)  # a cancelled lane does not undo a write under way

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                written = await self._write([outcome for _, outcome, _ in batch], [token for token, _, _ in batch])
            except Exception as exc:  # a bug, not an outage: the lanes hear of it
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, outcome, future in batch:
                if not future.done():
                    future.set_result(outcome.delivery_id in written)

    async def _write(self, outcomes: list[Outcome], tokens: list[uuid.UUID]) -> set[uuid.UUID]:
        failures = 0
        while True:
            try:
                async with self.pool.acquire(timeout=10) as conn:
                    rows = await conn.fetch(self.sql, [o.delivery_id for o in outcomes], tokens,
                                            [o.status for o in outcomes], [o.error for o in outcomes],
                                            [o.kind for o in outcomes], [o.delay for o in outcomes])
                return {r["id"] for r in rows}
            except UNREACHABLE as exc:
                failures += 1
                if failures == 1:
                    log.warning("database unreachable: the outcomes wait", extra=log_fields(
                        count=len(outcomes), error=type(exc).__name__))
                await asyncio.sleep(backoff(failures))
