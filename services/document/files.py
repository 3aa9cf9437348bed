"""Rendered files in the service's database: a content store keyed by the hash of what was
rendered (identical input is rendered once), each file with an expiry and a periodic cleanup.

Files have no address of their own: a print job (its requester) or a dossier check (the dossier
service) decides who gets one.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import asyncpg

from shared.logs import log_fields

log = logging.getLogger(__name__)


async def find(conn: asyncpg.Connection, content_hash: str, ttl: timedelta) -> asyncpg.Record | None:
    """A live file with this content, its expiry pushed out by ``ttl`` (it is in use again)."""
    return await conn.fetchrow(
        """UPDATE files SET expires_at = greatest(expires_at, now() + $2)
           WHERE content_hash = $1 AND expires_at > now()
           RETURNING id, pages, size_bytes, expires_at, created_at""", content_hash, ttl)


async def store(conn: asyncpg.Connection, *, content_hash: str, kind: str, pages: int | None, data: bytes,
                ttl: timedelta) -> asyncpg.Record:
    """Keep a rendered file; when the same content was stored meanwhile, that one is kept."""
    return await conn.fetchrow(
        """INSERT INTO files (id, content_hash, kind, pages, size_bytes, data, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, now() + $7)
           ON CONFLICT (content_hash) DO UPDATE
               SET expires_at = greatest(files.expires_at, EXCLUDED.expires_at),
                   data = CASE WHEN files.expires_at <= now() THEN EXCLUDED.data ELSE files.data END,
                   created_at = CASE WHEN files.expires_at <= now() THEN now() ELSE files.created_at END
           RETURNING id, pages, size_bytes, expires_at, created_at""",
        uuid.uuid4(), content_hash, kind, pages, len(data), data, ttl)


async def read(conn: asyncpg.Connection, file_id: uuid.UUID) -> bytes | None:
    return await conn.fetchval("SELECT data FROM files WHERE id = $1 AND expires_at > now()", file_id)


async def read_by_hash(conn: asyncpg.Connection, content_hash: str) -> bytes | None:
    return await conn.fetchval("SELECT data FROM files WHERE content_hash = $1 AND expires_at > now()",
                               content_hash)


async def remove_expired(pool: asyncpg.Pool) -> tuple[int, int]:
    """Delete expired files, and finished print jobs past their expiry (with their letters)."""
    async with pool.acquire(timeout=10) as conn, conn.transaction():
        jobs = await conn.fetchval(
            """WITH gone AS (DELETE FROM print_jobs WHERE state IN ('done', 'failed') AND expires_at <= now()
                             RETURNING 1) SELECT count(*) FROM gone""")
        files = await conn.fetchval(
            "WITH gone AS (DELETE FROM files WHERE expires_at <= now() RETURNING 1) SELECT count(*) FROM gone")
    if files or jobs:
        log.info("expired documents removed", extra=log_fields(files=files, print_jobs=jobs))
    return files, jobs
