"""Wachtwoord wijzigen while logged in: the current password is needed, the new one follows the
same rules, other sessions end (this one stays), reset links stop working, a notice is mailed;
wrong current passwords are counted and then blocked."""
from __future__ import annotations

from tests.integration.identity.conftest import LOGINS, world

EMAIL, PASSWORD = LOGINS["counsellor"]
NEW = "een lange nieuwe zin als wachtwoord"


async def change(w, tokens: dict, current: str, new: str):
    r = await w.client.post("/v1/me/password", json={"current_password": current, "new_password": new},
                            headers={"Authorization": f"Bearer {tokens['access_token']}"})
    return r.status, await r.json()


async def test_a_changed_password_ends_the_other_sessions_and_sends_a_notice(w):
    here, elsewhere = await w.login(EMAIL, PASSWORD), await w.login(EMAIL, PASSWORD)
    assert (await w.client.post("/v1/password-resets", json={"email": EMAIL})).status == 202
    [reset] = await w.events("identity.password_reset_requested")

    status, problem = await change(w, here, "niet mijn wachtwoord", NEW)
    assert status == 422 and problem["errors"] == [{"field": "current_password",
                                                    "message": "Je huidige wachtwoord klopt niet."}]
    status, problem = await change(w, here, PASSWORD, PASSWORD)
    assert status == 422 and problem["errors"][0]["field"] == "new_password"
    status, problem = await change(w, here, PASSWORD, "kort")
    assert status == 422 and problem["errors"][0]["field"] == "new_password" and "12" in problem["errors"][0]["message"]
    assert await w.events("identity.password_changed") == [], "refused changes change nothing"

    status, body = await change(w, here, PASSWORD, NEW)
    assert status == 200 and "gewijzigd" in body["detail"]
    [notice] = await w.events("identity.password_changed")
    assert notice["email"] == EMAIL
    # this session goes on; the other one ended, and so did the reset link
    assert (await w.client.get("/v1/me", headers={"Authorization": f"Bearer {here['access_token']}"})).status == 200
    assert (await w.client.get("/v1/me", headers={"Authorization": f"Bearer {elsewhere['access_token']}"})).status == 401
    r = await w.client.post("/v1/sessions/refresh", json={"refresh_token": elsewhere["refresh_token"]})
    assert r.status == 401
    token = reset["reset_url"].split("token=", 1)[1]
    r = await w.client.post("/v1/password-resets/confirm", json={"token": token, "password": "nog een ander wachtwoord"})
    assert r.status == 410
    assert (await w.client.post("/v1/sessions", json={"email": EMAIL, "password": PASSWORD})).status == 401
    await w.login(EMAIL, NEW)


async def test_bad_bodies_and_no_login_change_nothing(w):
    r = await w.client.post("/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW})
    assert r.status == 401
    tokens = await w.login(EMAIL, PASSWORD)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    for body in ({"current_password": PASSWORD}, {"current_password": 12, "new_password": NEW},
                 {"current_password": PASSWORD, "new_password": NEW, "extra": 1}, []):
        r = await w.client.post("/v1/me/password", json=body, headers=auth)
        assert r.status in (400, 422) and r.content_type == "application/problem+json", body
    await w.login(EMAIL, PASSWORD)


async def test_wrong_current_passwords_are_blocked_like_logins(unique):
    async with world(f"pwc_{unique}", login_account_soft_limit=10, login_account_hard_limit=3) as w:
        tokens = await w.login(EMAIL, PASSWORD)
        for _ in range(3):
            status, _ = await change(w, tokens, "fout wachtwoord", NEW)
            assert status == 422
        status, problem = await change(w, tokens, PASSWORD, NEW)
        assert status == 429 and "Te vaak" in problem["detail"], "blocked, even with the right password"
