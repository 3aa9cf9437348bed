"""Claiming work rows so that any number of workers share them and each row is worked by one:
the one mechanism of deliveries (notification) and print jobs (document).

- A claim marks due rows with a fresh claim token and a lease (``lease_until``), with
  ``FOR UPDATE SKIP LOCKED`` so concurrent claims never take the same row.
- While a worker has work in hand, a :class:`LeaseKeeper` renews the leases of its tokens, so a
  slow piece of work (a slow SMTP server, a long render) is never taken over by another worker.
- A row whose lease ran out (its worker died) is due again and is claimed like a fresh one.
- Every write of an outcome names the claim token (``WHERE claim_token = $token``): a worker that
  lost its claim changes nothing, so an outcome is recorded by the holder only.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import AsyncIterator

import asyncpg

from shared.logs import log_fields

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimTable:
    """How rows of one table are claimed. Every such table has ``id``, ``claim_token`` (uuid) and
    ``lease_until`` (timestamptz) columns."""

    table: str
    due: str        # SQL condition of a row waiting to be worked
    claimed: str    # SQL condition of a row that is being worked
    on_claim: str   # SET clause applied when claiming (state, attempts)
    order: str      # which due rows first
    returning: str = "*"

    def claim_sql(self) -> str:
        """$1 claim token, $2 lease, $3 how many rows at most."""
        return f"""UPDATE {self.table} SET {self.on_claim}, claim_token = $1, lease_until = now() + $2
                   WHERE id IN (SELECT id FROM {self.table}
                                WHERE ({self.due}) OR ({self.claimed} AND lease_until < now())
                                ORDER BY {self.order} LIMIT $3 FOR UPDATE SKIP LOCKED)
                   RETURNING {self.returning}"""

    def renew_sql(self) -> str:
        """$1 claim tokens, $2 lease."""
        return f"""UPDATE {self.table} SET lease_until = now() + $2
                   WHERE claim_token = ANY($1::uuid[]) AND {self.claimed}"""

    def held(self, id_param: str = "$1", token_param: str = "$2") -> str:
        """The condition under which the holder of ``token`` may write row ``id``."""
        return f"id = {id_param} AND claim_token = {token_param} AND {self.claimed}"


class LeaseKeeper:
    """Claims rows of one table and keeps the leases of every claim in hand alive.

    ``async with keeper.hold() as token:`` registers a token; until the block ends its rows'
    leases are renewed every third of the lease."""

    def __init__(self, pool: asyncpg.Pool, table: ClaimTable, lease: timedelta) -> None:
        self.pool, self.table, self.lease = pool, table, lease
        self._tokens: set[uuid.UUID] = set()
        self._task: asyncio.Task | None = None
        self._claim_sql, self._renew_sql = table.claim_sql(), table.renew_sql()

    async def claim(self, token: uuid.UUID, limit: int) -> list[asyncpg.Record]:
        async with self.pool.acquire(timeout=10) as conn:
            return await conn.fetch(self._claim_sql, token, self.lease, limit)

    @asynccontextmanager
    async def hold(self, token: uuid.UUID | None = None) -> AsyncIterator[uuid.UUID]:
        """Keep the leases of ``token`` (a new one when not given) alive for the block."""
        token = token or uuid.uuid4()
        self._tokens.add(token)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._renew(), name=f"{self.table.table}-lease")
        try:
            yield token
        finally:
            self._tokens.discard(token)

    async def renew_now(self) -> None:
        if self._tokens:
            async with self.pool.acquire(timeout=10) as conn:
                await conn.execute(self._renew_sql, list(self._tokens), self.lease)

    async def _renew(self) -> None:
        every = max(0.1, self.lease.total_seconds() / 3)
        while self._tokens:
            await asyncio.sleep(every)
            try:
                await self.renew_now()
            except Exception as exc:  # the database away: the next round tries again
                log.warning("lease renewal failed", extra=log_fields(
                    table=self.table.table, error=type(exc).__name__))

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
