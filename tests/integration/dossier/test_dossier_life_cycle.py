"""The dossier service in a school year's life cycle: the parent the school's roster knows gets the
link; a student who left can read but no longer change their dossiers (a completed one stays with
the MBO); and the retention rule, which this service applies for all: planned, told to the school
beforehand, erased after the notice period with its events and an audit line of counts."""
from __future__ import annotations

import uuid
from contextlib import AsyncExitStack
from datetime import date, timedelta

import pytest

from services.dossier import retention
from services.dossier.domain.retention import erase_on
from shared.events.identity_events import ParentContact, StaffChanged, StudentChanged
from tests.integration.dossier.world import MINOR, School, Student, World, open_world, token_from


@pytest.fixture
async def own() -> World:
    """A world of its own: a retention run covers every school of the service, so its counts are
    this test's only."""
    async with AsyncExitStack() as stack:
        yield await open_world(stack, "retention")


async def school_admin(world: World, school: School) -> str:
    email = f"beheer-{uuid.uuid4().hex[:8]}@vo.example.nl"
    await world.identity(StaffChanged(staff_id=uuid.uuid4(), school_id=school.school_id, role="school_admin",
                                      name="Bea Beheer", email=email))
    return email


async def roster_change(world: World, s: Student, **changes) -> None:
    """identity.student_changed for ``s`` with ``changes`` (active, left_on, parents)."""
    await world.identity(StudentChanged(
        student_id=s.student_id, school_id=s.school.school_id, student_number=uuid.uuid4().hex[:6],
        roepnaam=s.roepnaam, tussenvoegsel="de", achternaam=s.achternaam, date_of_birth=s.date_of_birth,
        class_id=s.klass.class_id, class_name=s.klass.name, school_year=s.klass.leerjaar, email=s.email,
        account_id=s.account_id, **changes))


def admin_headers(world: World, school: School) -> dict:
    return world.issuer.headers("school_admin", staff_id=uuid.uuid4(), school_id=school.school_id, name="Bea Beheer")


async def test_the_parent_link_goes_to_a_parent_the_school_knows(world: World):
    school = await world.school(parent_rule="consent")
    mbo = await world.mbo()
    s = await world.student(school, born=MINOR)
    mother = f"moeder-{uuid.uuid4().hex[:6]}@example.nl"
    father = f"vader-{uuid.uuid4().hex[:6]}@example.nl"
    await roster_change(world, s, parents=[ParentContact(name="Anna Winter", email=mother, relation="moeder"),
                                           ParentContact(email=father, relation="vader")])
    d = await world.to_agreement(s, mbo)
    known = d["agreement"]["parent"]["known"]
    assert [p["email"] for p in known] == [mother, father] and known[0]["relation"] == "moeder"
    # an address the school does not know is refused: the link goes to a parent the school knows
    problem = await world.act(d["id"], "parent-link", world.as_student(s), json={"parent_email": "ik@example.nl"},
                              expect=422)
    assert problem["errors"][0]["field"] == "parent_email" and "school kent" in problem["errors"][0]["message"]
    # without an address: the first parent the school knows
    view = await world.act(d["id"], "parent-link", world.as_student(s), json={})
    assert view["agreement"]["parent"]["email"] == mother
    [mail] = await world.mails_to(mother)
    assert token_from(mail)
    view = await world.act(d["id"], "parent-link", world.as_student(s), json={"parent_email": father.upper()})
    assert view["agreement"]["parent"]["email"] == father
    # MBO staff and parents never see the addresses
    parent_view = await (await world.client.get("/v1/parent/dossier", headers={
        "X-Parent-Token": token_from((await world.mails_to(father))[-1])})).json()
    assert parent_view["agreement"]["parent"]["known"] is None

    # a roster event without the field keeps them; an empty list means none known: the student types it
    await roster_change(world, s)
    assert len((await world.get(d["id"], world.as_student(s)))["agreement"]["parent"]["known"]) == 2
    await roster_change(world, s, parents=[])
    assert (await world.get(d["id"], world.as_student(s)))["agreement"]["parent"]["known"] == []
    problem = await world.act(d["id"], "parent-link", world.as_student(s), json={}, expect=422)
    assert "Vul het e-mailadres" in problem["errors"][0]["message"]


