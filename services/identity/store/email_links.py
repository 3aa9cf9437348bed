"""The single-use links in mails (verification, "wachtwoord vergeten", staff invitations): only a
hash of each token is stored; a link works once and until it expires."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from services.identity.domain.tokens import hash_token, new_token
from shared.problems import Problem

LINK_GONE = "Deze link werkt niet meer: hij is al gebruikt of verlopen. Vraag een nieuwe aan."


async def issue_email_token(conn, *, purpose: str, email: str, ttl: timedelta, account_id=None,
                            bsn_ciphertext: bytes | None = None, bsn_hmac: bytes | None = None,
                            token_id: uuid.UUID | None = None) -> tuple[str, datetime]:
    """A single-use link token (only its hash is stored); returns (token, expires_at)."""
    token = new_token()
    expires_at = datetime.now(UTC) + ttl
    await conn.execute(
        """INSERT INTO email_tokens (id, purpose, token_hash, account_id, email, bsn_ciphertext, bsn_hmac, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        token_id or uuid.uuid4(), purpose, hash_token(token), account_id, email, bsn_ciphertext, bsn_hmac, expires_at)
    return token, expires_at


async def open_link(conn: asyncpg.Connection, token: str, purpose: str) -> asyncpg.Record:
    row = await conn.fetchrow(
        """SELECT * FROM email_tokens WHERE token_hash = $1 AND purpose = $2
           AND used_at IS NULL AND expires_at > now()""", hash_token(token), purpose)
    if row is None:
        raise Problem(410, LINK_GONE, code="link-expired")
    return row


async def consume_link(conn: asyncpg.Connection, token_id: uuid.UUID) -> None:
    used = await conn.fetchval(
        """UPDATE email_tokens SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now()
           RETURNING true""", token_id)
    if not used:  # a second click that was quicker
        raise Problem(410, LINK_GONE, code="link-expired")
