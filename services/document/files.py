"""Rendered files in the service's database: a content store keyed by the hash of what was
rendered (identical input is rendered once), each file with an expiry and a periodic cleanup.

Files have no address of their own: a print job (its requester) or a dossier check (the dossier
service) decides who gets one.

The content is sealed at rest (AES-256-GCM with a key derived from EVENT_SEAL_KEY, ``shared.sealing``):
letters carry working activation codes, dossiers personal data, so a dump of the table holds
neither. ``size_bytes`` is the size of the PDF itself. Files written before sealing (plain PDFs) are
still read, and sealed by the next cleanup.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import asyncpg

from shared.logs import log_fields
from shared.sealing import BYTES_MAGIC, is_sealed_bytes, keyring

log = logging.getLogger(__name__)
FILE_PURPOSE = "document-file"  # what a sealed file is sealed for (its own AES key)
CHUNK_PURPOSE = "document-print-chunk"


def seal(data: bytes, purpose: str = FILE_PURPOSE) -> bytes:
    return keyring().seal_bytes(data, purpose)


def unseal(data: bytes | None, purpose: str = FILE_PURPOSE) -> bytes | None:
    """The PDF of a stored value (a plain PDF from before sealing is returned as it is)."""
    if data is None or not is_sealed_bytes(data):
        return data
    return keyring().open_bytes(data, purpose)


async def find(conn: asyncpg.Connection, content_hash: str, ttl: timedelta) -> asyncpg.Record | None:
    """A live file with this content, its expiry pushed out by ``ttl`` (it is in use again)."""
    return await conn.fetchrow(
        """UPDATE files SET expires_at = greatest(expires_at, now() + $2)
           WHERE content_hash = $1 AND expires_at > now()
           RETURNING id, pages, size_bytes, expires_at, created_at""", content_hash, ttl)


async def store(conn: asyncpg.Connection, *, content_hash: str, kind: str, pages: int | None, data: bytes,
                ttl: timedelta, dossier_id: uuid.UUID | None = None) -> asyncpg.Record | None:
    """Keep a rendered file; when the same content was stored meanwhile, that one is kept. A dossier's
    PDF remembers its dossier (its PDFs go when the dossier is erased: ``erase_dossier``); none is kept
    of a dossier erased meanwhile (None then)."""
    return await conn.fetchrow(
        """INSERT INTO files (id, content_hash, kind, pages, size_bytes, data, expires_at, dossier_id)
           SELECT $1, $2, $3, $4, $5, $6, now() + $7, $8
           WHERE NOT EXISTS (SELECT 1 FROM erased_dossiers WHERE dossier_id = $8)
           ON CONFLICT (content_hash) DO UPDATE
               SET expires_at = greatest(files.expires_at, EXCLUDED.expires_at),
                   dossier_id = coalesce(files.dossier_id, EXCLUDED.dossier_id),
                   data = CASE WHEN files.expires_at <= now() THEN EXCLUDED.data ELSE files.data END,
                   created_at = CASE WHEN files.expires_at <= now() THEN now() ELSE files.created_at END
           RETURNING id, pages, size_bytes, expires_at, created_at""",
        uuid.uuid4(), content_hash, kind, pages, len(data), seal(data), ttl, dossier_id)


async def read(conn: asyncpg.Connection, file_id: uuid.UUID) -> bytes | None:
    return unseal(await conn.fetchval("SELECT data FROM files WHERE id = $1 AND expires_at > now()", file_id))


async def read_by_hash(conn: asyncpg.Connection, content_hash: str) -> bytes | None:
    return unseal(await conn.fetchval("SELECT data FROM files WHERE content_hash = $1 AND expires_at > now()",
                                      content_hash))


async def seal_plain(conn: asyncpg.Connection) -> int:
    """Seal the files, rendered pieces and letter codes written in clear before sealing (an
    upgrade; processes of the old version still running may add some). Returns how many."""
    done = 0
    for file_id in [r["id"] for r in await conn.fetch(
            "SELECT id FROM files WHERE substring(data FROM 1 FOR 4) <> $1", BYTES_MAGIC)]:
        async with conn.transaction():
            plain = await conn.fetchval("SELECT data FROM files WHERE id = $1 FOR UPDATE", file_id)
            if plain is not None and not is_sealed_bytes(plain):
                await conn.execute("UPDATE files SET data = $2 WHERE id = $1", file_id, seal(plain))
                done += 1
    for job_id, chunk_no in [tuple(r) for r in await conn.fetch(
            "SELECT job_id, chunk_no FROM print_job_chunks WHERE substring(pdf FROM 1 FOR 4) <> $1", BYTES_MAGIC)]:
        async with conn.transaction():
            plain = await conn.fetchval("SELECT pdf FROM print_job_chunks WHERE job_id = $1 AND chunk_no = $2 "
                                        "FOR UPDATE", job_id, chunk_no)
            if plain is not None and not is_sealed_bytes(plain):
                await conn.execute("UPDATE print_job_chunks SET pdf = $3 WHERE job_id = $1 AND chunk_no = $2",
                                   job_id, chunk_no, seal(plain, CHUNK_PURPOSE))
                done += 1
    rows = await conn.fetch("SELECT job_id, seq, code FROM print_job_letters WHERE code NOT LIKE 'sealed:%'")
    if rows:
        ring = keyring()
        await conn.executemany("UPDATE print_job_letters SET code = $3 WHERE job_id = $1 AND seq = $2 AND code = $4",
                               [(r["job_id"], r["seq"], ring.seal(r["code"]), r["code"]) for r in rows])
        done += len(rows)
    return done


_all_sealed = False  # set once a pass found nothing in clear: this process need not look again


async def erase_dossier(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> int:
    """The retention rule erased a dossier (dossier.erased): its PDFs go now, and a tombstone keeps one
    that a request was still rendering from being stored (or, stored just before, lets the next cleanup
    delete it). Answers how many files went."""
    await conn.execute("INSERT INTO erased_dossiers (dossier_id) VALUES ($1) ON CONFLICT DO NOTHING", dossier_id)
    return int((await conn.execute("DELETE FROM files WHERE dossier_id = $1", dossier_id)).split()[-1])


async def remove_expired(pool: asyncpg.Pool) -> tuple[int, int]:
    """Delete expired files, and finished print jobs past their expiry (with their letters); files of
    dossiers erased meanwhile, and tombstones a day old."""
    async with pool.acquire(timeout=10) as conn, conn.transaction():
        await conn.execute("DELETE FROM files f USING erased_dossiers e WHERE f.dossier_id = e.dossier_id")
        await conn.execute("DELETE FROM erased_dossiers WHERE erased_at < now() - interval '1 day'")
        jobs = await conn.fetchval(
            """WITH gone AS (DELETE FROM print_jobs WHERE state IN ('done', 'failed') AND expires_at <= now()
                             RETURNING 1) SELECT count(*) FROM gone""")
        files = await conn.fetchval(
            "WITH gone AS (DELETE FROM files WHERE expires_at <= now() RETURNING 1) SELECT count(*) FROM gone")
    if files or jobs:
        log.info("expired documents removed", extra=log_fields(files=files, print_jobs=jobs))
    global _all_sealed
    if not _all_sealed:
        async with pool.acquire(timeout=10) as conn:
            sealed = await seal_plain(conn)
        if sealed:
            log.info("documents kept in clear sealed", extra=log_fields(count=sealed))
        _all_sealed = sealed == 0
    return files, jobs
