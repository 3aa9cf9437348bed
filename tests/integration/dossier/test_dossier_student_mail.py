"""Mail to a student goes to the verified address of the student's own account (identity's
``account_email``), the roster's address only while there is no account; a student without any
address gets no mail, and the dossier says so (``student.email`` null). The completed dossier the
MBO reads carries what its intake matches the application with, and the parents' say."""
from __future__ import annotations

import uuid

from shared.events.identity_events import StudentChanged
from tests.integration.dossier.world import MINOR, Student, World, token_from


async def _student(world: World, school, *, email: str | None, account_email: str | None,
                   number: str = "") -> Student:
    klass = school.classes[0]
    s = Student(uuid.uuid4(), uuid.uuid4(), school, klass, "Sem", "Bakker", email or "", MINOR)
    await world.identity(StudentChanged(
        student_id=s.student_id, school_id=school.school_id, student_number=number or uuid.uuid4().hex[:6],
        roepnaam="Sem", achternaam="Bakker", date_of_birth=MINOR, class_id=klass.class_id, class_name=klass.name,
        school_year=klass.leerjaar, email=email, account_id=s.account_id, account_email=account_email))
    return s


async def test_the_student_is_mailed_at_the_own_accounts_address_not_the_rosters(world: World):
    school, mbo = await world.school(), await world.mbo()
    tag = uuid.uuid4().hex[:8]
    roster, own = f"sem-{tag}@school.example.nl", f"sem.eigen-{tag}@thuis.example.nl"
    s = await _student(world, school, email=roster, account_email=own)
    d = await world.to_agreement(s, mbo)
    [mail] = await world.mails_to(own)
    assert "Deel B is klaar" in mail["Subject"]
    assert world.sink.messages_to(roster) == []
    event = await world.event("dossier.part_b_sent", d["id"])
    assert event["data"]["student_email"] == own
    view = await world.get(d["id"], world.as_mentor(s.klass.mentors[0]))
    assert view["student"]["email"] == own
    # a later roster change from a producer that does not send the account's address keeps it
    await world.identity(StudentChanged(
        student_id=s.student_id, school_id=school.school_id, student_number="9", roepnaam="Sem", achternaam="Bakker",
        date_of_birth=MINOR, class_id=s.klass.class_id, class_name=s.klass.name, school_year=4, email=roster,
        account_id=s.account_id))
    await world.act(d["id"], "reminders", world.as_mentor(s.klass.mentors[0]), expect=202)
    assert len(await world.mails_to(own, 2)) == 2 and world.sink.messages_to(roster) == []


async def test_a_student_without_any_address_gets_no_mail_and_the_dossier_says_so(world: World):
    school, mbo = await world.school(), await world.mbo()
    s = await _student(world, school, email=None, account_email=None)
    d = await world.to_agreement(s, mbo)
    event = await world.event("dossier.part_b_sent", d["id"])
    assert event["data"]["student_email"] is None
    view = await world.get(d["id"], world.as_mentor(s.klass.mentors[0]))
    assert view["student"] is not None and view["student"]["email"] is None
    # waiting too long: the reminders overview tells that no reminder can be mailed
    async with world.db.acquire() as conn:
        await conn.execute("UPDATE dossiers SET state_changed_at = now() - interval '30 days' WHERE id = $1",
                           uuid.UUID(d["id"]))
    r = await world.client.get("/v1/overviews/agreement-overdue?page_size=100", headers=world.as_counsellor(school))
    [item] = [i for i in (await r.json())["dossiers"] if i["id"] == d["id"]]
    assert item["mail_possible"] is False


async def test_the_mbo_reads_the_intake_data_and_the_parents_objection(world: World):
    school = await world.school(parent_rule="inspection")
    mbo = await world.mbo()
    tag = uuid.uuid4().hex[:8]
    own = f"sem.eigen-{tag}@thuis.example.nl"
    s = await _student(world, school, email=None, account_email=own, number=f"N{tag}")
    d = await world.to_agreement(s, mbo)
    parent = f"ouder-{tag}@example.nl"
    await world.act(d["id"], "parent-link", world.as_student(s), json={"parent_email": parent})
    token = token_from((await world.mails_to(parent))[-1])
    version = await world.version(d["id"])
    r = await world.client.post("/v1/parent/decision", headers={"X-Parent-Token": token, "If-Match": f'"{version}"'},
                                json={"decision": "objection", "remark": "Het advies klopt niet."})
    assert r.status == 200, await r.text()
    await world.act(d["id"], "complete", world.as_student(s))

    view = await world.get(d["id"], world.as_mbo(mbo))
    student = view["student"]
    assert student["date_of_birth"] == MINOR.isoformat() and student["student_number"] == f"N{tag}"
    assert student["email"] == own
    assert student["school_name"] == school.name and student["school_brin"] == "12AB"
    assert student["school_city"] == "Utrecht"
    parent_say = view["agreement"]["parent"]
    assert parent_say["decision"] == "objection" and parent_say["decision_label"] == "Bezwaar"
    assert parent_say["remark"] == "Het advies klopt niet."
    assert parent_say["email"] is None  # the parent's address stays with the school
    mentor_view = await world.get(d["id"], world.as_mentor(s.klass.mentors[0]))
    assert mentor_view["agreement"]["parent"]["decision_label"] == "Bezwaar"
    r = await world.client.post("/v1/mbo/dossiers/search", json={"q": "Bakker"}, headers=world.as_mbo(mbo))
    [item] = (await r.json())["dossiers"]
    assert item["student_number"] == f"N{tag}"
