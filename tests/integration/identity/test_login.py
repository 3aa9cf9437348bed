"""Login, tokens, refresh rotation, logout, throttling, rehashing and the shared signing key."""
from __future__ import annotations

import asyncio

import jwt

from services.identity.context import KEYRING, VAULT
from services.identity.signing import ensure_key
from shared.app import DB
from shared.auth import TokenVerifier
from tests.integration.identity.conftest import LOGINS, VO_SCHOOL_ID, world

FAILED = "Het e-mailadres of het wachtwoord klopt niet."


async def attempt(w, email, password, **kw):
    r = await w.client.post("/v1/sessions", json={"email": email, "password": password}, **kw)
    return r.status, await r.json()


async def test_the_access_token_names_role_school_staff_and_classes(w):
    tokens = await w.login(*LOGINS["mentor_4a"])
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900 and tokens["role"] == "mentor"
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "EdDSA" and header["kid"]
    assert claims["exp"] - claims["iat"] == 900
    assert claims["role"] == "mentor" and claims["school_id"] == str(VO_SCHOOL_ID) and claims["name"] == "Karin Jansen"
    assert claims["class_ids"] == [str(await w.class_id("4a"))] and claims["staff_id"] and claims["session_id"]
    mbo = jwt.decode((await w.login(*LOGINS["mbo_staff"]))["access_token"], options={"verify_signature": False})
    assert "school_id" not in mbo and mbo["institution_id"]
    # other services verify with the public keys; the private key is never served
    doc = await (await w.client.get("/.well-known/jwks.json")).json()
    assert [k["kid"] for k in doc["keys"]] == [header["kid"]] and "d" not in doc["keys"][0]
    principal = await TokenVerifier(str(w.client.make_url("/.well-known/jwks.json"))).verify(tokens["access_token"])
    assert principal.role == "mentor" and principal.class_ids == (await w.class_id("4a"),)


