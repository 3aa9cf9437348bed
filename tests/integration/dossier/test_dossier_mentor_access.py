"""A mentor's access follows the class link as it is now (the read model of identity's roster,
identity.class_mentors_changed), not the mentor the student chose when sending part A
(dossiers.mentor_id): a mentor unlinked from the class loses its dossiers at once (404, as for
anything that is not theirs), in every view and action; the mentor linked now gets them, the
worklist included, and can finish part B. The same when the student moves to another class.
A counsellor keeps school-wide access. The PDF (document service, the caller's token passed on)
follows the same rule."""
from __future__ import annotations

import uuid

from services.document.app import make_app as make_document
from services.document.settings import DocumentSettings
from shared.events.identity_events import (
    ClassMentorsChanged,
    Mentor,
    StaffChanged,
    StudentChanged,
)
from tests.integration.dossier.world import (
    ASSESSMENT,
    Klass,
    School,
    Staff,
    Student,
    World,
)
from tests.support.answers import GUIDANCE
from tests.support.apps import serve, settings


async def _new_mentor(world: World, school: School) -> Staff:
    tag = uuid.uuid4().hex[:6]
    mentor = Staff(uuid.uuid4(), f"Nieuwe mentor {tag}", f"nieuw-{tag}@vo.example.nl", school.school_id)
    await world.identity(StaffChanged(staff_id=mentor.staff_id, school_id=school.school_id, role="mentor",
                                      name=mentor.name, email=mentor.email))
    return mentor


async def _link(world: World, school: School, klass: Klass, mentors: list[Staff]) -> None:
    """identity.class_mentors_changed with the class's full list of mentors, handled by the read model."""
    klass.mentors = mentors
    await world.identity(ClassMentorsChanged(
        school_id=school.school_id, class_id=klass.class_id, class_name=klass.name, school_year=klass.leerjaar,
        mentors=[Mentor(staff_id=m.staff_id, name=m.name, email=m.email) for m in mentors]))


async def _move(world: World, s: Student, klass: Klass) -> None:
    """identity.student_changed: the student is now in ``klass``."""
    s.klass = klass
    await world.identity(StudentChanged(
        student_id=s.student_id, school_id=s.school.school_id, student_number=uuid.uuid4().hex[:6],
        roepnaam=s.roepnaam, tussenvoegsel="de", achternaam=s.achternaam, date_of_birth=s.date_of_birth,
        class_id=klass.class_id, class_name=klass.name, school_year=klass.leerjaar, email=s.email,
        account_id=s.account_id))


async def _worklist_ids(world: World, headers: dict) -> set[str]:
    _, page = await world.call("GET", "/v1/overviews/worklist", headers, expect=200)
    return {d["id"] for d in page["dossiers"]}


async def _refused_everywhere(world: World, headers: dict, dossier_id: str, s: Student) -> None:
    """Nothing of the dossier or its student is there for this caller any more."""
    version = await world.version(dossier_id)
    for method, path, body in (
            ("GET", f"/v1/dossiers/{dossier_id}", None),
            ("GET", f"/v1/dossiers/{dossier_id}/history", None),
            ("PUT", f"/v1/dossiers/{dossier_id}/part-b/guidance", {"answers": GUIDANCE}),
            ("POST", f"/v1/dossiers/{dossier_id}/part-b/start", None),
            ("POST", f"/v1/dossiers/{dossier_id}/send-part-b", None),
            ("POST", f"/v1/dossiers/{dossier_id}/archive", None),
            ("GET", f"/v1/students/{s.student_id}/part-b", None),
            ("GET", f"/v1/students/{s.student_id}/dossiers", None)):
        status, problem = await world.call(method, path, headers, json=body, version=version)
        assert status == 404, (method, path, status, problem)
        assert "geen toegang" in problem["detail"], problem
    assert dossier_id not in await _worklist_ids(world, headers)
    _, students = await world.call("GET", "/v1/overviews/students", headers, expect=200)
    assert str(s.student_id) not in {x["student_id"] for x in students["students"]}
    _, counts = await world.call("GET", "/v1/overviews/counts", headers, expect=200)
    assert sum(x["count"] for x in counts["states"]) == 0 and counts["students"] == 0
    assert await world.version(dossier_id) == version, "nothing changed"


