"""SQL of machine clients: the clients, their credentials (a secret's keyed hash or a public key),
the client assertions seen, and each client's log."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

CLIENT_SELECT = """
SELECT c.*, s.name AS institution_name,
       coalesce((SELECT json_agg(json_build_object(
                     'credential_id', k.id, 'kind', CASE WHEN k.secret_hash IS NULL THEN 'public_key' ELSE 'secret' END,
                     'created_at', k.created_at, 'expires_at', k.expires_at, 'public_jwk', k.public_jwk)
                     ORDER BY k.created_at)
                 FROM machine_client_credentials k WHERE k.client_id = c.id
                   AND (k.expires_at IS NULL OR k.expires_at > now())), '[]'::json) AS credentials
FROM machine_clients c JOIN schools s ON s.id = c.institution_id"""


async def create_client(conn: asyncpg.Connection, *, institution_id: uuid.UUID, name: str, scopes: list[str],
                        auth_method: str, by: uuid.UUID | None) -> uuid.UUID:
    client_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO machine_clients (id, institution_id, name, scopes, auth_method, created_by)
           VALUES ($1, $2, $3, $4, $5, $6)""", client_id, institution_id, name, scopes, auth_method, by)
    return client_id


async def add_credential(conn: asyncpg.Connection, client_id: uuid.UUID, *, secret_hash: bytes | None = None,
                         public_jwk: dict | None = None) -> uuid.UUID:
    credential_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO machine_client_credentials (id, client_id, secret_hash, public_jwk) VALUES ($1, $2, $3, $4)",
        credential_id, client_id, secret_hash, public_jwk)
    return credential_id


async def end_credentials(conn: asyncpg.Connection, client_id: uuid.UUID, within: timedelta,
                          keep: uuid.UUID | None = None) -> None:
    """The live credentials of the client (but ``keep``) stop working ``within`` from now (sooner
    when they already end sooner)."""
    await conn.execute(
        """UPDATE machine_client_credentials SET expires_at = least(coalesce(expires_at, 'infinity'), now() + $2)
           WHERE client_id = $1 AND id IS DISTINCT FROM $3 AND (expires_at IS NULL OR expires_at > now())""",
        client_id, within, keep)


async def revoke(conn: asyncpg.Connection, client_id: uuid.UUID, by: uuid.UUID | None) -> datetime | None:
    """End the client and every credential; when, or None when it was revoked already."""
    revoked_at = await conn.fetchval(
        """UPDATE machine_clients SET revoked_at = clock_timestamp(), revoked_by = $2
           WHERE id = $1 AND revoked_at IS NULL RETURNING revoked_at""", client_id, by)
    if revoked_at is not None:
        await end_credentials(conn, client_id, timedelta(0))
    return revoked_at


async def load_client(conn: asyncpg.Connection, client_id: uuid.UUID, *, lock: bool = False) -> asyncpg.Record | None:
    if lock:
        await conn.execute("SELECT 1 FROM machine_clients WHERE id = $1 FOR UPDATE", client_id)
    return await conn.fetchrow(CLIENT_SELECT + " WHERE c.id = $1", client_id)


async def list_clients(conn: asyncpg.Connection, institution_id: uuid.UUID | None) -> list[asyncpg.Record]:
    return await conn.fetch(CLIENT_SELECT + " WHERE ($1::uuid IS NULL OR c.institution_id = $1) "
                            "ORDER BY c.revoked_at IS NOT NULL, s.name, c.name, c.id", institution_id)


async def live_credentials(conn: asyncpg.Connection, client_id: uuid.UUID) -> list[asyncpg.Record]:
    """The credentials that work now, of a client that is not revoked."""
    return await conn.fetch(
        """SELECT k.id, k.secret_hash, k.public_jwk FROM machine_client_credentials k
           JOIN machine_clients c ON c.id = k.client_id
           WHERE k.client_id = $1 AND c.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
           ORDER BY k.created_at DESC""", client_id)


async def remember_assertion(conn: asyncpg.Connection, client_id: uuid.UUID, jti: str, expires_at: datetime) -> bool:
    """Keep a client assertion's jti until it expires; False when it was used before (a replay)."""
    if await conn.fetchval("SELECT random() < 0.01"):
        await conn.execute("DELETE FROM machine_client_assertions WHERE expires_at < now() - interval '1 minute'")
    return await conn.fetchval(
        """INSERT INTO machine_client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING true""", client_id, jti, expires_at) is not None


async def log(conn: asyncpg.Connection, client_id: uuid.UUID, event: str, detail: str | None = None,
              by: uuid.UUID | None = None) -> None:
    await conn.execute("INSERT INTO machine_client_log (client_id, event, detail, by_account) VALUES ($1, $2, $3, $4)",
                       client_id, event, detail, by)


async def log_entries(conn: asyncpg.Connection, client_id: uuid.UUID, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT l.at, l.event, l.detail, st.name AS by_name FROM machine_client_log l
           LEFT JOIN staff st ON st.account_id = l.by_account
           WHERE l.client_id = $1 ORDER BY l.id DESC LIMIT $2""", client_id, limit)


def client_out(row: asyncpg.Record) -> dict[str, Any]:
    return {"client_id": str(row["id"]), "institution_id": str(row["institution_id"]),
            "institution_name": row["institution_name"], "name": row["name"], "scopes": list(row["scopes"]),
            "auth_method": row["auth_method"], "created_at": row["created_at"].isoformat(),
            "revoked_at": row["revoked_at"].isoformat() if row["revoked_at"] else None,
            "last_token_at": row["last_token_at"].isoformat() if row["last_token_at"] else None,
            "credentials": [{k: v for k, v in c.items() if v is not None or k == "expires_at"}
                            for c in (row["credentials"] or [])]}
