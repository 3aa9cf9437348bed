"""Ending sessions, and telling every service (identity.access_ended, through the outbox in the
caller's transaction): a logout (one session), a refresh token used twice (that session), a changed
or reset password and a deactivated account (every session of the account)."""
from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from shared.events.identity_events import AccessEnded
from shared.outbox import Outbox


async def end_sessions(conn: asyncpg.Connection, account_id: uuid.UUID, *, session_id: uuid.UUID | None = None,
                       keep: uuid.UUID | None = None) -> tuple[int, datetime]:
    """End one open session (``session_id``) or every open session of the account (but ``keep``);
    answers how many ended and when. The moment is read as each row is ended, after its lock is
    held: a token that a refresh of the session made before is older (that refresh committed first),
    and a refresh after it finds the session ended."""
    if session_id is not None:
        rows = await conn.fetch(
            """UPDATE sessions SET ended_at = clock_timestamp() WHERE id = $1 AND account_id = $2 AND ended_at IS NULL
               RETURNING ended_at""", session_id, account_id)
    else:
        rows = await conn.fetch(
            """UPDATE sessions SET ended_at = clock_timestamp()
               WHERE account_id = $1 AND ended_at IS NULL AND id IS DISTINCT FROM $2 RETURNING ended_at""",
            account_id, keep)
    if rows:
        return len(rows), max(r["ended_at"] for r in rows)
    return 0, await conn.fetchval("SELECT clock_timestamp()")


async def access_ended(conn: asyncpg.Connection, outbox: Outbox, account_id: uuid.UUID, reason: str,
                       ended_at: datetime, session_id: uuid.UUID | None = None) -> None:
    """identity.access_ended in the caller's transaction: the other services refuse the tokens of
    that session (or, without one, of every session of the account) issued at or before ``ended_at``."""
    await outbox.add(conn, AccessEnded(account_id=account_id, session_id=str(session_id) if session_id else None,
                                       reason=reason, ended_at=ended_at), subject=str(account_id))
