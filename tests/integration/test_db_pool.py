"""The services' connection pool (shared.db.create_pool): releasing a connection costs no round trip,
and a transaction left open is still rolled back before the next acquirer gets the connection."""
from __future__ import annotations

import asyncpg

from shared import db
from tests.support.events import database


async def _last_query(admin: asyncpg.Pool, pid: int) -> str:
    async with admin.acquire() as conn:
        return await conn.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)


async def test_releasing_a_connection_sends_nothing(unique):
    async with database(f"pool_release_{unique}") as (pool, _), database(f"pool_admin_{unique}") as (admin, _):
        async with pool.acquire() as conn:
            pid = conn.get_server_pid()
            await conn.fetchval("SELECT 41 + 1")
        # asyncpg's default reset would have run "... RESET ALL;" on release: the backend's last
        # statement is still ours
        assert await _last_query(admin, pid) == "SELECT 41 + 1"


async def test_a_transaction_left_open_is_rolled_back_on_release(unique):
    async with database(f"pool_rollback_{unique}") as (_, dsn):
        pool = await db.create_pool(dsn, min_size=1, max_size=1)  # one connection: the next acquirer gets it
        try:
            async with pool.acquire() as conn:
                await conn.execute("CREATE TABLE t (n int)")
                pid = conn.get_server_pid()
                tx = conn.transaction()
                await tx.start()
                await conn.execute("INSERT INTO t VALUES (1)")
                # released without commit or rollback (a handler that lost its way)
            async with pool.acquire() as conn:
                assert conn.get_server_pid() == pid
                assert not conn.is_in_transaction()
                assert await conn.fetchval("SELECT count(*) FROM t") == 0
        finally:
            await pool.close()
