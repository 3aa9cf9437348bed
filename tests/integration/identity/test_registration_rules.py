"""Registration under issue 10: a BSN is a claim, the redeemed activation code is the binding (so
knowing a student's BSN blocks nobody), and registration mails are spaced per address and counted
per client address, always with the same answer."""
from __future__ import annotations

import asyncio

from tests.integration.identity.conftest import LOGINS, world
from tests.integration.identity.test_accounts import register
from tests.integration.identity.test_activation import issue, redeem, student_account

MIRJAM_BSN = "123456721"  # Mirjam Hoenderloo (student 100235) on the demo roster
OTHER_BSN = "123456782"   # on no roster
ROOS_EMAIL, _ = LOGINS["student"]
RELEASED = "niet meer aan dit account gekoppeld"  # what /v1/me tells the owner of a released claim


async def mirjams_code(w) -> str:
    await issue(w, "counsellor", channel="email", student_id=str(await w.student_id("100235")))
    [event] = await w.events("identity.activation_code_issued")
    return event["code"]


async def me(w, auth: dict) -> dict:
    r = await w.client.get("/v1/me", headers=auth)
    assert r.status == 200, await r.text()
    return await r.json()


async def test_someone_who_knows_a_bsn_blocks_nobody(w):
    code = await mirjams_code(w)
    # someone who knows Mirjam's BSN registers first, with their own address, and makes an account
    squatter = await student_account(w, MIRJAM_BSN, "kaper@example.nl")
    bystander = await student_account(w, OTHER_BSN, "ander@example.nl")
    # Mirjam registers after them: the same answer, and the mail comes to her
    first = await register(w, OTHER_BSN, "nog.iemand@example.nl")
    assert await register(w, MIRJAM_BSN, "mirjam@example.nl") == first
    assert (await w.events("identity.verification_requested"))[-1]["email"] == "mirjam@example.nl"
    assert await w.events("identity.account_exists_notice") == [], "nobody is told anything about the BSN"
    mirjam = await student_account(w, MIRJAM_BSN, "mirjam@example.nl")

    # the squatter has no code; Mirjam redeems hers and her account wins
    status, done = await redeem(w, mirjam, code)
    assert status == 200, done
    assert done["student"]["name"] == "Mirjam Hoenderloo" and done["released_claims"] == 1
    assert "niet meer aan jouw BSN gekoppeld" in done["detail"]
    assert await w.fetchval("SELECT a.email FROM students s JOIN accounts a ON a.id = s.account_id "
                            "WHERE s.student_number = '100235'") == "mirjam@example.nl"

    # the squatter's claim is released, and its owner is told at the next look; the code stays Mirjam's
    released = await w.fetchval("SELECT bsn_hmac IS NULL AND bsn_ciphertext IS NULL AND bsn_released_at IS NOT NULL "
                                "FROM accounts WHERE email = 'kaper@example.nl'")
    assert released
    [told] = await w.events("identity.bsn_claim_released")  # and a mail goes to the squatter's address
    assert told["email"] == "kaper@example.nl" and told["login_url"].endswith("/inloggen")
    assert RELEASED in (await me(w, squatter))["notice"]
    assert (await redeem(w, squatter, code))[1]["code"] == "wrong-code"
    # Mirjam and a claim on another BSN: nothing to tell
    assert (await me(w, {"Authorization": f"Bearer {done['access_token']}"}))["notice"] is None
    assert (await me(w, bystander))["notice"] is None
    assert await w.fetchval("SELECT bsn_hmac IS NOT NULL FROM accounts WHERE email = 'ander@example.nl'")
    assert MIRJAM_BSN not in await w.outbox_text()


async def test_one_account_per_roster_student_whoever_redeems_first(w):
    """Two accounts claim Mirjam's BSN (say, her own two addresses) and redeem her code at the same
    moment: exactly one is linked, the other gets a wrong code's answer and loses its claim."""
    code = await mirjams_code(w)
    accounts = [await student_account(w, MIRJAM_BSN, f"mirjam{i}@example.nl") for i in (1, 2)]
    answers = await asyncio.gather(*(redeem(w, auth, code) for auth in accounts))
    assert sorted(status for status, _ in answers) == [200, 422]
    [(_, won)] = [a for a in answers if a[0] == 200]
    [(_, lost)] = [a for a in answers if a[0] == 422]
    assert lost["code"] == "wrong-code" and won["released_claims"] == 1
    winner = accounts[answers.index((200, won))]
    loser = accounts[1 - answers.index((200, won))]
    assert RELEASED in (await me(w, loser))["notice"] and (await me(w, winner))["notice"] is None
    assert await w.fetchval("SELECT count(*) FROM students WHERE account_id IS NOT NULL "
                            "AND student_number = '100235'") == 1
    # a new code for her is not made (her account is linked), so the other account stays unlinked
    status, batch = await issue(w, "counsellor", channel="email", student_id=str(await w.student_id("100235")))
    assert batch["issued"] == [] and "ingewisseld" in batch["skipped"][0]["reason"]


async def test_registration_mails_are_spaced_per_address(unique):
    async with world(f"reg_guard_{unique}", mail_repeat_seconds=60) as w:
        answers = [await register(w, OTHER_BSN, "herhaal@example.nl") for _ in range(5)]
        answers += await asyncio.gather(*(register(w, OTHER_BSN, "herhaal@example.nl") for _ in range(5)))
        answers += [await register(w, MIRJAM_BSN, ROOS_EMAIL) for _ in range(5)]  # an address with an account
        assert all(a == answers[0] for a in answers) and answers[0][0] == 202, "always the same answer"
        assert [v["email"] for v in await w.events("identity.verification_requested")] == ["herhaal@example.nl"]
        assert [n["email"] for n in await w.events("identity.account_exists_notice")] == [ROOS_EMAIL]
        # another address is not held up; after the interval the same address gets a mail again
        assert await register(w, OTHER_BSN, "ander@example.nl") == answers[0]
        await w.execute("UPDATE mail_guard SET sent_at = now() - interval '61 seconds'")
        assert await register(w, OTHER_BSN, "herhaal@example.nl") == answers[0]
        assert [v["email"] for v in await w.events("identity.verification_requested")] == [
            "herhaal@example.nl", "ander@example.nl", "herhaal@example.nl"]


async def test_registrations_are_counted_per_client_address(unique):
    async with world(f"reg_ip_{unique}", register_ip_soft_limit=3, register_ip_hard_limit=3, trusted_proxies=1) as w:
        here = {"X-Forwarded-For": "203.0.113.7"}

        async def from_here(i: int):
            r = await w.client.post("/v1/registrations", json={"bsn": OTHER_BSN, "email": f"vloed{i}@example.nl"},
                                    headers=here)
            return r.status, await r.json()

        answers = await asyncio.gather(*(from_here(i) for i in range(10)))
        assert all(a == answers[0] for a in answers) and answers[0][0] == 202, "always the same answer"
        assert len(await w.events("identity.verification_requested")) == 3, "three from one client, then nothing"
        r = await w.client.post("/v1/registrations", json={"bsn": OTHER_BSN, "email": "elders@example.nl"},
                                headers={"X-Forwarded-For": "198.51.100.1"})
        assert (r.status, await r.json()) == answers[0]
        assert (await w.events("identity.verification_requested"))[-1]["email"] == "elders@example.nl"
        stored = await w.fetchval("SELECT string_agg(encode(key, 'escape'), '') FROM throttle")
        assert "203.0.113.7" not in stored, "addresses are kept as keyed hashes only"
