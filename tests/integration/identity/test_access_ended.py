"""identity.access_ended is written to the outbox, in the transaction that ends the access, on every
path that ends one: a logout (that session), a refresh token used twice (its session), a password
changed or reset and a deactivated member of staff (every session of the account). ``ended_at``
is not before any access token the ended sessions were given, so the other services refuse them."""
from __future__ import annotations

import asyncio
from datetime import datetime

import jwt

from tests.integration.identity.conftest import LOGINS
from tests.integration.identity.test_accounts import token_of

EMAIL, PASSWORD = LOGINS["counsellor"]
NEW = "een lange nieuwe zin als wachtwoord"


def claims(tokens: dict) -> dict:
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})


def bearer(tokens: dict) -> dict:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def ended(w) -> list[dict]:
    return await w.events("identity.access_ended")


def covers(event: dict, tokens: dict) -> bool:
    """Would a service refuse this token for this event (issued at or before ended_at)?"""
    c = claims(tokens)
    return (event["account_id"] == c["sub"] and event["session_id"] in (None, c["session_id"])
            and c["iat_ms"] / 1000 <= datetime.fromisoformat(event["ended_at"]).timestamp())


async def test_a_logout_ends_that_session_for_every_service(w):
    other = await w.login(EMAIL, PASSWORD)
    tokens = await w.login(EMAIL, PASSWORD)
    assert (await w.client.delete("/v1/sessions/current", headers=bearer(tokens))).status == 204
    [event] = await ended(w)
    assert event["reason"] == "logout" and event["session_id"] == claims(tokens)["session_id"]
    assert covers(event, tokens) and not covers(event, other)
    ended_at = await w.fetchval("SELECT ended_at FROM sessions WHERE id = $1::uuid", event["session_id"])
    assert datetime.fromisoformat(event["ended_at"]) == ended_at
    # logging out again ends nothing more
    assert (await w.client.delete("/v1/sessions/current", headers=bearer(tokens))).status == 401
    assert len(await ended(w)) == 1


async def test_a_refresh_token_used_twice_ends_its_session_for_every_service(w):
    first = await w.login(EMAIL, PASSWORD)
    r = await w.client.post("/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]})
    second = await r.json()
    assert await ended(w) == []
    r = await w.client.post("/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status == 401
    [event] = await ended(w)
    assert event["reason"] == "session_revoked" and event["session_id"] == claims(first)["session_id"]
    assert covers(event, first) and covers(event, second), "both the copied and the owner's tokens"


async def test_a_changed_password_ends_every_session_for_every_service(w):
    here, elsewhere = await w.login(EMAIL, PASSWORD), await w.login(EMAIL, PASSWORD)
    r = await w.client.post("/v1/me/password", json={"current_password": "fout wachtwoord", "new_password": NEW},
                            headers=bearer(here))
    assert r.status == 422 and await ended(w) == [], "a refused change ends nothing"
    r = await w.client.post("/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW},
                            headers=bearer(here))
    assert r.status == 200
    [event] = await ended(w)
    assert event["reason"] == "password_changed" and event["session_id"] is None
    assert covers(event, here) and covers(event, elsewhere)
    # this session goes on: its refresh token gives a token made after the end, which no service refuses
    r = await w.client.post("/v1/sessions/refresh", json={"refresh_token": here["refresh_token"]})
    assert r.status == 200 and not covers(event, await r.json())


async def test_a_reset_password_ends_every_session_for_every_service_once(w):
    tokens = await w.login(EMAIL, PASSWORD)
    assert (await w.client.post("/v1/password-resets", json={"email": EMAIL})).status == 202
    [reset] = await w.events("identity.password_reset_requested")
    body = {"token": token_of(reset["reset_url"]), "password": NEW}
    # the link followed twice at the same moment: it works once
    answers = await asyncio.gather(*(w.client.post("/v1/password-resets/confirm", json=body) for _ in range(5)))
    assert sorted(r.status for r in answers) == [200, 410, 410, 410, 410]
    [event] = await ended(w)
    assert event["reason"] == "password_changed" and event["session_id"] is None and covers(event, tokens)
    assert len(await w.events("identity.password_changed")) == 1


async def test_a_deactivated_member_of_staff_loses_every_session_for_every_service(w):
    mentor_email, mentor_password = LOGINS["mentor_4b"]
    tokens = await w.login(mentor_email, mentor_password)
    staff_id = claims(tokens)["staff_id"]
    admin = await w.headers("school_admin")
    r = await w.client.patch(f"/v1/staff/{staff_id}", json={"name": "Peter de Vries-Jansen"}, headers=admin)
    assert r.status == 200 and await ended(w) == [], "a new name ends nothing"
    r = await w.client.patch(f"/v1/staff/{staff_id}", json={"active": False}, headers=admin)
    assert r.status == 200
    [event] = await ended(w)
    assert event["reason"] == "deactivated" and event["session_id"] is None and covers(event, tokens)
    assert (await w.client.post("/v1/sessions/refresh", json={"refresh_token": tokens["refresh_token"]})).status == 401
