"""SQL of the pull API (``routes/feed.py``): the feed of completed dossiers per institution.

Each completed dossier has an entry, written in the completing transaction (``enter``) without a
position. Positions are handed out after commit by one writer at a time (``assign_positions``,
under a transaction-scoped advisory lock, each run numbering on from the highest position): a
dossier whose completion commits later always gets a higher position than any a reader has seen,
so paging on ``position > cursor`` never skips one and never repeats one. A reader assigns what is
waiting before it reads, so a completion is in the feed as soon as anyone asks.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

FEED_LOCK = 7_316_208  # advisory lock: one writer of feed positions at a time


async def enter(conn: asyncpg.Connection, dossier_id: uuid.UUID, institution_id: uuid.UUID,
                completed_at: datetime) -> None:
    """In the completing transaction: the dossier waits for its position in the institution's feed."""
    await conn.execute(
        """INSERT INTO feed_entries (dossier_id, institution_id, completed_at) VALUES ($1, $2, $3)
           ON CONFLICT (dossier_id) DO NOTHING""", dossier_id, institution_id, completed_at)


async def assign_positions(conn: asyncpg.Connection) -> int:
    """Give every committed entry without a position the next positions (in order of completion);
    how many. Not inside another transaction: the numbering must commit before anyone reads it."""
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM feed_entries WHERE position IS NULL)"):
        return 0
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", FEED_LOCK)
        # a statement of its own after the lock: it sees what the previous writer committed
        done = await conn.execute(
            """WITH todo AS (SELECT dossier_id, row_number() OVER (ORDER BY completed_at, dossier_id) AS n
                             FROM feed_entries WHERE position IS NULL),
                    base AS (SELECT coalesce(max(position), 0) AS top FROM feed_entries)
               UPDATE feed_entries f SET position = base.top + todo.n
               FROM todo, base WHERE f.dossier_id = todo.dossier_id""")
    return int(done.split()[-1])


async def page(conn: asyncpg.Connection, institution_id: uuid.UUID, after: int, limit: int) -> list[asyncpg.Record]:
    """Up to ``limit`` + 1 completed dossiers of the institution after position ``after``, in order."""
    return await conn.fetch(
        """SELECT f.position, f.dossier_id, f.completed_at, d.version, d.final, d.warm_handover, d.contact_wanted,
                  d.handled_at, d.handled_by_name, d.student_id
           FROM feed_entries f JOIN dossiers d ON d.id = f.dossier_id
           WHERE f.institution_id = $1 AND f.position > $2 AND d.state = 'completed'
           ORDER BY f.position LIMIT $3""", institution_id, after, limit + 1)


async def position_of(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> int | None:
    return await conn.fetchval("SELECT position FROM feed_entries WHERE dossier_id = $1", dossier_id)
