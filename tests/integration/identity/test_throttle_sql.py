"""The counter's SQL waits exactly as ``Limits.delay`` says (the rule is written twice, once for
Python and once for PostgreSQL, so this keeps them equal), also at counts far past any limit."""
from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from services.identity.domain.throttle import Limits
from services.identity.store.throttle import wait_seconds
from tests.support import env

pytestmark = pytest.mark.asyncio


async def test_sql_and_python_agree_on_every_wait() -> None:
    limits = Limits(soft=3, hard=10_000_000, window=timedelta(minutes=15), block=timedelta(minutes=15),
                    max_delay=10)
    counts = list(range(0, 40)) + [1_000, 5_000_000]
    conn = await asyncpg.connect(env.PG_ADMIN)
    try:
        waits = await conn.fetch(f"SELECT n, {wait_seconds('n', '$2', '$3')} AS wait FROM unnest($1::int[]) n",
                                 counts, limits.soft, limits.max_delay)
    finally:
        await conn.close()
    assert {r["n"]: float(r["wait"]) for r in waits} == {n: limits.delay(n) for n in counts}
