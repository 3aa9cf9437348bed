"""Registration, verification links, password rules, "wachtwoord vergeten" and invitations."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from services.identity.context import VAULT
from tests.integration.identity.conftest import LOGINS

ROOS_EMAIL, ROOS_PASSWORD = LOGINS["student"]
ROOS_BSN = "123456708"
NEW_BSN = "123456769"


def token_of(url: str) -> str:
    return re.search(r"token=([\w-]+)", url)[1]


async def register(w, bsn: str, email: str):
    r = await w.client.post("/v1/registrations", json={"bsn": bsn, "email": email})
    return r.status, await r.json()


async def verification_token(w, bsn: str, email: str) -> str:
    status, _ = await register(w, bsn, email)
    assert status == 202
    return token_of((await w.events("identity.verification_requested"))[-1]["verify_url"])


async def test_registration_answers_alike_and_tells_the_real_owner(w):
    new = await register(w, NEW_BSN, "nieuw@leerling.example")
    assert new[0] == 202 and "e-mail gestuurd" in new[1]["detail"]
    [verification] = await w.events("identity.verification_requested")
    assert verification["email"] == "nieuw@leerling.example"

    roos_account = await w.fetchval("SELECT id FROM accounts WHERE email = $1", ROOS_EMAIL)
    same_address = await register(w, "123456782", ROOS_EMAIL.upper())
    same_bsn = await register(w, ROOS_BSN, "iemand.anders@example.nl")
    assert same_address == new and same_bsn == new, "exactly the same answer as for a new person"
    # a taken address gets no link; a BSN is only a claim: the other address gets its link (typing
    # a BSN binds nothing), and Roos, whose account is bound to that BSN by her code, is told
    assert [v["email"] for v in await w.events("identity.verification_requested")] == [
        "nieuw@leerling.example", "iemand.anders@example.nl"]
    notices = await w.events("identity.account_exists_notice")
    assert [n["email"] for n in notices] == [ROOS_EMAIL, ROOS_EMAIL], "the owner hears of it, not the one who typed"
    assert {n["account_id"] for n in notices} == {str(roos_account)}
    text = await w.outbox_text()
    assert ROOS_BSN not in text and NEW_BSN not in text


@pytest.mark.parametrize("bsn, message", [
    ("12345678", "Dit BSN klopt niet (elfproef)."),       # 8 digits: a leading zero is added, then checked
    ("123456789", "Dit BSN klopt niet (elfproef)."),
    ("12345678a", "Dit is geen geldig BSN: het moet uit 9 cijfers bestaan."),
    ("", "Dit is geen geldig BSN: het moet uit 9 cijfers bestaan."),
])
async def test_a_bsn_that_fails_the_eleven_test_is_refused(w, bsn, message):
    status, problem = await register(w, bsn, "x@example.nl")
    assert status == 422 and problem["errors"] == [{"field": "bsn", "message": message}]
    assert await w.fetchval("SELECT count(*) FROM email_tokens") == 0


@pytest.mark.parametrize("password, message", [
    ("kort genoeg", "te kort"),                          # 11 characters
    ("x" * 129, "te lang"),
    ("wachtwoord123", "te vaak gebruikt"),
    ("Q1W2E3R4T5Y6", "te vaak gebruikt"),                # the block list ignores case
    ("nieuwe.leerling@example.nl", "gelijk zijn aan je e-mailadres"),
])
async def test_weak_passwords_are_refused_and_the_link_stays_usable(w, password, message):
    token = await verification_token(w, NEW_BSN, "nieuwe.leerling@example.nl")
    r = await w.client.post("/v1/registrations/confirm", json={"token": token, "password": password})
    assert r.status == 422
    problem = await r.json()
    assert problem["errors"][0]["field"] == "password" and message in problem["errors"][0]["message"]
    assert await w.fetchval("SELECT count(*) FROM accounts WHERE email = 'nieuwe.leerling@example.nl'") == 0
    r = await w.client.post("/v1/registrations/confirm", json={"token": token, "password": "een goed wachtwoord"})
    assert r.status == 200, "a refused password does not use up the link"


async def test_long_passwords_of_any_characters_are_kept_whole(w):
    password = "ë🙂 " * 32  # 96 code points, spaces and emoji
    password = password + "z" * (128 - len(password))
    token = await verification_token(w, NEW_BSN, "lang@example.nl")
    r = await w.client.post("/v1/registrations/confirm", json={"token": token, "password": password})
    assert r.status == 200, await r.text()
    await w.login("lang@example.nl", password)
    r = await w.client.post("/v1/sessions", json={"email": "lang@example.nl", "password": password[:-1]})
    assert r.status == 401, "never truncated"
    bsn = await w.fetchval("SELECT bsn_ciphertext FROM accounts WHERE email = 'lang@example.nl'")
    assert NEW_BSN.encode() not in bsn
    assert w.app[VAULT].decrypt_bsn(bsn) == NEW_BSN, "encrypted at rest, and only readable with the key"


async def test_links_work_once_and_expire(w):
    token = await verification_token(w, NEW_BSN, "eenmalig@example.nl")
    ok = {"token": token, "password": "een goed wachtwoord"}
    assert (await w.client.post("/v1/registrations/confirm", json=ok)).status == 200
    r = await w.client.post("/v1/registrations/confirm", json=ok)
    assert r.status == 410 and "al gebruikt of verlopen" in (await r.json())["detail"]

    token = await verification_token(w, "123456782", "verlopen@example.nl")
    await w.execute("UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
    r = await w.client.post("/v1/registrations/confirm", json={"token": token, "password": "een goed wachtwoord"})
    assert r.status == 410
    r = await w.client.post("/v1/registrations/confirm", json={"token": "verzonnen", "password": "een goed wachtwoord"})
    assert r.status == 410
    assert await w.fetchval("SELECT count(*) FROM accounts WHERE email = 'verlopen@example.nl'") == 0
    # the link's lifetime is the setting
    expires = datetime.fromisoformat((await w.events("identity.verification_requested"))[-1]["expires_at"])
    assert timedelta(hours=47) < expires - datetime.now(UTC) <= timedelta(hours=48)


async def test_forgotten_password_same_answer_single_use_link_ends_sessions(w):
    unknown = await w.client.post("/v1/password-resets", json={"email": "onbekend@example.nl"})
    known = await w.client.post("/v1/password-resets", json={"email": ROOS_EMAIL})
    assert (unknown.status, await unknown.json()) == (known.status, await known.json()) == (202, await known.json())
    [reset] = await w.events("identity.password_reset_requested")
    assert reset["email"] == ROOS_EMAIL
    expires = datetime.fromisoformat(reset["expires_at"])
    assert expires - datetime.now(UTC) <= timedelta(minutes=30), "a short expiry"

    session = await w.login(ROOS_EMAIL, ROOS_PASSWORD)
    auth = {"Authorization": f"Bearer {session['access_token']}"}
    assert (await w.client.get("/v1/me", headers=auth)).status == 200

    body = {"token": token_of(reset["reset_url"]), "password": "een heel nieuw wachtwoord"}
    r = await w.client.post("/v1/password-resets/confirm", json=body)
    assert r.status == 200
    assert (await w.client.post("/v1/password-resets/confirm", json=body)).status == 410
    # every session ended: the refresh token and (at identity) the access token stop working
    r = await w.client.post("/v1/sessions/refresh", json={"refresh_token": session["refresh_token"]})
    assert r.status == 401
    assert (await w.client.get("/v1/me", headers=auth)).status == 401
    [changed] = await w.events("identity.password_changed")
    assert changed["email"] == ROOS_EMAIL
    assert (await w.client.post("/v1/sessions", json={"email": ROOS_EMAIL, "password": ROOS_PASSWORD})).status == 401
    await w.login(ROOS_EMAIL, "een heel nieuw wachtwoord")


async def test_a_newer_reset_link_replaces_the_older_one(w):
    for _ in range(2):
        assert (await w.client.post("/v1/password-resets", json={"email": ROOS_EMAIL})).status == 202
    first, second = await w.events("identity.password_reset_requested")
    r = await w.client.post("/v1/password-resets/confirm",
                            json={"token": token_of(first["reset_url"]), "password": "een heel nieuw wachtwoord"})
    assert r.status == 410
    r = await w.client.post("/v1/password-resets/confirm",
                            json={"token": token_of(second["reset_url"]), "password": "een heel nieuw wachtwoord"})
    assert r.status == 200


async def test_a_new_staff_member_is_invited_and_sets_a_password(w):
    r = await w.client.post("/v1/staff", json={"role": "mentor", "name": "Anna de Boer",
                                               "email": "a.deboer@voorbeeldcollege.example"},
                            headers=await w.headers("school_admin"))
    assert r.status == 201, await r.text()
    staff = await r.json()
    assert staff["status"] == "uitgenodigd" and staff["school_id"] == str(await w.fetchval(
        "SELECT id FROM schools WHERE name = 'Het Voorbeeld College'"))
    [invite] = await w.events("identity.staff_invited")
    assert invite["email"] == "a.deboer@voorbeeldcollege.example" and invite["school_name"] == "Het Voorbeeld College"
    body = {"token": token_of(invite["accept_url"]), "password": "mentor van klas 4c"}
    assert (await w.client.post("/v1/invitations/accept", json=body)).status == 200
    assert (await w.client.post("/v1/invitations/accept", json=body)).status == 410
    tokens = await w.login("a.deboer@voorbeeldcollege.example", "mentor van klas 4c")
    me = await (await w.client.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})).json()
    assert me["role"] == "mentor" and me["school"]["name"] == "Het Voorbeeld College"
    r = await w.client.get(f"/v1/staff/{staff['staff_id']}", headers=await w.headers("school_admin"))
    assert (await r.json())["status"] == "actief"
    # an invitation for someone who has a password already is refused
    r = await w.client.post(f"/v1/staff/{staff['staff_id']}/invitation", headers=await w.headers("school_admin"))
    assert r.status == 409


async def test_an_invitation_link_expires(w):
    r = await w.client.post("/v1/staff", json={"role": "counsellor", "name": "Bram Kok",
                                               "email": "b.kok@voorbeeldcollege.example"},
                            headers=await w.headers("school_admin"))
    [invite] = await w.events("identity.staff_invited")
    await w.execute("UPDATE email_tokens SET expires_at = now() - interval '1 second'")
    body = {"token": token_of(invite["accept_url"]), "password": "decaan van de school"}
    assert (await w.client.post("/v1/invitations/accept", json=body)).status == 410
    # a new invitation makes a new link
    staff_id = (await r.json())["staff_id"]
    r = await w.client.post(f"/v1/staff/{staff_id}/invitation", headers=await w.headers("school_admin"))
    assert r.status == 202
    body["token"] = token_of((await w.events("identity.staff_invited"))[-1]["accept_url"])
    assert (await w.client.post("/v1/invitations/accept", json=body)).status == 200
