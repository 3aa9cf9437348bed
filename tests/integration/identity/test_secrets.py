"""Keys and secrets: production refuses to run without keys, BSNs are encrypted and never logged,
the password hash defaults are OWASP's."""
from __future__ import annotations

import base64
import logging
import os

import pytest
from pydantic import ValidationError

from services.identity.settings import IdentitySettings
from services.identity.vault import Vault
from shared.logs import JsonFormatter

KEY = base64.b64encode(os.urandom(32)).decode()


def test_production_refuses_to_start_without_keys():
    keys = dict(bsn_encryption_key=KEY, bsn_hmac_key=KEY, activation_code_key=KEY)
    with pytest.raises(ValidationError, match="EVENT_SEAL_KEY must be set"):
        IdentitySettings(environment="production", **keys)
    with pytest.raises(ValidationError, match="BSN_ENCRYPTION_KEY and BSN_HMAC_KEY and ACTIVATION_CODE_KEY must"):
        IdentitySettings(environment="production", event_seal_key=KEY)
    with pytest.raises(ValidationError, match="BSN_HMAC_KEY and ACTIVATION_CODE_KEY must be set"):
        IdentitySettings(environment="production", event_seal_key=KEY, bsn_encryption_key=KEY)
    with pytest.raises(ValidationError, match=" ACTIVATION_CODE_KEY must be set"):
        IdentitySettings(environment="production", event_seal_key=KEY, bsn_encryption_key=KEY, bsn_hmac_key=KEY)
    ok = IdentitySettings(environment="production", event_seal_key=KEY, **keys)
    assert not ok.uses_dev_keys and ok.encryption_key_bytes() == base64.b64decode(KEY)
    with pytest.raises(ValidationError, match="not valid base64"):
        IdentitySettings(bsn_encryption_key="geen base64!")
    with pytest.raises(ValidationError, match="must decode to 16 or 24 or 32 bytes"):
        IdentitySettings(bsn_encryption_key=base64.b64encode(b"kort").decode())
    assert IdentitySettings().uses_dev_keys, "development falls back to the marked dev keys"


def test_password_hashing_defaults_are_owasps_recommendation():
    s = IdentitySettings()
    assert (s.argon2_time_cost, s.argon2_memory_kib, s.argon2_parallelism) == (2, 19_456, 1)
    assert s.access_token_ttl_seconds == 900


def test_the_vault_encrypts_with_fresh_nonces_and_separates_purposes():
    vault = Vault(os.urandom(32), os.urandom(32))
    a, b = vault.encrypt_bsn("123456782"), vault.encrypt_bsn("123456782")
    assert a != b and b"123456782" not in a
    assert vault.decrypt_bsn(a) == "123456782"
    assert vault.bsn_hash("123456782") == vault.bsn_hash("123456782") != vault.lookup_hash("123456782", purpose="x")
    with pytest.raises(Exception):
        vault.decrypt(a, purpose="signing-key")
    other = Vault(os.urandom(32), os.urandom(32))
    with pytest.raises(Exception):
        other.decrypt_bsn(a)
    assert other.bsn_hash("123456782") != vault.bsn_hash("123456782"), "the look-up hash is keyed"


async def test_a_bsn_is_never_logged_nor_in_events(w, caplog):
    caplog.set_level(logging.DEBUG)
    bsn = "123456794"
    r = await w.client.post("/v1/registrations", json={"bsn": bsn, "email": "geheim@example.nl"})
    assert r.status == 202
    r = await w.client.post("/v1/registrations", json={"bsn": "123 456 789", "email": "geheim@example.nl"})
    assert r.status == 422 and "123" not in await r.text()
    formatted = "\n".join(JsonFormatter().format(rec) for rec in caplog.records)
    assert bsn not in formatted and "123456789" not in formatted
    assert bsn not in await w.outbox_text()
    stored = await w.fetchval("SELECT bsn_ciphertext FROM email_tokens")
    assert bsn.encode() not in stored
