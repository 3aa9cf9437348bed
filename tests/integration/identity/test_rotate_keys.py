"""Rotating the keys of personal data at rest: afterwards every BSN and signing key opens with the
new keys only, look-ups by BSN work with the new HMAC key, and identity runs on with the new keys
(logins, and a registration with a known BSN finds its owner). A wrong old key or a database still
in use changes nothing."""
from __future__ import annotations

import asyncio
import base64
import os
import sys

import asyncpg
import pytest
from cryptography.exceptions import InvalidTag
from pydantic import SecretStr

from services.identity.app import vault_from
from services.identity.rotate_keys import BSN_TABLES, InUse, rotate
from services.identity.vault import Vault
from shared import db
from tests.integration.identity.conftest import LOGINS, world

NEW_KEYS = {"bsn_encryption_key": base64.b64encode(os.urandom(32)).decode(),
            "bsn_hmac_key": base64.b64encode(os.urandom(48)).decode()}


async def _bsns(conn: asyncpg.Connection) -> dict[str, list[tuple[bytes, bytes]]]:
    return {t: [(bytes(r["bsn_ciphertext"]), bytes(r["bsn_hmac"])) for r in await conn.fetch(
        f"SELECT bsn_ciphertext, bsn_hmac FROM {t} WHERE bsn_ciphertext IS NOT NULL ORDER BY {', '.join(key)}")]
        for t, key in BSN_TABLES.items()}


async def test_rotated_keys_protect_everything_and_identity_runs_on(unique):
    name = f"rot_{unique}"
    async with world(name) as w:
        assert (await w.client.post("/v1/registrations", json={"bsn": "123456757",
                                                               "email": "nieuw@example.nl"})).status == 202
        await w.login(*LOGINS["counsellor"])  # a signing key exists
        old = vault_from(w.settings)
        conn = await asyncpg.connect(w.settings.effective_database_url())
        try:
            await db.init_connection(conn)
            before = await _bsns(conn)
            assert before["accounts"] and before["students"] and before["email_tokens"]
            with pytest.raises(InUse):
                await rotate(conn, old, old)  # the running app holds connections
            wrong = Vault(os.urandom(32), os.urandom(32))
            with pytest.raises(InvalidTag):
                await rotate(conn, wrong, wrong, check_alone=False)
            assert await _bsns(conn) == before, "a wrong old key changes nothing"
        finally:
            await conn.close()

    # the operator's command, with identity stopped: no other connections now
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.identity.rotate_keys", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env={**os.environ, "DATABASE_URL": w.settings.effective_database_url(),
                                               **{f"NEW_{k.upper()}": v for k, v in NEW_KEYS.items()}})
    output = (await asyncio.wait_for(cli.communicate(), 60))[0].decode()
    assert cli.returncode == 0 and "Sleutels vervangen: accounts" in output, output
    new = vault_from(w.settings.model_copy(update={k: SecretStr(v) for k, v in NEW_KEYS.items()}))
    conn = await asyncpg.connect(w.settings.effective_database_url())
    try:
        after = await _bsns(conn)
        keys = [r["private_key"] for r in await conn.fetch("SELECT private_key FROM signing_keys")]
    finally:
        await conn.close()
    assert {t: len(rows) for t, rows in after.items()} == {t: len(rows) for t, rows in before.items()}
    for table, rows in after.items():
        for (cipher, digest), (old_cipher, _) in zip(rows, before[table]):
            bsn = new.decrypt_bsn(cipher)
            assert bsn == old.decrypt_bsn(old_cipher) and digest == new.bsn_hash(bsn)
            with pytest.raises(InvalidTag):
                old.decrypt_bsn(cipher)
    assert keys and all(new.decrypt(k, purpose="signing-key") for k in keys)

    # identity on the same database with the new keys: logins sign, BSN look-ups find their owner
    async with world(name, demo=False, **NEW_KEYS) as w:
        await w.login(*LOGINS["student"])
        roos_bsn = new.decrypt_bsn(after["accounts"][0][0])
        assert (await w.client.post("/v1/registrations", json={"bsn": roos_bsn,
                                                               "email": "ander@example.nl"})).status == 202
        assert await w.events("identity.account_exists_notice"), "the owner of the BSN is found and told"
