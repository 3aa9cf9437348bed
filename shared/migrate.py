"""The migration step of a release: ``python -m shared.migrate`` (Kubernetes: the Job
doorstroom-migrate-<release> runs it once, see deploy/kubernetes/base/migrate-job.yaml).

Creates each service's database if it is missing and applies the shared migrations and the
service's own, exactly as a service does at start (shared.db.migrate, under the advisory lock, so a
service starting at the same time waits and then finds nothing left to do). The URL of each
database comes from <SERVICE>_DATABASE_URL (IDENTITY_DATABASE_URL, ...).
"""
from __future__ import annotations

import asyncio
import os
import sys

from shared import db

SERVICES = ("identity", "dossier", "notification", "document", "portal")


async def migrate_all() -> int:
    for service in SERVICES:
        dsn = os.environ.get(f"{service.upper()}_DATABASE_URL")
        if not dsn:
            print(f"{service.upper()}_DATABASE_URL is not set", file=sys.stderr)
            return 2
        await db.ensure_database(dsn)
        pool = await db.create_pool(dsn, min_size=1, max_size=1)
        try:
            applied = await db.migrate(pool, [("shared", "shared.migrations"),
                                              (service, f"services.{service}.migrations")])
        finally:
            await pool.close()
        print(f"{service}: {len(applied)} migration(s) applied" + (f": {', '.join(applied)}" if applied else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(migrate_all()))