async def test_a_student_who_left_reads_but_changes_nothing_and_the_mbo_keeps_the_completed_dossier(world: World):
    school = await world.school()
    mbo = await world.mbo()
    s = await world.student(school)
    done = await world.to_completed(s, mbo)
    open_ = await world.fill_part_a(s, await world.create(s, mbo), mbo)
    waiting = await world.to_part_b(s, mbo)
    mentor = world.as_mentor(s.klass.mentors[0])
    _, work = await world.call("GET", "/v1/overviews/worklist", mentor, expect=200)
    assert waiting["id"] in [x["id"] for x in work["dossiers"]]
    await roster_change(world, s, active=False, left_on=date.today())
    _, work = await world.call("GET", "/v1/overviews/worklist", mentor, expect=200)
    assert waiting["id"] not in [x["id"] for x in work["dossiers"]]  # nothing more to do for them
    assert (await world.get(open_["id"], world.as_student(s)))["state"] == "part_a"  # readable
    problem = await world.act(open_["id"], "submit", world.as_student(s),
                              json={"mentor_id": str(s.klass.mentors[0].staff_id)}, expect=409)
    assert problem["code"] == "student-left" and "niet meer ingeschreven" in problem["detail"]
    status, problem = await world.call("POST", "/v1/dossiers", world.as_student(s), json={})
    assert status == 409
    # the completed dossier stays with the MBO, which can still handle it
    assert (await world.get(done["id"], world.as_mbo(mbo)))["state"] == "completed"
    await world.call("POST", f"/v1/mbo/dossiers/{done['id']}/handled", world.as_mbo(mbo),
                     version=await world.version(done["id"]), expect=200)
    # the student is out of "mijn leerlingen"
    _, page = await world.call("POST", "/v1/overviews/students/search", world.as_counsellor(school), json={},
                               expect=200)
    assert str(s.student_id) not in [x["student_id"] for x in page["students"]]


async def test_the_retention_rule_tells_the_school_first_then_erases_a_completed_dossier(own: World):
    world = own
    school = await world.school()
    admin = await school_admin(world, school)
    mbo = await world.mbo()
    s = await world.student(school)
    d = await world.to_completed(s, mbo)
    keep = await world.create(s, mbo)  # an open dossier of a student still at school: kept
    due = erase_on(date.today(), 2)
    assert due == date(date.today().year + (3 if date.today().month >= 8 else 2), 8, 1)

    # before the notice period nothing is planned
    assert (await retention.run(world.app, due - timedelta(days=31)))["planned"] == 0
    result = await retention.run(world.app, due - timedelta(days=30))
    assert result["planned"] == 1 and result["schools_noticed"] == 1 and result["dossiers"] == 0
    [mail] = await world.mails_to(admin)
    body = mail.get_body().get_content()
    assert f"Vanaf {due:%d-%m-%Y}" in mail["Subject"] and "1 afgerond dossier" in body
    assert "https://portal.example.nl/beheer/bewaartermijn" in body and s.roepnaam not in body
    notice = await world.event("dossier.retention_notice", school.school_id)
    assert notice["data"]["recipients"] == [admin] and notice["data"]["dossiers"] == 1
    # the school sees what will go, and from when
    _, overview = await world.call("GET", "/v1/retention", admin_headers(world, school), expect=200)
    [planned] = overview["planned"]
    assert (planned["kind"], planned["student_name"], planned["due_on"], planned["erase_from"]) == \
        ("dossier", "Roos de Winter", due.isoformat(), due.isoformat())
    assert mbo.name in planned["choice"]
    # a second run tells nobody again; not due yet: nothing goes
    result = await retention.run(world.app, due - timedelta(days=1))
    assert (result["schools_noticed"], result["dossiers"]) == (0, 0)

    result = await retention.run(world.app, due)
    assert result["dossiers"] == 1 and result["students"] == 0
    status, _ = await world.call("GET", f"/v1/dossiers/{d['id']}", world.as_mbo(mbo))
    assert status == 404
    assert (await world.get(keep["id"], world.as_student(s)))["state"] == "part_a"
    async with world.db.acquire() as conn:
        for table, column in (("dossiers", "id"), ("dossier_sections", "dossier_id"), ("history", "dossier_id"),
                              ("audit_log", "dossier_id"), ("reminders", "dossier_id")):
            assert await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", uuid.UUID(d["id"])) == 0
        line = await conn.fetchrow("SELECT * FROM audit_log WHERE kind = 'erase' AND actor_ref = $1",
                                   str(school.school_id))
    assert line["what"] == "retention:dossiers=1,students=0,student_dossiers=0" and line["dossier_id"] is None
    erased = await world.event("dossier.erased", d["id"])
    assert erased["data"]["reason"] == "completed" and erased["data"]["institution_id"] == str(mbo.institution_id)
    _, overview = await world.call("GET", "/v1/retention", admin_headers(world, school), expect=200)
    assert overview["planned"] == []
    [log_line] = overview["erased"]
    assert (log_line["dossiers"], log_line["students"], log_line["retention_years"], log_line["noticed_on"]) == \
        (1, 0, 2, (due - timedelta(days=30)).isoformat())
    assert "Roos" not in str(overview["erased"])


