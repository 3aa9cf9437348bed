"""Privacy and the edges: every view and change recorded, the student's JSON export, the read model
built from identity's events (idempotent, out of order), the form API."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from shared.events.identity_events import ActivationCodeRedeemed, ClassMentorsChanged, Mentor, StudentChanged
from tests.integration.dossier.world import GUIDANCE, World


async def test_every_view_and_change_is_recorded_with_who_and_why(world: World):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    d = await world.to_part_b(s, mbo)
    mentor = s.klass.mentors[0]
    await world.get(d["id"], world.as_mentor(mentor))
    await world.client.get(f"/v1/dossiers/{d['id']}?purpose=pdf", headers=world.as_student(s))
    await world.client.get(f"/v1/dossiers/{d['id']}", headers={**world.as_counsellor(school), "X-Purpose": "print"})
    r = await world.client.get(f"/v1/dossiers/{d['id']}?purpose=Weet ik veel", headers=world.as_counsellor(school))
    assert r.status == 422
    _, audit = await world.call("GET", f"/v1/dossiers/{d['id']}/audit", world.as_counsellor(school), expect=200)
    views = [(e["by_role"], e["what"], e["purpose"]) for e in audit["entries"] if e["kind"] == "view"]
    assert ("mentor", "dossier:part_a,part_b", "view") in views
    assert ("student", "dossier:part_a", "pdf") in views, "a student reads part A only before part B was sent"
    assert ("counsellor", "dossier:part_a,part_b", "print") in views
    mentor_view = next(e for e in audit["entries"] if e["by_role"] == "mentor")
    assert mentor_view["by"] == str(mentor.staff_id) and mentor_view["at"]
    changes = [e["what"] for e in audit["entries"] if e["kind"] == "change"]
    assert changes[0] == "created" and "part_a_saved" in changes and changes[-1] == "part_a_submitted"
    assert all(e["by_role"] == "student" for e in audit["entries"] if e["kind"] == "change")
    # an unsuccessful read is not a view
    before = len(audit["entries"])
    await world.client.get(f"/v1/dossiers/{d['id']}", headers=world.as_counsellor(await world.school()))
    _, audit = await world.call("GET", f"/v1/dossiers/{d['id']}/audit", world.as_counsellor(school), expect=200)
    assert len(audit["entries"]) == before + 1  # only the counsellor's own previous look at the audit


async def test_the_view_log_names_who_and_says_what_and_why_in_dutch(world: World):
    """What the counsellor's page shows: names from the roster as it is now, Dutch words for what
    was done and why (the raw codes stay beside them)."""
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school, roepnaam="Lotte", achternaam="Bos")
    d = await world.to_part_b(s, mbo)
    mentor = s.klass.mentors[0]
    await world.get(d["id"], world.as_mentor(mentor))
    await world.client.get(f"/v1/dossiers/{d['id']}?purpose=pdf", headers=world.as_counsellor(school))
    _, audit = await world.call("GET", f"/v1/dossiers/{d['id']}/audit", world.as_counsellor(school), expect=200)
    entries = audit["entries"]
    assert (entries[0]["by_name"], entries[0]["label"], entries[0]["kind"]) == ("Lotte de Bos", "Dossier aangemaakt",
                                                                              "change")
    mentor_view = next(e for e in entries if e["by_role"] == "mentor")
    assert mentor_view["by_name"] == mentor.name and mentor_view["label"] == "Dossier bekeken (deel A en deel B)"
    assert mentor_view["purpose"] == "view" and mentor_view["purpose_label"] == "bekijken"
    pdf = next(e for e in entries if e["purpose"] == "pdf")
    assert pdf["by_name"] == school.counsellor.name and pdf["purpose_label"] == "pdf maken (afdrukken of opslaan)"
    assert any(e["label"] == "Deel A verstuurd naar de mentor" for e in entries)


async def test_a_student_downloads_everything_held_about_them(world: World):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    d = await world.to_part_b(s, mbo)
    await world.save_b(d["id"], "guidance", GUIDANCE | {"lwoo": True}, world.as_mentor(s.klass.mentors[0]))
    other = await world.student(school, roepnaam="Ander")
    await world.create(other, mbo)
    r = await world.client.get("/v1/me/data", headers=world.as_student(s))
    assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
    data = await r.json()
    assert data["student"]["student_id"] == str(s.student_id) and data["student"]["email"] == s.email
    [dossier] = data["dossiers"]
    assert dossier["id"] == d["id"] and dossier["state"] == "part_b"
    assert {x["section_id"] for x in dossier["sections"]} >= {"personal_details", "motivation", "follow_up_programme"}
    assert [x["action"] for x in dossier["history"]][:1] == ["created"]
    assert data["part_b_student"][0]["answers"]["lwoo"] is True, "also what the mentor is still writing"
    assert any(e["actor_role"] == "mentor" for e in data["access_log"]), "who worked on their data"
    assert "Ander" not in str(data), "nothing of another student"
    async with world.db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE student_id = $1 AND what = 'export'",
                                   s.student_id) == 1


async def test_the_read_model_is_idempotent_and_keeps_the_newest_of_out_of_order_events(world: World):
    school = await world.school()
    s = await world.student(school)
    klass = school.classes[0]
    t0 = datetime.now(UTC) + timedelta(minutes=5)

    def record(achternaam: str) -> StudentChanged:
        return StudentChanged(student_id=s.student_id, school_id=school.school_id, student_number="1",
                              roepnaam="Roos", achternaam=achternaam, date_of_birth=s.date_of_birth,
                              class_id=klass.class_id, class_name=klass.name, school_year=4, email=s.email)

    await world.identity(record("Nieuw"), time=t0 + timedelta(seconds=2))
    await world.identity(record("Oud"), time=t0)  # arrives late: ignored
    async with world.db.acquire() as conn:
        row = await conn.fetchrow("SELECT achternaam, account_id FROM students WHERE student_id = $1", s.student_id)
    assert row["achternaam"] == "Nieuw"
    assert row["account_id"] == s.account_id, "a record without an account does not forget the account"
    # the mentors of a class: a full list each time, the newest wins
    new_mentor = Mentor(staff_id=uuid.uuid4(), name="Nieuwe mentor", email="nieuw@vo.example.nl")
    event = ClassMentorsChanged(school_id=school.school_id, class_id=klass.class_id, class_name=klass.name,
                                school_year=4, mentors=[new_mentor])
    await world.identity(event, time=t0 + timedelta(seconds=5))
    await world.identity(event.model_copy(update={"mentors": []}), time=t0 + timedelta(seconds=4))
    _, mentors = await world.call("GET", "/v1/me/mentors", world.as_student(s), expect=200)
    assert [m["name"] for m in mentors["mentors"]] == ["Nieuwe mentor"]
    # a redeemed code arriving before the roster record
    early = uuid.uuid4()
    await world.identity(ActivationCodeRedeemed(student_id=early, account_id=uuid.uuid4(), school_id=school.school_id))
    async with world.db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM student_accounts WHERE student_id = $1", early) == 1
    # an event handled twice has its effect once
    from shared.app import CONSUMER
    from shared.events.envelope import Envelope
    env = Envelope(source="/test", type="identity.student_changed", data=record("Twee").model_dump(mode="json"),
                   time=t0 + timedelta(seconds=10))
    assert await world.app[CONSUMER].process(env) is True
    assert await world.app[CONSUMER].process(env) is False


async def test_a_student_unknown_to_the_roster_cannot_start_yet(world: World):
    headers = world.issuer.headers("student", student_id=uuid.uuid4(), school_id=uuid.uuid4())
    status, problem = await world.call("POST", "/v1/dossiers", headers, json={})
    assert status == 409 and problem["code"] == "student-unknown"
    status, problem = await world.call("POST", "/v1/dossiers", world.issuer.headers("student"), json={})
    assert status == 403 and problem["code"] == "activation-required"


async def test_the_form_api(world: World):
    r = await world.client.get("/v1/forms/part_a/2026-2027")
    form = await r.json()
    assert r.status == 200 and form["school_year"] == "2026-2027"
    assert [s["title"] for s in form["sections"]][0] == "Persoonlijke gegevens"
    later = await (await world.client.get("/v1/forms/part_b/2030-2031")).json()
    assert later["school_year"] == "2026-2027", "the latest earlier form holds until a new one is made"
    for path, detail in (("/v1/forms/part_a/2019-2020", "geen formulier"), ("/v1/forms/part_c/2026-2027", "part_a"),
                         ("/v1/forms/part_a/2026", "Ongeldig schooljaar")):
        r = await world.client.get(path)
        assert r.status == 404 and detail in (await r.json())["detail"], path
    doc = await (await world.client.get("/openapi.json")).json()
    assert "/v1/dossiers/{dossier_id}" in doc["paths"] and "DossierView" in doc["components"]["schemas"]


async def test_a_roster_change_and_a_redeemed_code_for_one_student_at_once_do_not_deadlock(world: World):
    """Both events touch the student's row and the account link; handled at the same moment (the
    consumer runs several handlers at once) they must take the rows in the same order."""
    school = await world.school()
    klass = school.classes[0]
    students = [await world.student(school, klass, roepnaam=f"Leerling{i}", email=None) for i in range(40)]

    async def both(student) -> list[bool]:
        account = uuid.uuid4()
        changed = StudentChanged(
            student_id=student.student_id, school_id=school.school_id, student_number=f"n{student.student_id.hex[:6]}",
            roepnaam=student.roepnaam, tussenvoegsel="de", achternaam=student.achternaam,
            date_of_birth=student.date_of_birth, class_id=klass.class_id, class_name=klass.name,
            school_year=klass.leerjaar, email=None, account_id=account)
        redeemed = ActivationCodeRedeemed(student_id=student.student_id, account_id=account,
                                          school_id=school.school_id)
        return await asyncio.gather(world.identity(changed), world.identity(redeemed))

    await asyncio.gather(*(both(s) for s in students))
    async with world.db.acquire() as conn:
        linked = await conn.fetchval("""SELECT count(*) FROM students s JOIN student_accounts a USING (student_id)
                                        WHERE s.student_id = ANY($1::uuid[]) AND s.account_id = a.account_id""",
                                     [s.student_id for s in students])
    assert linked == len(students)
