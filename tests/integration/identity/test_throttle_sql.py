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


@pytest.mark.parametrize("soft,hard", [(1_000, 3), (1, 1), (2, 1_000)])
async def test_count_failure_leaves_the_counter_as_reserve_then_failed(soft, hard) -> None:
    """Registration counts a try and its failure in one statement (``count_failure``): after every
    try the counter is what ``reserve`` + ``failed`` make of it, and it refuses the same tries."""
    from services.identity.store import throttle
    limits = Limits(soft=soft, hard=hard, window=timedelta(minutes=15), block=timedelta(minutes=15),
                    max_delay=10)
    conn = await asyncpg.connect(env.PG_ADMIN)
    try:
        await conn.execute("""CREATE TEMP TABLE throttle (scope text, key bytea, failures int NOT NULL DEFAULT 0,
                                  window_started_at timestamptz NOT NULL, last_failure_at timestamptz,
                                  blocked_until timestamptz, in_flight int NOT NULL DEFAULT 0,
                                  in_flight_at timestamptz, PRIMARY KEY (scope, key))""")
        for _ in range(5):
            async with conn.transaction():
                by_two = await throttle.reserve(conn, [("t", b"two", limits)])
                if by_two:
                    await throttle.failed(conn, "t", b"two", limits)
            by_one = await throttle.count_failure(conn, "t", b"one", limits)
            rows = {r["key"]: r for r in await conn.fetch(
                """SELECT key, failures, in_flight, blocked_until IS NOT NULL AS blocked
                   FROM throttle ORDER BY key""")}
            assert by_one == by_two
            assert dict(rows[b"one"]) | {"key": None} == dict(rows[b"two"]) | {"key": None}
    finally:
        await conn.close()
