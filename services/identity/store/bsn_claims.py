"""The BSN an account gave at registration is a claim (``accounts.bsn_hmac``, not unique); the
binding is the redeemed activation code (``students.account_id``). When an account is bound to a
roster student with a BSN, the other claims on that BSN that are bound to nobody are released."""
from __future__ import annotations

import uuid

import asyncpg

RELEASED_NOTICE = ("Het BSN dat je bij dit account opgaf, is niet meer aan dit account gekoppeld: met de "
                   "activatiecode van de leerling met dat BSN is een ander account gekoppeld. Was jij dat? Log dan "
                   "in met het e-mailadres van dat account. Was jij het niet? Neem dan contact op met je mentor "
                   "of decaan.")


async def release_other_claims(conn: asyncpg.Connection, bsn_hmac: bytes, winner: uuid.UUID) -> list[asyncpg.Record]:
    """In the redeeming transaction: every other account that claims ``bsn_hmac`` and is linked to
    no student loses its claim; answers their (id, email, bsn_released_at)."""
    return await conn.fetch(
        """UPDATE accounts a SET bsn_ciphertext = NULL, bsn_hmac = NULL, bsn_released_at = now()
           WHERE a.bsn_hmac = $1 AND a.id <> $2
             AND NOT EXISTS (SELECT 1 FROM students s WHERE s.account_id = a.id)
           RETURNING a.id, a.email, a.bsn_released_at""", bsn_hmac, winner)


async def released_notice(conn: asyncpg.Connection, account_id: uuid.UUID) -> str | None:
    """What to tell the owner of an account whose claim was released while it is linked to nobody."""
    released = await conn.fetchval(
        """SELECT a.bsn_released_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM students s WHERE s.account_id = a.id)
           FROM accounts a WHERE a.id = $1""", account_id)
    return RELEASED_NOTICE if released else None