async def test_wrong_password_and_unknown_address_get_the_same_answer(w):
    email, _ = LOGINS["counsellor"]
    assert await attempt(w, email, "niet het goede wachtwoord") == await attempt(w, "niemand@example.nl", "iets")
    status, problem = await attempt(w, email, "niet het goede wachtwoord")
    assert status == 401 and problem["detail"] == FAILED


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(w):
    first = await w.login(*LOGINS["counsellor"])
    r = await w.client.post("/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status == 200
    second = await r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert jwt.decode(second["access_token"], options={"verify_signature": False})["session_id"] == \
        jwt.decode(first["access_token"], options={"verify_signature": False})["session_id"]
    # the old refresh token again: someone copied it, so the session ends for both
    r = await w.client.post("/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status == 401
    r = await w.client.post("/v1/sessions/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status == 401
    assert await w.fetchval("SELECT count(*) FROM refresh_tokens WHERE token_hash = $1", first["refresh_token"]) == 0, \
        "refresh tokens are stored hashed"


async def test_logout_ends_the_session(w):
    tokens = await w.login(*LOGINS["school_admin"])
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await w.client.delete("/v1/sessions/current", headers=auth)).status == 204
    assert (await w.client.post("/v1/sessions/refresh", json={"refresh_token": tokens["refresh_token"]})).status == 401
    r = await w.client.get("/v1/me", headers=auth)
    assert r.status == 401 and r.content_type == "application/problem+json"
    assert (await w.client.get("/v1/me")).status == 401


async def test_failures_for_one_account_slow_down_then_block(unique):
    async with world(f"thr_acc_{unique}", login_account_soft_limit=2, login_account_hard_limit=4,
                     throttle_max_delay_seconds=600) as w:
        email, password = LOGINS["counsellor"]
        for _ in range(2):
            assert (await attempt(w, email, "fout"))[0] == 401
        # slowed down: even the right password is refused now, with the same message
        assert await attempt(w, email, password) == await attempt(w, email, "fout")
        assert (await attempt(w, *LOGINS["mentor_4a"]))[0] == 201, \
            "other accounts are not affected"
        # after the wait (moved back in time here) tries count again, until the block
        for _ in range(2):
            await w.execute("UPDATE throttle SET last_failure_at = now() - interval '1 hour' WHERE scope = 'login-account'")
            assert (await attempt(w, email, "fout"))[0] == 401
        await w.execute("UPDATE throttle SET last_failure_at = now() - interval '1 hour' WHERE scope = 'login-account'")
        status, problem = await attempt(w, email, password)
        assert status == 401 and problem["detail"] == FAILED, "blocked, and it looks like a wrong password"
        assert await w.fetchval("SELECT blocked_until > now() FROM throttle WHERE scope = 'login-account'")
        # once the block is over the right password works and the count starts again
        await w.execute("UPDATE throttle SET blocked_until = now() - interval '1 second'")
        assert (await attempt(w, email, password))[0] == 201
        assert await w.fetchval("SELECT count(*) FROM throttle WHERE scope = 'login-account'") == 0


async def test_failures_from_one_address_block_that_address(unique):
    async with world(f"thr_ip_{unique}", login_ip_soft_limit=10, login_ip_hard_limit=3, trusted_proxies=1) as w:
        here = {"X-Forwarded-For": "203.0.113.7"}
        for i in range(3):
            assert (await attempt(w, f"gok{i}@example.nl", "fout", headers=here))[0] == 401
        email, password = LOGINS["mentor_4b"]
        assert (await attempt(w, email, password, headers=here))[0] == 401, "the address is blocked"
        assert (await attempt(w, email, password, headers={"X-Forwarded-For": "198.51.100.1"}))[0] == 201
        stored = await w.fetchval("SELECT string_agg(encode(key, 'escape'), '') FROM throttle")
        assert "203.0.113.7" not in stored, "addresses are kept as keyed hashes only"


async def test_counters_are_shared_by_processes(unique):
    """Two identity instances on one database: failures at one count at the other."""
    db = f"thr_two_{unique}"
    async with world(db, login_account_soft_limit=10, login_account_hard_limit=2) as a, \
            world(db, demo=False, login_account_soft_limit=10, login_account_hard_limit=2) as b:
        email, password = LOGINS["counsellor"]
        assert (await attempt(a, email, "fout"))[0] == 401
        assert (await attempt(b, email, "fout"))[0] == 401
        assert (await attempt(a, email, password))[0] == 401
        # and both sign with the same key, made once
        assert await a.fetchval("SELECT count(*) FROM signing_keys") == 1
        ka = await (await a.client.get("/.well-known/jwks.json")).json()
        kb = await (await b.client.get("/.well-known/jwks.json")).json()
        assert ka == kb


async def test_a_hash_made_with_older_parameters_is_rehashed_at_login(unique):
    db = f"rehash_{unique}"
    email, password = LOGINS["mentor_4a"]
    async with world(db) as old:
        before = await old.fetchval("SELECT password_hash FROM accounts WHERE email = $1", email)
        assert "$m=1024,t=1,p=1$" in before
    async with world(db, demo=False, argon2_time_cost=2, argon2_memory_kib=2048) as new:
        await new.login(email, password)
        after = await new.fetchval("SELECT password_hash FROM accounts WHERE email = $1", email)
        assert "$m=2048,t=2,p=1$" in after
        await new.login(email, password)


async def test_a_rotated_key_is_published_and_old_tokens_stay_valid(w):
    old = await w.login(*LOGINS["admin"])
    async with w.app[DB].acquire() as conn:
        await ensure_key(conn, w.app[VAULT], rotate=True)
        await w.app[KEYRING].load(conn)
    new = await w.login(*LOGINS["admin"])
    kids = [jwt.get_unverified_header(t["access_token"])["kid"] for t in (old, new)]
    assert kids[0] != kids[1]
    doc = await (await w.client.get("/.well-known/jwks.json")).json()
    assert sorted(k["kid"] for k in doc["keys"]) == sorted(kids)
    for t in (old, new):
        assert (await w.client.get("/v1/me", headers={"Authorization": f"Bearer {t['access_token']}"})).status == 200


async def test_many_logins_at_once_all_succeed(w):
    """As many at once as the account's hard limit: tries in flight count towards it (see below)."""
    email, password = LOGINS["counsellor"]
    n = w.settings.login_account_hard_limit
    results = await asyncio.gather(*(attempt(w, email, password) for _ in range(n)))
    assert [s for s, _ in results] == [201] * n