async def test_a_mentor_unlinked_from_the_class_loses_its_dossiers_and_the_new_mentor_handles_them(world: World):
    school, mbo = await world.school(), await world.mbo()
    klass = school.classes[0]
    chosen, co_mentor = klass.mentors
    s = await world.student(school)
    d = await world.to_part_b(s, mbo, mentor=chosen)  # part A sent to ``chosen``
    await world.save_b(d["id"], "guidance", GUIDANCE, world.as_mentor(chosen))
    assert d["id"] in await _worklist_ids(world, world.as_mentor(chosen))

    successor = await _new_mentor(world, school)
    await _link(world, school, klass, [successor])  # the class moved to another mentor

    for gone in (chosen, co_mentor):
        await _refused_everywhere(world, world.as_mentor(gone), d["id"], s)
    # the mentor of the class now finds the dossier in "te behandelen" and finishes part B
    new = world.as_mentor(successor)
    assert d["id"] in await _worklist_ids(world, new)
    view = await world.get(d["id"], new)
    assert view["mentor"]["staff_id"] == str(chosen.staff_id), "whom part A was sent to stays on record"
    await world.save_b(d["id"], "assessment_advice", ASSESSMENT, new)
    _, history = await world.call("GET", f"/v1/dossiers/{d['id']}/history", new, expect=200)
    assert history
    sent = await world.act(d["id"], "send-part-b", new)
    assert sent["state"] == "agreement"
    # the counsellor sees the whole school throughout
    await world.get(d["id"], world.as_counsellor(school))

    # linked again: access again, at once
    await _link(world, school, klass, [successor, chosen])
    await world.get(d["id"], world.as_mentor(chosen))


async def test_reminders_follow_the_class_link(world: World):
    school, mbo = await world.school(), await world.mbo()
    klass = school.classes[0]
    chosen = klass.mentors[0]
    s = await world.student(school)
    d = await world.to_agreement(s, mbo)
    successor = await _new_mentor(world, school)
    await _link(world, school, klass, [successor])
    status, _ = await world.call("POST", f"/v1/dossiers/{d['id']}/reminders", world.as_mentor(chosen))
    assert status == 404
    _, overdue = await world.call("GET", "/v1/overviews/agreement-overdue?page_size=100",
                                  world.as_mentor(chosen), expect=200)
    assert overdue["total"] == 0
    status, body = await world.call("POST", f"/v1/dossiers/{d['id']}/reminders", world.as_mentor(successor))
    assert status == 202, body


async def test_a_student_moved_to_another_class_goes_to_the_mentors_of_that_class(world: World):
    school, mbo = await world.school(classes=2), await world.mbo()
    old_class, new_class = school.classes
    chosen = old_class.mentors[0]
    s = await world.student(school, old_class)
    d = await world.to_part_b(s, mbo, mentor=chosen)
    await _move(world, s, new_class)
    await _refused_everywhere(world, world.as_mentor(chosen), d["id"], s)
    new = world.as_mentor(new_class.mentors[1])
    assert d["id"] in await _worklist_ids(world, new)
    await world.save_b(d["id"], "guidance", GUIDANCE, new)


async def test_the_pdf_follows_the_class_link(world: World, unique):
    school, mbo = await world.school(), await world.mbo()
    klass = school.classes[0]
    chosen = klass.mentors[0]
    s = await world.student(school)
    d = await world.to_completed(s, mbo)
    app = make_document(settings(DocumentSettings, f"docmentor_{unique}", event_exchange=world.exchange,
                                 auth_jwks_url=world.issuer.jwks_url, render_processes=1,
                                 dossier_url=str(world.client.make_url("")).rstrip("/")))
    async with serve(app) as document:
        path = f"/v1/dossiers/{d['id']}/pdf"
        r = await document.get(path, params={"part": "b"}, headers=world.as_mentor(chosen))
        assert r.status == 200, await r.text()
        successor = await _new_mentor(world, school)
        await _link(world, school, klass, [successor])
        r = await document.get(path, params={"part": "b"}, headers=world.as_mentor(chosen))
        assert r.status == 404 and r.content_type == "application/problem+json"
        r = await document.get(path, params={"part": "b"}, headers=world.as_mentor(successor))
        assert r.status == 200, await r.text()