async def test_a_student_who_left_goes_with_every_dossier_and_one_who_came_back_stays(own: World):
    world = own
    school = await world.school()
    await school_admin(world, school)
    mbo = await world.mbo()
    gone, back = await world.student(school), await world.student(school, roepnaam="Bram")
    completed = await world.to_completed(gone, mbo)
    draft = await world.create(gone, mbo)
    await world.create(back, mbo)
    left_on = date.today() - timedelta(days=400)
    for s in (gone, back):
        await roster_change(world, s, active=False, left_on=left_on)
    due = erase_on(left_on, 1)
    async with world.db.acquire() as conn:  # this school keeps one school year
        await conn.execute("UPDATE schools SET retention_years = 1 WHERE school_id = $1", school.school_id)
    result = await retention.run(world.app, due - timedelta(days=30))
    assert result["planned"] == 2  # two students; their dossiers are not planned apart
    await roster_change(world, back, active=True)  # on the roster again before the day
    result = await retention.run(world.app, due)
    assert (result["students"], result["student_dossiers"], result["dossiers"]) == (1, 2, 0)
    erased = await world.event("dossier.student_erased", gone.student_id)
    assert erased["data"]["account_id"] == str(gone.account_id)
    for d in (completed, draft):
        event = await world.event("dossier.erased", d["id"])
        assert event["data"]["reason"] == "student_left"
    async with world.db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM students WHERE student_id = $1", gone.student_id) == 0
        assert await conn.fetchval("SELECT count(*) FROM dossiers WHERE student_id = $1", gone.student_id) == 0
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE student_id = $1", gone.student_id) == 0
        assert await conn.fetchval("SELECT count(*) FROM dossiers WHERE student_id = $1", back.student_id) == 1
        assert await conn.fetchval("SELECT count(*) FROM retention_plan WHERE school_id = $1", school.school_id) == 0


async def test_a_shortened_rule_still_waits_for_the_notice_period_and_one_process_runs_a_day(own: World):
    world = own
    school = await world.school()
    await school_admin(world, school)
    mbo = await world.mbo()
    s = await world.student(school)
    d = await world.to_completed(s, mbo)
    day = erase_on(date.today(), 1) + timedelta(days=10)  # long due under a one-year rule, never noticed
    async with world.db.acquire() as conn:
        await conn.execute("UPDATE schools SET retention_years = 1 WHERE school_id = $1", school.school_id)
    assert (await retention.run(world.app, day))["dossiers"] == 0  # told today: not erased today
    assert (await retention.run(world.app, day + timedelta(days=29)))["dossiers"] == 0
    assert (await retention.run(world.app, day + timedelta(days=30)))["dossiers"] == 1
    status, _ = await world.call("GET", f"/v1/dossiers/{d['id']}", world.as_student(s))
    assert status == 404
    # the daily job: the first process of the day does it, the others see it was done
    far = day + timedelta(days=400)
    assert await retention.run_daily(world.app, far) is not None
    assert await retention.run_daily(world.app, far) is None
