"""Activation codes: issuing by mail or letter, skipped students, double clicks, re-issuing,
status per student, redeeming (wrong code, BSN mismatch, expiry, throttling)."""
from __future__ import annotations

import asyncio
import hashlib
import re

from services.identity.domain.activation_codes import hash_code, normalize_code
from tests.integration.identity.conftest import world

PASSWORD = "een goed wachtwoord"


async def issue(w, who: str, headers: dict | None = None, **body):
    r = await w.client.post("/v1/activation-codes", json=body, headers={**await w.headers(who), **(headers or {})})
    return r.status, await r.json()


async def student_account(w, bsn: str, email: str) -> dict:
    """A registered, verified, logged-in student (not linked yet): the Authorization header."""
    r = await w.client.post("/v1/registrations", json={"bsn": bsn, "email": email})
    assert r.status == 202
    token = re.search(r"token=([\w-]+)", (await w.events("identity.verification_requested"))[-1]["verify_url"])[1]
    assert (await w.client.post("/v1/registrations/confirm", json={"token": token, "password": PASSWORD})).status == 200
    return {"Authorization": f"Bearer {(await w.login(email, PASSWORD))['access_token']}"}


async def redeem(w, auth: dict, code: str):
    r = await w.client.post("/v1/activation-codes/redeem", json={"code": code}, headers=auth)
    return r.status, await r.json()


def codes_by_student(events: list[dict]) -> dict[str, str]:
    return {e["student_name"]: e["code"] for e in events if e["code"]}


