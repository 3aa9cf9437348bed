"""PostgreSQL: the service's own database (created if missing), a pool, and migrations."""
from __future__ import annotations

import json
import logging
from importlib import resources
from importlib.resources.abc import Traversable
from urllib.parse import urlsplit, urlunsplit

import asyncpg

log = logging.getLogger(__name__)

# Failures that mean the database is away (not running yet, restarting, failing over, the network
# cut), not that a statement or its data is wrong: waited out, never counted against a message.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError, asyncpg.exceptions.InsufficientResourcesError)

# An arbitrary constant: every service runs its migrations under this advisory lock, so several
# replicas starting at once apply each migration exactly once.
MIGRATION_LOCK_ID = 7_316_001


async def init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=lambda v: json.dumps(v, default=str),
                                  decoder=json.loads, schema="pg_catalog")


async def ensure_database(dsn: str) -> None:
    """Create the database named in ``dsn`` if it does not exist yet."""
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    admin_dsn = urlunsplit(parts._replace(path="/postgres"))
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
                log.info("database created", extra={"fields": {"database": name}})
            except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                pass  # a replica won the race
    finally:
        await conn.close()


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing to send. asyncpg rolls back a transaction left open
    before calling this; its default reset (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL``) would cost a round trip on every release, for session state our pooled
    connections never have: no ``SET`` outside ``SET LOCAL``, no ``LISTEN`` (wake-ups listen on
    connections of their own), cursors only inside transactions, and session advisory locks only
    on connections of their own or unlocked in ``finally`` (``migrate``)."""


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                     init=init_connection, reset=keep_session, command_timeout=30)


def _migration_files(package: str) -> list[tuple[str, Traversable]]:
    folder = resources.files(package)
    return sorted(((f.name, f) for f in folder.iterdir() if f.name.endswith(".sql")),
                  key=lambda item: item[0])


async def migrate(pool: asyncpg.Pool, packages: list[tuple[str, str]]) -> list[str]:
    """Apply ``(scope, package)`` migration folders in order, each file once, under a lock.

    Returns the names applied now. Each file runs in its own transaction with its bookkeeping row.
    """
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       scope text NOT NULL, name text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now(),
                       PRIMARY KEY (scope, name))""")
            done = {(r["scope"], r["name"]) for r in await conn.fetch("SELECT scope, name FROM schema_migrations")}
            for scope, package in packages:
                for name, file in _migration_files(package):
                    if (scope, name) in done:
                        continue
                    async with conn.transaction():
                        await conn.execute(file.read_text(encoding="utf-8"))
                        await conn.execute("INSERT INTO schema_migrations (scope, name) VALUES ($1, $2)",
                                           scope, name)
                    applied_now.append(f"{scope}/{name}")
                    log.info("migration applied", extra={"fields": {"migration": f"{scope}/{name}"}})
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    return applied_now
