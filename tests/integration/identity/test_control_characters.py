"""Control characters are refused where they enter identity (a roster name with a line break ended
up in a mail's Subject header; a NUL makes PostgreSQL refuse the statement, which was a 500): a
roster file lists every bad row, a body or a query answers 422 with the Dutch message for the
field, and nothing changes."""
from __future__ import annotations

import pytest

from services.identity.demo import demo_id
from shared.text import SINGLE_LINE_MESSAGE
from tests.integration.identity.conftest import CSV_HEADER, LOGINS, MBO_UTRECHT_ID, VO_SCHOOL_ID

TABLES = ("students", "classes", "staff", "accounts", "schools", "locations", "programmes", "email_tokens",
          "throttle", "activation_batches", "outbox")
KARIN = demo_id("staff:k.jansen@voorbeeldcollege.example")


async def counts(w) -> dict[str, int]:
    return {t: await w.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


def refused(status: int, problem: dict, field: str) -> bool:
    """A 422 whose errors give the control-character message for ``field``."""
    return status == 422 and {"field": field, "message": SINGLE_LINE_MESSAGE} in problem.get("errors", [])


async def test_a_roster_file_with_control_characters_is_refused_with_every_bad_row(w):
    before = await counts(w)
    csv = (CSV_HEADER
           + '500001;"Jan\nBcc: iedereen@example.nl";;;Bakker;01-01-2010;4c;4;;;\n'  # lines 2 and 3
           + "500002;Kim;;;Kla\tas;01-01-2010;4c;4;;;\n"
           + "500003;Eva;;;Evers;01-01-2010;4\x00c;4;;;\n"
           + "500004;Ok;;;Goed;01-01-2010;4c;4;ok\x00@example.nl;;\n"
           + "500005;Bas;;;Beter;01-01-2010;4c;4;;;\n")
    status, problem = await w.import_csv(csv.encode())
    assert status == 422 and problem["code"] == "roster-invalid" and "niets veranderd" in problem["detail"]
    assert problem["errors"] == [
        {"line": 2, "field": "Roepnaam", "message": SINGLE_LINE_MESSAGE},
        {"line": 4, "field": "Achternaam", "message": SINGLE_LINE_MESSAGE},
        {"line": 5, "field": "Klas", "message": SINGLE_LINE_MESSAGE},
        {"line": 6, "field": "E-mail", "message": SINGLE_LINE_MESSAGE}]
    assert await counts(w) == before


async def test_a_staff_name_with_a_line_break_is_refused_and_changes_nothing(w):
    school_admin, admin = await w.headers("school_admin"), await w.headers("admin")
    before = await counts(w)
    r = await w.client.post("/v1/staff", json={"role": "mentor", "name": "Anna\nBcc: iedereen@example.nl",
                                               "email": "anna@voorbeeldcollege.example"}, headers=school_admin)
    assert refused(r.status, await r.json(), "name")
    r = await w.client.post("/v1/staff", json={"role": "mentor", "name": "Anna de Boer",
                                               "email": "anna\x00@voorbeeldcollege.example"}, headers=school_admin)
    assert refused(r.status, await r.json(), "email")
    r = await w.client.patch(f"/v1/staff/{KARIN}", json={"name": "Karin\nJansen"}, headers=school_admin)
    assert refused(r.status, await r.json(), "name")
    r = await w.client.patch(f"/v1/staff/{KARIN}", json={"name": "Karin\x00"}, headers=admin)
    assert refused(r.status, await r.json(), "name")
    assert await w.fetchval("SELECT name FROM staff WHERE id = $1", KARIN) == "Karin Jansen"
    assert await counts(w) == before


@pytest.mark.parametrize("method, path, body, field", [
    ("POST", "/v1/schools", {"kind": "vo", "name": "Het\nCollege", "city": "Utrecht"}, "name"),
    ("POST", "/v1/schools", {"kind": "vo", "name": "Het College", "city": "Utrecht\x00"}, "city"),
    ("PATCH", f"/v1/schools/{MBO_UTRECHT_ID}", {"name": "MBO\nUtrecht"}, "name"),
    ("PATCH", f"/v1/schools/{MBO_UTRECHT_ID}", {"city": "Utrecht\x00"}, "city"),
    ("POST", f"/v1/schools/{MBO_UTRECHT_ID}/locations", {"name": "Daalsedijk", "address": "Daalsedijk\r\n1"},
     "address"),
    ("POST", f"/v1/schools/{MBO_UTRECHT_ID}/programmes",
     {"name": "Kok\tzelfstandig", "crebo": "25180", "level": 3, "pathway": "BOL"}, "name"),
])
async def test_a_school_location_or_programme_name_with_a_control_character_is_refused(w, method, path, body, field):
    admin = await w.headers("admin")
    before = await counts(w)
    r = await w.client.request(method, path, json=body, headers=admin)
    assert refused(r.status, await r.json(), field)
    assert await counts(w) == before
    assert await w.fetchval("SELECT (name, city) FROM schools WHERE id = $1", MBO_UTRECHT_ID) == ("MBO Utrecht",
                                                                                                "Utrecht")


async def test_a_nul_in_the_login_answers_422_not_500_and_counts_no_failure(w):
    email, password = LOGINS["counsellor"]
    before = await counts(w)
    for body, field in [({"email": email + "\x00", "password": password}, "email"),
                        ({"email": "\x00", "password": "x"}, "email"),
                        ({"email": email, "password": password + "\x00"}, "password"),
                        ({"email": email, "password": "\x00"}, "password")]:
        r = await w.client.post("/v1/sessions", json=body)
        assert refused(r.status, await r.json(), field), body
    r = await w.client.post("/v1/sessions/refresh", json={"refresh_token": "abc\x00"})
    assert refused(r.status, await r.json(), "refresh_token")
    assert await counts(w) == before
    assert (await w.client.post("/v1/sessions", json={"email": email, "password": password})).status == 201


@pytest.mark.parametrize("body, field", [
    ({"bsn": "111222333", "email": "nieuw\x00@example.nl"}, "email"),
    ({"bsn": "111222333", "email": "nieuw@example.nl\n"}, "email"),
    ({"bsn": "111222333\x00", "email": "nieuw@example.nl"}, "bsn"),
    ({"bsn": "111\t222\t333", "email": "nieuw@example.nl"}, "bsn"),
])
async def test_a_registration_with_a_control_character_answers_422_and_sends_nothing(w, body, field):
    before = await counts(w)
    r = await w.client.post("/v1/registrations", json=body)
    assert refused(r.status, await r.json(), field)
    assert await counts(w) == before


@pytest.mark.parametrize("who, path, body, field", [
    (None, "/v1/registrations/confirm", {"token": "abc\x00", "password": "een lang genoeg wachtwoord"}, "token"),
    (None, "/v1/password-resets/confirm", {"token": "abc", "password": "een lang\x00genoeg wachtwoord"}, "password"),
    (None, "/v1/invitations/accept", {"token": "abc", "password": "een lang\ngenoeg wachtwoord"}, "password"),
    (None, "/v1/password-resets", {"email": "decaan\x00@voorbeeldcollege.example"}, "email"),
    ("counsellor", "/v1/me/password", {"current_password": "Demo-decaan-2026\x00", "new_password": "iets heel anders"},
     "current_password"),
    ("counsellor", "/v1/activation-codes", {"channel": "email", "school_year": 4, "idempotency_key": "k\x00"},
     "idempotency_key"),
    ("student", "/v1/activation-codes/redeem", {"code": "7KQM-X2RD-HP\x00"}, "code"),
    ("counsellor", "/v1/students/search", {"q": "Roos\x00"}, "q"),
    ("school_admin", "/v1/staff/search", {"q": "Karin\x00"}, "q"),
])
async def test_every_other_body_refuses_control_characters(w, who, path, body, field):
    headers = await w.headers(who) if who else {}
    before = await counts(w)
    r = await w.client.post(path, json=body, headers=headers)
    assert refused(r.status, await r.json(), field)
    assert await counts(w) == before


async def test_string_query_parameters_refuse_control_characters(w):
    admin, counsellor = await w.headers("admin"), await w.headers("counsellor")
    r = await w.client.get("/v1/schools", params={"q": "Utrecht\x00"}, headers=admin)
    assert refused(r.status, await r.json(), "q")
    r = await w.client.get("/v1/institutions", params={"q": "Juridisch\nsecretaresse"})
    assert refused(r.status, await r.json(), "q")
    r = await w.client.get("/v1/students", params={"activation": "issued\x00"}, headers=counsellor)
    assert refused(r.status, await r.json(), "activation")
    r = await w.client.post("/v1/activation-codes", json={"channel": "email", "school_year": 4},
                            headers={**counsellor, "Idempotency-Key": "k\tk"})
    assert refused(r.status, await r.json(), "Idempotency-Key")
    assert (await w.client.get("/v1/schools", params={"q": "Utrecht"}, headers=admin)).status == 200
    assert (await w.client.get("/v1/schools/" + str(VO_SCHOOL_ID), headers=admin)).status == 200
