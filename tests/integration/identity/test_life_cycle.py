"""A school year's life cycle in identity: a roster file first previewed, then confirmed with the
students who left; the parents the roster knows; a member of staff deactivated (refused at login)
and active again; a new school year that moves classes up, lets the last leerjaar leave and keeps
who stays behind; and the erasure of a student who left, when the dossier service says so."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.identity.context import today
from shared.app import CONSUMER, DB
from shared.events.dossier_events import StudentErased
from shared.events.envelope import Envelope
from tests.integration.identity.conftest import CSV_HEADER, LOGINS, VO_SCHOOL_ID, World

PARENT_HEADER = CSV_HEADER.rstrip("\n") + ";Ouder 1 naam;Ouder 1 e-mail;Ouder 1 relatie;Ouder 2 e-mail\n"
MENTOR_4A = "k.jansen@voorbeeldcollege.example"
DEMO_4A = ["100234;Roos;Roos Maria;de;Winter;14-03-2010;4a;4;roos.dewinter@leerling.example;123456708;\n",
           "100235;Mirjam;Mirjam;;Hoenderloo;02-07-2010;4a;4;mirjam.hoenderloo@leerling.example;123456721;\n"]


async def fetch(w: World, sql: str, *args) -> list:
    async with w.app[DB].acquire() as conn:
        return await conn.fetch(sql, *args)


async def upload(w: World, data: bytes, query: str = "?preview=true") -> tuple[int, dict]:
    r = await w.client.post("/v1/roster/imports" + query, data=data,
                            headers={**await w.headers("school_admin"), "Content-Type": "text/csv"})
    return r.status, await r.json()


async def confirm(w: World, import_id: str, leavers: list[str], who: str = "school_admin") -> tuple[int, dict]:
    r = await w.client.post(f"/v1/roster/imports/{import_id}/confirm", json={"leavers": leavers},
                            headers=await w.headers(who))
    return r.status, await r.json()


async def test_a_preview_changes_nothing_and_the_confirmation_marks_the_chosen_leavers(w: World):
    students, events = await w.fetchval("SELECT count(*) FROM students"), await w.fetchval("SELECT count(*) FROM outbox")
    csv = (CSV_HEADER + "".join(DEMO_4A)
           + "100236;Sem;Sem Ali;;Yilmaz;23-11-2009;4a;4;sem@leerling.example;;\n"  # changed: an address now
           + "500001;Nieuw;;;Leerling;01-01-2010;4z;4;;;nieuwe.mentor@voorbeeldcollege.example\n").encode()
    status, job = await upload(w, csv)
    assert status == 201, job
    assert (job["state"], job["state_label"], job["rows_total"]) == ("preview", "Wacht op bevestiging", 4)
    preview = job["preview"]
    assert (preview["created"], preview["updated"], preview["unchanged"], preview["returning"]) == (1, 1, 2, 0)
    assert preview["classes_created"] == ["4z"] and preview["new_mentors"] == ["nieuwe.mentor@voorbeeldcollege.example"]
    assert preview["parents"] is False
    # the 4b students are not in this file: they are the ones the school admin may mark as left
    missing = {s["student_number"]: s for s in preview["not_in_file"]}
    assert set(missing) == {"100237", "100238", "100239"}
    assert missing["100237"]["name"] == "Jaap Rierink" and missing["100237"]["class_name"] == "4b"
    # nothing changed yet: no student, no class, no mentor, no event
    assert (await w.fetchval("SELECT count(*) FROM students"), await w.fetchval("SELECT count(*) FROM outbox")) == \
        (students, events)
    assert await w.fetchval("SELECT count(*) FROM classes WHERE name = '4z'") == 0
    # the file waits sealed (it may hold BSNs), not in clear
    sealed = await w.fetchval("SELECT file_sealed FROM roster_imports WHERE id = $1", uuid.UUID(job["import_id"]))
    assert b"Yilmaz" not in sealed and b"123456708" not in sealed
    # the preview is the school admin's of that school only
    r = await w.client.get(f"/v1/roster/imports/{job['import_id']}", headers=await w.headers("counsellor"))
    assert r.status == 403

    # only students the file does not list can be marked as left
    roos = await w.student_id("100234")
    status, problem = await confirm(w, job["import_id"], [str(roos)])
    assert status == 422 and problem["errors"][0]["field"] == "leavers"

    jaap, noor = missing["100237"]["student_id"], missing["100238"]["student_id"]
    status, job = await confirm(w, job["import_id"], [jaap, noor])
    assert status == 202 and job["state"] in ("queued", "running", "done") and job["left"] == 2
    job = await w.finished_import(job["import_id"])
    assert (job["state"], job["created"], job["updated"], job["unchanged"], job["left"], job["not_in_file"]) == \
        ("done", 1, 1, 2, 2, 1)
    assert job["preview"]["not_in_file"] is None  # the list of names goes once confirmed; the counts stay
    left = await w.fetchval("SELECT array_agg(student_number ORDER BY student_number) FROM students "
                            "WHERE NOT active AND left_on = $1", today())
    assert left == ["100237", "100238"]
    assert await w.fetchval("SELECT active FROM students WHERE student_number = '100239'")  # not chosen: stays
    assert await w.fetchval("SELECT file_sealed FROM roster_imports WHERE id = $1",
                            uuid.UUID(job["import_id"])) is None
    changed = {e["student_number"]: e for e in await w.events("identity.student_changed")}
    assert changed["100237"]["active"] is False and changed["100237"]["left_on"] == today().isoformat()
    # left students are out of the staff's lists
    r = await w.client.post("/v1/students/search", json={"q": "Rierink"}, headers=await w.headers("counsellor"))
    assert (await r.json())["total"] == 0

    status, problem = await confirm(w, job["import_id"], [])
    assert status == 409 and problem["code"] == "already-confirmed"

    # a later file that lists a student who left makes them active again
    status, job = await w.import_csv((CSV_HEADER + "100237;Jaap;Jacobus;;Rierink;09-01-2010;4b;4;;;\n").encode())
    assert status == 202 and job["state"] == "done" and job["updated"] == 1
    assert await w.fetchval("SELECT (active, left_on) FROM students WHERE student_number = '100237'") == (True, None)


async def test_a_dropped_preview_and_the_confirmation_of_a_student_with_a_code(w: World):
    status, job = await upload(w, (CSV_HEADER + "".join(DEMO_4A)).encode())
    assert status == 201
    r = await w.client.delete(f"/v1/roster/imports/{job['import_id']}", headers=await w.headers("school_admin"))
    assert r.status == 204
    assert (await confirm(w, job["import_id"], []))[0] == 404

    # a student with an activation code who leaves: the code stops working
    r = await w.client.post("/v1/activation-codes", json={"channel": "letter",
                                                                "student_id": str(await w.student_id("100239"))}, headers=await w.headers("counsellor"))
    assert r.status in (201, 202), await r.text()
    status, job = await upload(w, (CSV_HEADER + "".join(DEMO_4A)).encode())
    daan = next(s["student_id"] for s in job["preview"]["not_in_file"] if s["student_number"] == "100239")
    status, job = await confirm(w, job["import_id"], [daan])
    assert status == 202
    assert await w.fetchval("SELECT count(*) FROM activation_codes WHERE student_id = $1 AND invalidated_at IS NULL",
                            uuid.UUID(daan)) == 0


async def test_parents_come_with_the_roster_and_stay_when_a_file_has_no_parent_columns(w: World):
    csv = PARENT_HEADER + (
        "600001;Lisa;;;Vos;01-01-2010;4p;4;lisa@leerling.example;;;Anna Vos;anna.vos@example.nl;moeder;"
        "piet.vos@example.nl\n"
        "600002;Tim;;;Mol;01-01-2010;4p;4;;;;;;;\n"
        "600003;Bad;;;Row;01-01-2010;4p;4;;;;Alleen Naam;;vader;\n")
    status, problem = await w.import_csv(csv.encode())
    assert status == 422 and problem["errors"] == [
        {"line": 4, "field": "Ouder 1 e-mail",
         "message": "Vul het e-mailadres van de ouder in, of laat naam en relatie van deze ouder leeg."}]
    status, job = await w.import_csv(csv.replace("600003;Bad;;;Row;01-01-2010;4p;4;;;;Alleen Naam;;vader;\n", "")
                                     .encode())
    assert status == 202 and job["state"] == "done"
    parents = await w.fetchval("SELECT parents FROM students WHERE student_number = '600001'")
    assert parents == [{"name": "Anna Vos", "email": "anna.vos@example.nl", "relation": "moeder"},
                       {"name": None, "email": "piet.vos@example.nl", "relation": None}]
    assert await w.fetchval("SELECT parents FROM students WHERE student_number = '600002'") == []
    event = [e for e in await w.events("identity.student_changed") if e["student_number"] == "600001"][-1]
    assert event["parents"][0] == {"name": "Anna Vos", "email": "anna.vos@example.nl", "relation": "moeder"}
    # a file without the parent columns changes no parents (and so, here, nothing at all)
    status, job = await w.import_csv((CSV_HEADER + "600001;Lisa;;;Vos;01-01-2010;4p;4;lisa@leerling.example;;\n")
                                     .encode())
    assert job["unchanged"] == 1
    assert len(await w.fetchval("SELECT parents FROM students WHERE student_number = '600001'")) == 2
    # the preview says the file brings parents
    status, job = await upload(w, csv.encode().replace(b"Anna Vos", b"Anna de Vos")
                               .replace(b"600003;Bad;;;Row;01-01-2010;4p;4;;;;Alleen Naam;;vader;\n", b""))
    assert job["preview"]["parents"] is True and job["preview"]["updated"] == 1


async def test_a_deactivated_member_of_staff_is_told_at_login_and_can_come_back(w: World):
    email, password = LOGINS["mentor_4b"]
    staff_id = await w.fetchval("SELECT id FROM staff WHERE email = $1", email)
    r = await w.client.patch(f"/v1/staff/{staff_id}", json={"active": False}, headers=await w.headers("school_admin"))
    assert r.status == 200 and (await r.json())["status"] == "inactief"
    r = await w.client.post("/v1/sessions", json={"email": email, "password": password})
    problem = await r.json()
    assert r.status == 401 and problem["code"] == "account-inactive" and "niet meer actief" in problem["detail"]
    # a wrong password says nothing about the account
    r = await w.client.post("/v1/sessions", json={"email": email, "password": "niet het wachtwoord"})
    assert r.status == 401 and (await r.json())["code"] == "login-failed"
    r = await w.client.patch(f"/v1/staff/{staff_id}", json={"active": True}, headers=await w.headers("school_admin"))
    assert r.status == 200 and (await r.json())["status"] == "actief"
    assert (await w.login(email, password))["access_token"]


async def test_a_new_school_year_moves_classes_up_lets_the_last_year_leave_and_keeps_who_stays_behind(w: World):
    await w.execute("UPDATE schools SET roster_school_year = '2025-2026' WHERE id = $1", VO_SCHOOL_ID)
    status, job = await w.import_csv((CSV_HEADER
                                      + "700001;Ada;;;Drie;01-01-2011;3a;3;;;" + MENTOR_4A + "\n"
                                      + "700002;Bo;;;Drie;01-01-2011;3a;3;;;\n").encode())
    assert job["state"] == "done"
    admin = await w.headers("school_admin")
    body = {"stay_behind": ["100235", "700002", "999999"]}
    r = await w.client.post("/v1/school-year/preview", json=body, headers=admin)
    plan = await r.json()
    assert r.status == 200, plan
    assert (plan["from_school_year"], plan["to_school_year"], plan["final_leerjaar"], plan["allowed"]) == \
        ("2025-2026", "2026-2027", 4, True)
    steps = {c["name"]: c for c in plan["classes"]}
    assert (steps["3a"]["to_name"], steps["3a"]["to_leerjaar"], steps["3a"]["ends"]) == ("4a", 4, False)
    assert (steps["4a"]["to_name"], steps["4a"]["ends"], steps["4a"]["staying"]) == ("4a (2025-2026)", True, 1)
    assert plan["unknown_numbers"] == ["999999"]
    stay = {s["student_number"]: s for s in plan["stay_behind"]}
    # Mirjam (4a) stays in leerjaar 4: the class that is 4a now, the former 3a; Bo (3a) gets a new 3a
    assert (stay["100235"]["to_class_name"], stay["100235"]["to_class_id"]) == ("4a", steps["3a"]["class_id"])
    assert (stay["700002"]["to_class_name"], stay["700002"]["to_class_id"]) == ("3a", None)
    assert (plan["students_moving"], plan["students_leaving"]) == (1, 5)
    # a preview changes nothing; an unknown number stops the start
    assert await w.fetchval("SELECT name FROM classes WHERE id = $1", uuid.UUID(steps["3a"]["class_id"])) == "3a"
    r = await w.client.post("/v1/school-year", json={**body, "school_year": "2026-2027"}, headers=admin)
    assert r.status == 422 and "999999" in (await r.json())["errors"][0]["message"]

    before = len(await w.events("identity.student_changed"))
    r = await w.client.post("/v1/school-year", json={"stay_behind": ["100235", "700002"], "school_year": "2026-2027"},
                            headers=admin)
    done = await r.json()
    assert r.status == 201, done
    assert (done["students_moving"], done["students_leaving"]) == (1, 5)
    classes = {r["name"]: r for r in await fetch(w, 
        "SELECT id, name, school_year, ended_school_year FROM classes WHERE school_id = $1", VO_SCHOOL_ID)}
    assert classes["4a"]["id"] == uuid.UUID(steps["3a"]["class_id"]) and classes["4a"]["school_year"] == 4
    assert classes["4a (2025-2026)"]["ended_school_year"] == "2025-2026"
    assert classes["3a"]["school_year"] == 3 and classes["3a"]["id"] != classes["4a"]["id"]
    students = {r["student_number"]: r for r in await fetch(w, 
        """SELECT s.student_number, s.active, s.left_on, s.school_year, c.name FROM students s
           JOIN classes c ON c.id = s.class_id WHERE s.school_id = $1""", VO_SCHOOL_ID)}
    assert (students["700001"]["name"], students["700001"]["school_year"], students["700001"]["active"]) == \
        ("4a", 4, True)
    assert (students["100235"]["name"], students["100235"]["school_year"], students["100235"]["active"]) == \
        ("4a", 4, True)
    assert (students["700002"]["name"], students["700002"]["school_year"]) == ("3a", 3)
    assert students["100234"]["active"] is False and students["100234"]["left_on"] == today()
    assert not students["100237"]["active"]
    # the moved class keeps its mentor; an ended class has none; the school is in the new year
    mentors = await w.fetchval("SELECT count(*) FROM class_mentors WHERE class_id = $1", classes["4a"]["id"])
    assert mentors == 1
    assert await w.fetchval("SELECT count(*) FROM class_mentors WHERE class_id = $1",
                            classes["4a (2025-2026)"]["id"]) == 0
    r = await w.client.get(f"/v1/schools/{VO_SCHOOL_ID}", headers=admin)
    assert (await r.json())["school_year"] == "2026-2027"
    events = (await w.events("identity.student_changed"))[before:]
    assert {e["student_number"] for e in events} == {"700001", "700002", "100235", "100234", "100236", "100237",
                                                     "100238", "100239"}
    class_events = {e["class_name"]: e for e in await w.events("identity.class_mentors_changed")}
    assert class_events["4a"]["school_year"] == 4 and class_events["4a (2025-2026)"]["mentors"] == []
    r = await w.client.get("/v1/classes", headers=admin)
    assert "4a (2025-2026)" not in [c["name"] for c in (await r.json())["classes"]]
    # once is enough: the next year cannot start yet
    r = await w.client.post("/v1/school-year", json={"school_year": "2026-2027"}, headers=admin)
    assert r.status == 409 and (await r.json())["code"] == "school-year-mismatch"
    r = await w.client.post("/v1/school-year", json={"school_year": "2027-2028"}, headers=admin)
    assert r.status == 409 and (await r.json())["code"] == "school-year-too-early"
    # the school admin's only
    r = await w.client.post("/v1/school-year/preview", json={}, headers=await w.headers("counsellor"))
    assert r.status == 403


async def test_a_student_who_left_is_erased_with_the_account_when_the_dossier_service_says_so(w: World):
    email, password = LOGINS["student"]
    tokens = await w.login(email, password)
    roos = await w.student_id("100234")
    account = await w.fetchval("SELECT account_id FROM students WHERE id = $1", roos)
    data = StudentErased(student_id=roos, school_id=VO_SCHOOL_ID, account_id=account, erased_at=datetime.now(UTC))
    env = Envelope(source="/doorstroom/dossier", type="dossier.student_erased", data=data.model_dump(mode="json"))
    # still on the roster (active): nothing is erased
    assert await w.app[CONSUMER].process(env)
    assert await w.fetchval("SELECT count(*) FROM students WHERE id = $1", roos) == 1
    await w.execute("UPDATE students SET active = false, left_on = '2024-07-01' WHERE id = $1", roos)
    env = Envelope(source="/doorstroom/dossier", type="dossier.student_erased", data=data.model_dump(mode="json"))
    assert await w.app[CONSUMER].process(env)
    assert await w.fetchval("SELECT count(*) FROM students WHERE id = $1", roos) == 0
    assert await w.fetchval("SELECT count(*) FROM accounts WHERE id = $1", account) == 0
    assert await w.fetchval("SELECT count(*) FROM sessions WHERE account_id = $1", account) == 0
    assert await w.fetchval("SELECT count(*) FROM activation_codes WHERE student_id = $1", roos) == 0
    ended = [e for e in await w.events("identity.access_ended") if e["account_id"] == str(account)]
    assert ended and ended[-1]["reason"] == "deactivated"
    r = await w.client.post("/v1/sessions/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status == 401
    r = await w.client.post("/v1/sessions", json={"email": email, "password": password})
    assert r.status == 401 and (await r.json())["code"] == "login-failed"
    # the same event again is a duplicate (the inbox): nothing happens
    assert not await w.app[CONSUMER].process(env)


async def test_a_preview_never_confirmed_is_gone_after_a_day(w: World):
    from services.identity.housekeeping import sweep

    status, job = await upload(w, (CSV_HEADER + "".join(DEMO_4A)).encode())
    assert status == 201
    await w.execute("UPDATE roster_imports SET created_at = now() - interval '25 hours' WHERE id = $1",
                    uuid.UUID(job["import_id"]))
    status, problem = await confirm(w, job["import_id"], [])
    assert status == 410 and problem["code"] == "preview-expired"
    async with w.app[DB].acquire() as conn:
        assert (await sweep(conn, w.settings))["roster_previews"] == 1
    assert (await confirm(w, job["import_id"], []))[0] == 404
