"""The keys that sign access tokens: in identity's database (encrypted), shared by every process.

The first process to start makes the key under an advisory lock; the others find it. Rotation adds
a new key (new ``kid``) and retires the old one, which stays published in the JWKS until every
token it signed has expired. ``python -m services.identity.signing rotate`` rotates.
"""
from __future__ import annotations

import asyncio
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from services.identity.vault import Vault
from shared.auth import Principal, TokenSigner, TokenVerifier, jwks, new_private_key_pem
from shared.problems import Problem

KEY_LOCK_ID = 7_316_101  # advisory lock: one process at a time makes or rotates keys
PURPOSE = "signing-key"


def _new_kid() -> str:
    return datetime.now(UTC).strftime("%Y%m%d") + "-" + secrets.token_hex(4)


async def ensure_key(conn: asyncpg.Connection, vault: Vault, *, rotate: bool = False) -> str:
    """Make a signing key when there is no active one (or when rotating); returns the active kid."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", KEY_LOCK_ID)
        active = await conn.fetchval(
            "SELECT kid FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1")
        if active and not rotate:
            return active
        kid = _new_kid()
        await conn.execute("UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL")
        await conn.execute("INSERT INTO signing_keys (kid, private_key) VALUES ($1, $2)",
                           kid, vault.encrypt(new_private_key_pem(), purpose=PURPOSE))
        return kid


class KeyRing:
    """The active signer plus every key still published (retired ones until their tokens expire)."""

    def __init__(self, vault: Vault, token_ttl_seconds: int) -> None:
        self.vault, self.token_ttl = vault, token_ttl_seconds
        self.signers: dict[str, TokenSigner] = {}
        self.active_kid: str | None = None
        self.loaded_at = 0.0

    async def load(self, conn: asyncpg.Connection) -> None:
        rows = await conn.fetch(
            """SELECT kid, private_key, retired_at FROM signing_keys
               WHERE retired_at IS NULL OR retired_at > now() - $1::interval
               ORDER BY created_at DESC""", timedelta(seconds=self.token_ttl + 300))
        signers = {}
        for r in rows:
            signers[r["kid"]] = self.signers.get(r["kid"]) or TokenSigner(
                self.vault.decrypt(r["private_key"], purpose=PURPOSE), r["kid"])
        self.signers = signers
        self.active_kid = next((r["kid"] for r in rows if r["retired_at"] is None), None)
        self.loaded_at = time.monotonic()

    async def refresh_if_stale(self, conn: asyncpg.Connection, max_age: float = 60.0) -> None:
        """Pick up a rotation made by another process (within a minute)."""
        if time.monotonic() - self.loaded_at > max_age:
            await self.load(conn)

    def sign(self, principal: Principal, ttl_seconds: int | None = None) -> str:
        assert self.active_kid, "no signing key loaded"
        return self.signers[self.active_kid].sign(principal, ttl_seconds=ttl_seconds or self.token_ttl)

    def jwks(self) -> dict:
        return jwks(*self.signers.values())


class IdentityVerifier(TokenVerifier):
    """Identity checks its own tokens without HTTP: keys from its database, and the session must
    still be open (logout and a password reset end it at once here; elsewhere within 15 minutes)."""

    def __init__(self, ring: KeyRing, min_refresh: float = 5.0) -> None:
        super().__init__(None, min_refresh=min_refresh)
        self.ring = ring
        self.pool: asyncpg.Pool | None = None

    def attach(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._load(self.ring.jwks())

    async def _refresh(self) -> None:
        self._load(self.ring.jwks())  # what this process knows already (its own logins keep the ring fresh)
        if self.pool is None or time.monotonic() - self.ring.loaded_at < self.min_refresh:
            return
        async with self._lock:
            async with self.pool.acquire(timeout=10) as conn:
                await self.ring.load(conn)
            self._load(self.ring.jwks())

    async def verify(self, token: str) -> Principal:
        principal = await super().verify(token)
        assert self.pool is not None
        if principal.role == "client":  # a machine client: no session, but it must not be revoked
            async with self.pool.acquire(timeout=10) as conn:
                live = await conn.fetchval("SELECT revoked_at IS NULL FROM machine_clients WHERE id = $1",
                                           principal.account_id)
            if not live:
                raise Problem(401, "Deze koppeling is ingetrokken.", code="client-revoked")
            return principal
        try:
            session_id = uuid.UUID(principal.session_id)
        except ValueError:
            session_id = None
        open_ = False
        if session_id is not None:
            async with self.pool.acquire(timeout=10) as conn:
                open_ = await conn.fetchval(
                    """SELECT true FROM sessions s JOIN accounts a ON a.id = s.account_id
                       WHERE s.id = $1 AND s.ended_at IS NULL AND s.expires_at > now() AND a.active""", session_id)
        if not open_:
            raise Problem(401, "Je bent niet (meer) ingelogd. Log opnieuw in.", code="session-ended")
        return principal


async def _main(argv: list[str]) -> None:
    from services.identity.app import vault_from
    from services.identity.settings import IdentitySettings
    from shared import db

    if argv != ["rotate"]:
        print("gebruik: python -m services.identity.signing rotate", file=sys.stderr)
        raise SystemExit(2)
    settings = IdentitySettings()
    conn = await asyncpg.connect(settings.effective_database_url())
    try:
        await db.init_connection(conn)
        kid = await ensure_key(conn, vault_from(settings), rotate=True)
    finally:
        await conn.close()
    print(f"nieuwe ondertekeningssleutel: {kid} (draaiende processen gebruiken hem binnen een minuut; "
          "de oude blijft gepubliceerd tot de tokens die hij tekende verlopen zijn)")


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1:]))
