"""Migrations apply once, in order, under an advisory lock, even with replicas starting together."""
from __future__ import annotations

import asyncio

from shared import db
from tests.support import env


async def test_concurrent_replicas_apply_each_migration_once(unique):
    dsn = env.database_url(f"migr_{unique}")
    await asyncio.gather(*(db.ensure_database(dsn) for _ in range(3)))
    pools = [await db.create_pool(dsn, min_size=1, max_size=2) for _ in range(3)]
    try:
        packages = [("shared", "shared.migrations"), ("notification", "services.notification.migrations")]
        results = await asyncio.gather(*(db.migrate(p, packages) for p in pools))
        applied = sorted(name for r in results for name in r)
        assert applied == ["notification/001_deliveries.sql", "notification/002_delivery_claims.sql",
                           "notification/003_digest.sql", "notification/004_delivery_trace.sql",
                           "shared/001_outbox_inbox.sql", "shared/002_outbox_parking.sql",
                           "shared/003_access_revocations.sql"]
        assert await db.migrate(pools[0], packages) == []
        async with pools[0].acquire() as conn:
            rows = await conn.fetch("SELECT scope, name FROM schema_migrations ORDER BY applied_at")
            assert [r["scope"] for r in rows] == ["shared"] * 3 + ["notification"] * 4
            assert await conn.fetchval("SELECT '{\"a\": 1}'::jsonb") == {"a": 1}, "JSON codec registered"
    finally:
        for p in pools:
            await p.close()
