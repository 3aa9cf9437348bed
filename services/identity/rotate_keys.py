"""Rotating the keys that protect personal data at rest: every BSN (accounts, students, links in
mails, waiting import rows) and every token-signing key is decrypted with the current
BSN_ENCRYPTION_KEY and encrypted again with the new one; every BSN look-up hash is made again with
the new BSN_HMAC_KEY. The short-lived counters and mail guards that are keyed with the HMAC key are
emptied (they start again at zero). All of it in one transaction: it happens completely or not.

    NEW_BSN_ENCRYPTION_KEY=... NEW_BSN_HMAC_KEY=... python -m services.identity.rotate_keys

Stop the identity processes first (the command refuses while other sessions use the database),
then start them with the new keys in BSN_ENCRYPTION_KEY and BSN_HMAC_KEY. A key that is not
rotated may be left out: NEW_BSN_HMAC_KEY alone keeps the encryption key, and the other way round.
"""
from __future__ import annotations

import asyncio
import os
import sys

import asyncpg
from pydantic import SecretStr

from services.identity.settings import IdentitySettings
from services.identity.signing import PURPOSE as SIGNING_PURPOSE
from services.identity.vault import Vault

# table -> its primary key columns; each has bsn_ciphertext and bsn_hmac
BSN_TABLES = {"accounts": ("id",), "students": ("id",), "email_tokens": ("id",),
              "roster_import_rows": ("import_id", "seq")}
HMAC_KEYED = ("throttle", "mail_guard")


class InUse(Exception):
    """Other sessions use the identity database: rotating now would mix keys."""


async def rotate(conn: asyncpg.Connection, old: Vault, new: Vault, *, check_alone: bool = True) -> dict[str, int]:
    """Re-encrypt and re-hash under ``new``; answers how many rows each table had changed."""
    done: dict[str, int] = {}
    async with conn.transaction():
        if check_alone:
            others = await conn.fetchval(
                """SELECT count(*) FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid()""")
            if others:
                raise InUse(f"{others} andere verbinding(en) met de database van identity")
        for table, key in BSN_TABLES.items():
            await conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
            rows = await conn.fetch(f"SELECT {', '.join(key)}, bsn_ciphertext FROM {table} "
                                    "WHERE bsn_ciphertext IS NOT NULL")
            changed = []
            for r in rows:
                bsn = old.decrypt_bsn(r["bsn_ciphertext"])  # a wrong old key fails here, before anything
                changed.append((*(r[k] for k in key), new.encrypt_bsn(bsn), new.bsn_hash(bsn)))
            where = " AND ".join(f"{k} = ${i}" for i, k in enumerate(key, start=1))
            n = len(key)
            await conn.executemany(f"UPDATE {table} SET bsn_ciphertext = ${n + 1}, bsn_hmac = ${n + 2} WHERE {where}",
                                   changed)
            done[table] = len(changed)
        keys = await conn.fetch("SELECT kid, private_key FROM signing_keys")
        await conn.executemany("UPDATE signing_keys SET private_key = $2 WHERE kid = $1", [
            (r["kid"], new.encrypt(old.decrypt(r["private_key"], purpose=SIGNING_PURPOSE), purpose=SIGNING_PURPOSE))
            for r in keys])
        done["signing_keys"] = len(keys)
        for table in HMAC_KEYED:
            done[table] = int((await conn.execute(f"DELETE FROM {table}")).split()[-1])
    return done


def _new_settings(current: IdentitySettings, env: dict[str, str]) -> IdentitySettings:
    new_enc, new_hmac = env.get("NEW_BSN_ENCRYPTION_KEY"), env.get("NEW_BSN_HMAC_KEY")
    if not new_enc and not new_hmac:
        raise SystemExit("Zet NEW_BSN_ENCRYPTION_KEY en/of NEW_BSN_HMAC_KEY (base64) om sleutels te vervangen.")
    return current.model_copy(update={
        "bsn_encryption_key": SecretStr(new_enc) if new_enc else current.bsn_encryption_key,
        "bsn_hmac_key": SecretStr(new_hmac) if new_hmac else current.bsn_hmac_key})


async def main() -> None:
    from services.identity.app import vault_from
    from shared import db

    settings = IdentitySettings()
    new_settings = _new_settings(settings, dict(os.environ))
    try:
        new_vault = vault_from(new_settings)
    except ValueError as exc:
        raise SystemExit(f"De nieuwe sleutel klopt niet: {exc}") from None
    conn = await asyncpg.connect(settings.effective_database_url())
    try:
        await db.init_connection(conn)
        done = await rotate(conn, vault_from(settings), new_vault)
    except InUse as exc:
        raise SystemExit(f"Niet gedaan: {exc}. Stop eerst alle processen van identity.") from None
    finally:
        await conn.close()
    print("Sleutels vervangen: " + ", ".join(f"{table} {n}" for table, n in done.items()))
    print("Start identity nu met de nieuwe waarden in BSN_ENCRYPTION_KEY en BSN_HMAC_KEY.")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
