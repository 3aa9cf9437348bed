"""A student's right of access (GET /v1/me/data): everything identity holds about them, the BSN
only masked, no token, hash or code; staff are refused."""
from __future__ import annotations

import json
import re

from tests.integration.identity.conftest import LOGINS

ROOS_BSN = "123456708"
NEW_BSN = "123456757"


async def test_a_student_gets_everything_identity_holds_about_them(w):
    tokens = await w.login(*LOGINS["student"])  # a second session besides the one of w.headers
    headers = await w.headers("student")
    r = await w.client.get("/v1/me/data", headers=headers)
    assert r.status == 200 and r.content_type == "application/json"
    assert "attachment" in r.headers["Content-Disposition"]
    text = await r.text()
    data = json.loads(text)
    assert data["about"].startswith("Alle gegevens die de identiteitsdienst")

    account = data["account"]
    assert account["email"] == "roos.dewinter@leerling.example" and account["active"] is True
    assert account["created_at"] and account["email_verified_at"] and account["bsn"] == "*****6708"

    student = data["student"]
    assert student["student_number"] == "100234" and student["student_id"] == str(await w.student_id("100234"))
    assert (student["roepnaam"], student["voornamen"], student["tussenvoegsel"], student["achternaam"]) == \
        ("Roos", "Roos Maria", "de", "Winter")
    assert student["date_of_birth"] == "2010-03-14" and student["email"] == "roos.dewinter@leerling.example"
    assert student["class"]["name"] == "4a" and student["school"]["name"] == "Het Voorbeeld College"
    assert student["school_year"] == 4 and student["bsn"] == "*****6708"

    [code] = data["activation_codes"]
    assert code["status"] == "redeemed" and code["label"] == "ingewisseld" and code["channel"] == "email"
    assert code["redeemed_at"] and code["replaced_at"] is None

    assert len(data["sessions"]) == 2
    assert [s["current"] for s in data["sessions"]] == [False, True], "oldest first; the asking one is current"
    assert all(set(s) == {"created_at", "last_used_at", "expires_at", "ended_at", "current"} for s in data["sessions"])

    assert data["parent_consent"]["school_rule"] == "inspection" and data["parent_consent"]["records"] == []
    assert "dossier" in data["parent_consent"]["note"]
    assert {e["type"] for e in data["events"]} >= {"identity.student_changed", "identity.activation_code_redeemed"}

    # never the whole BSN, nor anything that opens a door
    assert ROOS_BSN not in text and not re.search(r"(?<![\w.:-])\d{9}(?![\w-])", text), "no 9 digits alone"
    assert tokens["refresh_token"] not in text and tokens["access_token"] not in text
    assert headers["Authorization"].split()[1] not in text
    for secret in ("password_hash", "token_hash", "code_hash", "refresh_token", "ciphertext", "hmac", "$argon2"):
        assert secret not in text, secret


async def test_a_student_without_a_linked_record_sees_account_links_and_counters(w):
    email = "nieuw.leerling@leerling.example"
    r = await w.client.post("/v1/registrations", json={"bsn": NEW_BSN, "email": email})
    assert r.status == 202
    [verification] = [e for e in await w.events("identity.verification_requested") if e["email"] == email]
    token = verification["verify_url"].split("token=", 1)[1]
    r = await w.client.post("/v1/registrations/confirm", json={"token": token, "password": "lente in de polder 2026"})
    assert r.status == 200, await r.text()
    auth = {"Authorization": f"Bearer {(await w.login(email, 'lente in de polder 2026'))['access_token']}"}
    r = await w.client.post("/v1/activation-codes/redeem", json={"code": "ABCD-EFGH-JK"}, headers=auth)
    assert r.status == 422

    r = await w.client.get("/v1/me/data", headers=auth)
    text = await r.text()
    data = json.loads(text)
    assert r.status == 200 and data["student"] is None and data["activation_codes"] == []
    assert data["account"]["bsn"] == "*****6757" and NEW_BSN not in text
    [link] = data["mail_links"]
    assert link["purpose"] == "e-mailadres bevestigen" and link["used_at"]
    assert data["security_counters"] == [
        {"what": "verkeerde activatiecodes", "failures": 1, "last_failure_at": data["security_counters"][0]
         ["last_failure_at"], "blocked_until": None}]
    assert data["parent_consent"]["school_rule"] is None
    assert token not in text


async def test_staff_are_refused(w):
    for who in ("mentor_4a", "counsellor", "school_admin", "mbo_staff", "admin"):
        r = await w.client.get("/v1/me/data", headers=await w.headers(who))
        problem = await r.json()
        assert r.status == 403 and r.content_type == "application/problem+json", who
        assert problem["code"] == "forbidden-role" and problem["detail"] == "Dit mag alleen een leerling."
    r = await w.client.get("/v1/me/data")
    assert r.status == 401