async def test_codes_by_mail_to_a_school_year_skip_who_cannot_get_one(w):
    status, batch = await issue(w, "counsellor", channel="email", school_year=4)
    assert status == 201, batch
    assert [s["name"] for s in batch["issued"]] == ["Mirjam Hoenderloo", "Noor van Dijk", "Jaap Rierink"]
    skipped = {s["name"]: s["reason"] for s in batch["skipped"]}
    assert skipped.keys() == {"Roos de Winter", "Sem Yilmaz", "Daan Smit"}
    assert "geen e-mailadres" in skipped["Sem Yilmaz"] and "per brief" in skipped["Daan Smit"]
    assert "ingewisseld" in skipped["Roos de Winter"]
    events = await w.events("identity.activation_code_issued")
    assert len(events) == 3 and {e["channel"] for e in events} == {"email"}
    assert all(re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{2}", e["code"]) for e in events)
    assert {e["batch_id"] for e in events} == {batch["batch_id"]}
    assert await w.fetchval("SELECT count(*) FROM activation_codes WHERE code_hash = ANY($1::text[])",
                            [e["code"] for e in events]) == 0, "codes are stored hashed"
    # ... with a key: a plain hash of a code (about 50 bits) in a dump could be brute-forced
    plain = [hashlib.sha256(normalize_code(e["code"]).encode()).hexdigest() for e in events]
    assert await w.fetchval("SELECT count(*) FROM activation_codes WHERE code_hash = ANY($1::text[])", plain) == 0
    assert await w.fetchval("SELECT count(*) FROM activation_codes WHERE code_hash = ANY($1::text[])",
                            [hash_code(normalize_code(e["code"]), w.settings.code_key_bytes()) for e in events]) == 3

    # the status each student's row shows
    r = await w.client.get("/v1/students?school_year=4", headers=await w.headers("counsellor"))
    status_of = {s["name"]: s["activation"] for s in (await r.json())["students"]}
    assert status_of["Mirjam Hoenderloo"]["status"] == "issued" and status_of["Mirjam Hoenderloo"]["channel"] == "email"
    assert status_of["Mirjam Hoenderloo"]["label"] == "verstrekt" and status_of["Mirjam Hoenderloo"]["issued_at"]
    assert status_of["Sem Yilmaz"]["status"] == "none" and status_of["Roos de Winter"]["status"] == "redeemed"

    # a second bulk mail skips those who have a valid code; the skipped ones get a letter
    status, again = await issue(w, "counsellor", channel="email", school_year=4)
    assert again["issued"] == [] and len(again["skipped"]) == 6
    status, letters = await issue(w, "counsellor", channel="letter", school_year=4)
    assert [s["name"] for s in letters["issued"]] == ["Sem Yilmaz", "Daan Smit"]
    [job] = await w.events("identity.activation_letters_requested")
    assert job["batch_id"] == letters["batch_id"] and job["school_name"] == "Het Voorbeeld College"
    assert [(x["class_name"], x["sort_name"]) for x in job["letters"]] == [("4a", "Yilmaz, Sem"), ("4b", "Smit, Daan")]
    assert job["requested_by_email"] == "decaan@voorbeeldcollege.example"
    letter_events = [e for e in await w.events("identity.activation_code_issued") if e["channel"] == "letter"]
    assert len(letter_events) == 2 and all(e["code"] is None and e["email"] is None for e in letter_events)


async def test_a_double_click_makes_one_batch(w):
    class_id = str(await w.class_id("4b"))
    results = await asyncio.gather(
        issue(w, "mentor_4b", headers={"Idempotency-Key": "klik-1"}, channel="email", class_id=class_id),
        issue(w, "mentor_4b", headers={"Idempotency-Key": "klik-1"}, channel="email", class_id=class_id))
    (s1, b1), (s2, b2) = results
    assert s1 == s2 == 201 and b1 == b2
    assert await w.fetchval("SELECT count(*) FROM activation_batches WHERE idempotency_key = 'klik-1'") == 1
    assert len(await w.events("identity.activation_code_issued")) == 2  # Jaap and Noor, once
    # the key may also come in the body; the same key with another request is refused
    s3, b3 = await issue(w, "mentor_4b", channel="email", class_id=class_id, idempotency_key="klik-1")
    assert b3 == b1
    s4, problem = await issue(w, "mentor_4b", channel="letter", class_id=class_id, idempotency_key="klik-1")
    assert s4 == 422 and problem["code"] == "idempotency-key-reused"


async def test_the_whole_redeem_story(w):
    mirjam = str(await w.student_id("100235"))
    status, batch = await issue(w, "mentor_4a", channel="email", student_id=mirjam)
    [first] = await w.events("identity.activation_code_issued")
    # re-issuing to one student replaces the earlier code
    status, batch = await issue(w, "mentor_4a", channel="letter", student_id=mirjam)
    assert status == 201 and [s["name"] for s in batch["issued"]] == ["Mirjam Hoenderloo"]
    [job] = await w.events("identity.activation_letters_requested")
    code = job["letters"][0]["code"]

    # a student whose BSN does not match the roster gets the same answer as for a wrong code
    stranger = await student_account(w, "123456782", "vreemde@example.nl")
    wrong = await redeem(w, stranger, "ABCD-EFGH-JK")
    assert wrong[0] == 422 and wrong[1]["code"] == "wrong-code"
    assert await redeem(w, stranger, code) == wrong
    # Mirjam herself: the replaced code is wrong, the new one links her account
    auth = await student_account(w, "123456721", "mirjam@example.nl")
    assert await redeem(w, auth, first["code"]) == wrong
    status, done = await redeem(w, auth, code.lower().replace("-", " "))
    assert status == 200, done
    assert done["student"]["name"] == "Mirjam Hoenderloo"
    me = await (await w.client.get("/v1/me", headers={"Authorization": f"Bearer {done['access_token']}"})).json()
    assert me["student"]["student_id"] == mirjam and me["name"] == "Mirjam Hoenderloo"
    # once used it is used (for someone else), and again for her it is fine (a second click)
    assert (await redeem(w, auth, code))[0] == 200
    assert await redeem(w, stranger, code) == wrong
    # a malformed code says so (and does not count as a guess)
    status, problem = await redeem(w, stranger, "0000-1111-OO")
    assert status == 422 and problem["errors"][0]["message"] == "Deze activatiecode heeft niet de juiste vorm."


async def test_a_code_stored_before_the_keyed_hash_still_redeems(w):
    """Codes issued before the keyed hash (plain SHA-256 in the database) work until they expire."""
    mirjam = str(await w.student_id("100235"))
    await issue(w, "mentor_4a", channel="letter", student_id=mirjam)
    [job] = await w.events("identity.activation_letters_requested")
    code = job["letters"][0]["code"]
    await w.execute("UPDATE activation_codes SET code_hash = $1 WHERE student_id = $2 AND invalidated_at IS NULL",
                    hashlib.sha256(normalize_code(code).encode()).hexdigest(), await w.student_id("100235"))
    status, done = await redeem(w, await student_account(w, "123456721", "mirjam@example.nl"), code)
    assert status == 200 and done["student"]["name"] == "Mirjam Hoenderloo"


async def test_an_expired_code_says_so_and_can_be_reissued(w):
    noor = str(await w.student_id("100238"))
    await issue(w, "counsellor", channel="email", student_id=noor)
    [event] = await w.events("identity.activation_code_issued")
    await w.execute("UPDATE activation_codes SET expires_on = current_date - 1")
    r = await w.client.get(f"/v1/students/{noor}", headers=await w.headers("counsellor"))
    assert (await r.json())["activation"]["status"] == "expired"
    auth = await student_account(w, "123456733", "noor@example.nl")
    status, problem = await redeem(w, auth, event["code"])
    assert status == 422 and "verlopen" in problem["detail"]
    r = await w.client.get("/v1/students?activation=expired", headers=await w.headers("counsellor"))
    assert [s["name"] for s in (await r.json())["students"]] == ["Noor van Dijk"]
    status, batch = await issue(w, "counsellor", channel="email", class_id=str(await w.class_id("4b")))
    assert "Noor van Dijk" in [s["name"] for s in batch["issued"]], "expired codes are re-issued in bulk"
    fresh = [e for e in await w.events("identity.activation_code_issued") if e["student_name"] == "Noor van Dijk"][-1]
    assert (await redeem(w, auth, fresh["code"]))[0] == 200


async def test_wrong_codes_are_throttled(unique):
    async with world(f"act_thr_{unique}", redeem_soft_limit=10, redeem_hard_limit=3) as w:
        noor = str(await w.student_id("100238"))
        await issue(w, "counsellor", channel="email", student_id=noor)
        [event] = await w.events("identity.activation_code_issued")
        auth = await student_account(w, "123456733", "noor@example.nl")
        for guess in ("AAAA-AAAA-AA", "BBBB-BBBB-BB", "CCCC-CCCC-CC"):
            assert (await redeem(w, auth, guess))[0] == 422
        status, problem = await redeem(w, auth, event["code"])
        assert status == 422 and problem["code"] == "wrong-code", "blocked: even the right code looks wrong"
        await w.execute("UPDATE throttle SET blocked_until = now() - interval '1 second'")
        assert (await redeem(w, auth, event["code"]))[0] == 200


async def test_mentors_issue_only_to_their_own_classes(w):
    status, _ = await issue(w, "mentor_4b", channel="email", class_id=str(await w.class_id("4a")))
    assert status == 404
    status, _ = await issue(w, "mentor_4b", channel="email", student_id=str(await w.student_id("100235")))
    assert status == 404
    status, batch = await issue(w, "mentor_4b", channel="letter", school_year=4)
    assert {s["class_name"] for s in batch["issued"] + batch["skipped"]} == {"4b"}
    status, problem = await issue(w, "counsellor", channel="email", school_year=4, class_id=str(await w.class_id("4a")))
    assert status == 422


async def test_a_linked_account_cannot_take_a_second_student(w):
    for number in ("100235", "100237"):  # Mirjam (BSN on the roster), Jaap (none)
        await issue(w, "counsellor", channel="email", student_id=str(await w.student_id(number)))
    mirjam, jaap = await w.events("identity.activation_code_issued")
    roos = await w.headers("student")
    status, problem = await redeem(w, roos, mirjam["code"])
    assert status == 422 and problem["code"] == "wrong-code", "Roos's BSN is not Mirjam's: as a wrong code"
    status, problem = await redeem(w, roos, jaap["code"])
    assert status == 409 and problem["code"] == "already-linked"
    assert await w.fetchval("SELECT account_id FROM students WHERE student_number = '100237'") is None
