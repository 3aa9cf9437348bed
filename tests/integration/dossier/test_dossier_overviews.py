"""Overviews: the worklist, "mijn leerlingen" (search, filters, best choice, furthest dossier,
paging), counts per status, students who wait too long in the agreement step with reminders (on
request and automatically, once a day whatever the number of processes), archive and reactivate."""
from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from services.dossier.context import today
from services.dossier.reminders import run_daily
from tests.integration.dossier.world import ASSESSMENT, World


async def _age_agreement(world: World, dossier_id: str, days: int) -> None:
    async with world.db.acquire() as conn:
        await conn.execute("UPDATE dossiers SET state_changed_at = now() - $2::interval WHERE id = $1",
                           uuid.UUID(dossier_id), timedelta(days=days))


async def test_mijn_leerlingen_search_filter_best_choice_furthest_and_paging(world: World):
    school = await world.school(classes=2)
    mbo, mbo2 = await world.mbo(), await world.mbo()
    a, b = school.classes
    roos = await world.student(school, a, roepnaam="Roos", achternaam="Winter")
    await world.student(school, a, roepnaam="Jaap", achternaam="Rierink")
    await world.student(school, b, roepnaam="Mirjam", achternaam="Hoenderloo")
    await world.student(school, a, roepnaam="Zoë", achternaam="Ëlberg")
    # Roos: one dossier in the agreement step (not first choice), one in part A marked first choice
    far = await world.to_agreement(roos, mbo2)
    near = await world.create(roos, mbo)
    await world.call("PUT", f"/v1/dossiers/{near['id']}/part-a/follow_up_programme", world.as_student(roos),
                     json={"answers": {"keuzevervolgopleiding": mbo.choice(), "first_choice": True}},
                     version=near["versions"]["follow_up_programme"], expect=200)
    async with world.db.acquire() as conn:  # the far one was filled as first choice too: make it not
        await conn.execute("UPDATE dossiers SET first_choice = false WHERE id = $1", uuid.UUID(far["id"]))

    mentor_a = world.as_mentor(a.mentors[0])
    _, page = await world.call("GET", "/v1/overviews/students", mentor_a, expect=200)
    assert [x["name"] for x in page["students"]] == ["Zoë de Ëlberg", "Jaap de Rierink", "Roos de Winter"]
    assert page["total"] == 3, "a mentor sees the classes linked to them only"
    r = next(x for x in page["students"] if x["name"] == "Roos de Winter")
    assert r["furthest"]["id"] == far["id"] and r["furthest"]["state_label"] == "Akkoordverklaring invullen"
    assert r["furthest"]["institution_name"] == mbo2.name
    assert r["best_choice"]["id"] == near["id"] and r["best_choice"]["institution_name"] == mbo.name
    assert r["dossier_count"] == 2 and r["agreement_overdue"] is False
    j = next(x for x in page["students"] if x["name"] == "Jaap de Rierink")
    assert j["furthest"] is None and j["best_choice"] is None and j["dossier_count"] == 0

    counsellor = world.as_counsellor(school)
    _, page = await world.call("GET", "/v1/overviews/students", counsellor, expect=200)
    assert page["total"] == 4, "a counsellor sees the whole school"
    for q, names in (("roos", ["Roos de Winter"]), ("WINTER roos", ["Roos de Winter"]), ("elberg", ["Zoë de Ëlberg"]),
                     ("zoe", ["Zoë de Ëlberg"]), ("de", ["Zoë de Ëlberg", "Mirjam de Hoenderloo", "Jaap de Rierink",
                                                       "Roos de Winter"]), ("xyz", []), ("100%_", [])):
        _, page = await world.call("POST", "/v1/overviews/students/search", counsellor, json={"q": q}, expect=200)
        assert [x["name"] for x in page["students"]] == names, q
    _, page = await world.call("POST", "/v1/overviews/students/search", mentor_a,
                               json={"q": "mirjam"}, expect=200)
    assert page["total"] == 0, "a mentor searches in their own classes"
    _, page = await world.call("POST", "/v1/overviews/students/search", counsellor,
                               json={"q": "de", "leerjaar": 4, "page": 2, "page_size": 3}, expect=200)
    assert [x["name"] for x in page["students"]] == ["Roos de Winter"]
    status, problem = await world.call("GET", "/v1/overviews/students?q=roos", counsellor)
    assert status == 422 and "hoort niet in een URL" in problem["detail"]
    _, classes = await world.call("GET", "/v1/overviews/classes", counsellor, expect=200)
    assert [c["class_id"] for c in classes["classes"]] == [str(a.class_id), str(b.class_id)]
    _, classes = await world.call("GET", "/v1/overviews/classes", mentor_a, expect=200)
    assert [c["name"] for c in classes["classes"]] == [a.name]
    _, listed = await world.call("GET", f"/v1/students/{roos.student_id}/dossiers", mentor_a, expect=200)
    assert {x["id"] for x in listed["dossiers"]} == {far["id"], near["id"]}
    status, _ = await world.call("GET", f"/v1/students/{roos.student_id}/dossiers",
                                 world.as_mentor(b.mentors[0]))
    assert status == 404
    _, page = await world.call("GET", f"/v1/overviews/students?class_id={b.class_id}", counsellor, expect=200)
    assert [x["name"] for x in page["students"]] == ["Mirjam de Hoenderloo"]
    _, page = await world.call("GET", "/v1/overviews/students?leerjaar=3", counsellor, expect=200)
    assert page["total"] == 0
    _, page = await world.call("GET", "/v1/overviews/students?leerjaar=4&page=2&page_size=3", counsellor, expect=200)
    assert page["total"] == 4 and [x["name"] for x in page["students"]] == ["Roos de Winter"]
    status, problem = await world.call("GET", "/v1/overviews/students?page_size=100000", counsellor)
    assert status == 422 and problem["errors"][0]["field"] == "page_size"
    status, problem = await world.call("GET", "/v1/overviews/students?class_id=4a", counsellor)
    assert status == 422


async def test_worklist_counts_and_archive(world: World):
    school = await world.school(classes=2)
    mbo = await world.mbo()
    a, b = school.classes
    s1 = await world.student(school, a, roepnaam="Sem", achternaam="Bakker")
    s2 = await world.student(school, b, roepnaam="Lotte", achternaam="Visser")
    d1 = await world.to_part_b(s1, mbo)
    d2 = await world.to_part_b(s2, mbo)
    await world.create(s2, mbo)  # part A: not in any worklist
    mentor_a = world.as_mentor(a.mentors[1])
    _, work = await world.call("GET", "/v1/overviews/worklist", mentor_a, expect=200)
    assert [x["id"] for x in work["dossiers"]] == [d1["id"]]
    _, work = await world.call("GET", "/v1/overviews/worklist", world.as_counsellor(school), expect=200)
    assert {x["id"] for x in work["dossiers"]} == {d1["id"], d2["id"]}
    # searched by name or class, in a body (no name in a URL), within what the caller may see
    counsellor = world.as_counsellor(school)
    for body, ids in (({"q": s1.roepnaam.upper()}, [d1["id"]]), ({"class_id": str(b.class_id)}, [d2["id"]]),
                      ({"q": "niemand"}, []), ({"page": 2, "page_size": 1}, [d2["id"]])):
        _, work = await world.call("POST", "/v1/overviews/worklist/search", counsellor, json=body, expect=200)
        assert [x["id"] for x in work["dossiers"]] == ids and work["total"] == (len(ids) if "page" not in body else 2)
    _, work = await world.call("POST", "/v1/overviews/worklist/search", mentor_a, json={"q": s2.roepnaam}, expect=200)
    assert work["dossiers"] == [], "a mentor searches their own classes"
    status, problem = await world.call("GET", "/v1/overviews/worklist?q=x", counsellor)
    assert status == 422 and "hoort niet in een URL" in problem["detail"]
    status, _ = await world.call("POST", "/v1/overviews/worklist/search", counsellor, json={"q": 5})
    assert status == 422

    _, counts = await world.call("GET", "/v1/overviews/counts", world.as_counsellor(school), expect=200)
    assert {x["state"]: x["count"] for x in counts["states"]} == {"part_a": 1, "part_b": 2, "agreement": 0,
                                                                  "completed": 0}
    assert counts["students"] == 2 and counts["students_without_dossier"] == 0 and counts["archived"] == 0

    # archive: out of the overviews, still there; only the student may reactivate... or staff
    d1 = await world.act(d1["id"], "archive", mentor_a)
    assert d1["archived"] is True and d1["state_label"] == "Gearchiveerd" and d1["state"] == "part_b"
    _, work = await world.call("GET", "/v1/overviews/worklist", mentor_a, expect=200)
    assert work["dossiers"] == []
    _, page = await world.call("GET", "/v1/overviews/students", mentor_a, expect=200)
    assert page["students"][0]["furthest"] is None
    _, counts = await world.call("GET", "/v1/overviews/counts", world.as_counsellor(school), expect=200)
    assert counts["archived"] == 1 and {x["state"]: x["count"] for x in counts["states"]}["part_b"] == 1
    problem = await world.act(d1["id"], "reset-to-part-a", world.as_student(s1), expect=409)
    assert problem["code"] == "dossier-archived" and "Activeer het eerst opnieuw" in problem["detail"]
    _, home = await world.call("GET", "/v1/dossiers", world.as_student(s1), expect=200)
    assert home["dossiers"][0]["archived"] is True, "the student still sees it, to reactivate"
    d1 = await world.act(d1["id"], "reactivate", world.as_student(s1))
    assert d1["archived"] is False and d1["state"] == "part_b"
    _, work = await world.call("GET", "/v1/overviews/worklist", mentor_a, expect=200)
    assert [x["id"] for x in work["dossiers"]] == [d1["id"]]
    await world.event("dossier.archived", d1["id"])
    await world.event("dossier.reactivated", d1["id"])


async def test_agreement_overdue_flags_and_reminders(world: World):
    school = await world.school()
    mbo = await world.mbo()
    slow = await world.student(school)
    quick = await world.student(school)
    d_slow = await world.to_agreement(slow, mbo)
    d_quick = await world.to_agreement(quick, mbo)
    await _age_agreement(world, d_slow["id"], 20)
    mentor = world.as_mentor(school.classes[0].mentors[0])
    _, overdue = await world.call("GET", "/v1/overviews/agreement-overdue", mentor, expect=200)
    assert [x["id"] for x in overdue["dossiers"]] == [d_slow["id"]] and overdue["dossiers"][0]["waiting_days"] == 20
    _, page = await world.call("GET", "/v1/overviews/students?overdue=true", mentor, expect=200)
    assert [x["student_id"] for x in page["students"]] == [str(slow.student_id)]
    assert page["students"][0]["agreement_overdue"] is True

    # on request: a mail now, once a day
    status, body = await world.call("POST", f"/v1/dossiers/{d_quick['id']}/reminders", mentor)
    assert status == 202 and body["reminded"] is True
    [_, mail] = await world.mails_to(quick.email, 2)
    assert mail["Subject"] == "Herinnering: vul de akkoordverklaring van je doorstroomdossier in"
    status, problem = await world.call("POST", f"/v1/dossiers/{d_quick['id']}/reminders", mentor)
    assert status == 409 and problem["code"] == "already-reminded"

    # automatically: one process wins each day's run, each overdue student gets one mail
    day = today() + timedelta(days=1000 + uuid.uuid4().int % 1000)  # a day no other test ran
    results = await asyncio.gather(*(run_daily(world.app, day) for _ in range(4)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0] >= 1
    [_, mail] = await world.mails_to(slow.email, 2)
    assert "20 dagen" in mail.get_body().get_content()
    assert await run_daily(world.app, day) is None, "the same day again: nothing"
    assert await run_daily(world.app, day + timedelta(days=1)) == 0, "not again within the repeat interval"
    async with world.db.acquire() as conn:
        rows = await conn.fetch("SELECT day, automatic FROM reminders WHERE dossier_id = $1", uuid.UUID(d_slow["id"]))
    assert [r["automatic"] for r in rows] == [True]
    _, overdue = await world.call("GET", "/v1/overviews/agreement-overdue", mentor, expect=200)
    assert overdue["dossiers"][0]["last_reminder"] == day.isoformat()


async def test_the_mbo_inbox_is_searched_filtered_and_paged_without_names_in_urls(world: World):
    school = await world.school()
    mbo, other = await world.mbo(), await world.mbo()
    klass = school.classes[0]
    plain = {**ASSESSMENT, "opp": False, "contactnodig": False}
    roos = await world.student(school, klass, roepnaam="Roos", achternaam="Winter")
    zoe = await world.student(school, klass, roepnaam="Zoë", achternaam="Ëlberg")
    jaap = await world.student(school, klass, roepnaam="Jaap", achternaam="Rierink")
    elsewhere = await world.student(school, klass, roepnaam="Roos", achternaam="Anders")
    d_roos = await world.to_completed(roos, mbo, plain)
    d_zoe = await world.to_completed(zoe, mbo)  # warm handover: first in the inbox
    d_jaap = await world.to_completed(jaap, mbo, plain)
    await world.to_completed(elsewhere, other, plain)
    staff = world.as_mbo(mbo)

    _, inbox = await world.call("GET", "/v1/mbo/dossiers", staff, expect=200)
    assert inbox["total"] == 3, "only the dossiers sent to this institution"
    assert inbox["dossiers"][0]["id"] == d_zoe["id"] and inbox["dossiers"][0]["warm_handover"] is True
    for q, ids in (("roos", [d_roos["id"]]), ("WINTER roos", [d_roos["id"]]), ("elberg", [d_zoe["id"]]),
                   ("zoë", [d_zoe["id"]]), ("anders", []), ("100%_", []),
                   (school.name.split()[0], [d_zoe["id"], d_jaap["id"], d_roos["id"]])):
        _, page = await world.call("POST", "/v1/mbo/dossiers/search", staff, json={"q": q}, expect=200)
        got = [x["id"] for x in page["dossiers"]]
        assert sorted(got) == sorted(ids) and page["total"] == len(ids), q
        assert not ids or got[0] == ids[0], "warm handover stays first"
    _, page = await world.call("POST", "/v1/mbo/dossiers/search", staff, json={"flagged": True}, expect=200)
    assert [x["id"] for x in page["dossiers"]] == [d_zoe["id"]]
    _, page = await world.call("POST", "/v1/mbo/dossiers/search", staff, json={"page": 2, "page_size": 2}, expect=200)
    assert page["total"] == 3 and len(page["dossiers"]) == 1 and page["page"] == 2

    await world.call("POST", f"/v1/mbo/dossiers/{d_roos['id']}/handled", staff,
                     version=await world.version(d_roos["id"]), expect=200)
    _, page = await world.call("POST", "/v1/mbo/dossiers/search", staff, json={"handled": False}, expect=200)
    assert {x["id"] for x in page["dossiers"]} == {d_zoe["id"], d_jaap["id"]}
    _, page = await world.call("POST", "/v1/mbo/dossiers/search", staff, json={"q": "roos", "handled": True}, expect=200)
    assert [x["id"] for x in page["dossiers"]] == [d_roos["id"]] and page["dossiers"][0]["handled"] is True

    status, problem = await world.call("GET", "/v1/mbo/dossiers?q=roos", staff)
    assert status == 422 and "hoort niet in een URL" in problem["detail"]
    for body, field in (({"q": "x" * 101}, "q"), ({"page": 0}, "page"), ({"page_size": 501}, "page_size"),
                        ({"handled": "misschien"}, "handled"), ({"flagged": [1]}, "flagged")):
        status, problem = await world.call("POST", "/v1/mbo/dossiers/search", staff, json=body)
        assert status == 422 and field in str(problem), body
    status, _ = await world.call("POST", "/v1/mbo/dossiers/search", world.as_counsellor(school), json={})
    assert status == 403


async def test_the_archive_stays_reachable_for_staff(world: World):
    """Archived dossiers leave the lines and counts, not the staff's reach: each student says how many
    they have, ``archived`` finds those students, and the student's dossiers include them."""
    school = await world.school(classes=2)
    mbo = await world.mbo()
    a, b = school.classes
    s1 = await world.student(school, a, roepnaam="Sem", achternaam="Bakker")
    s2 = await world.student(school, a, roepnaam="Lotte", achternaam="Visser")
    s3 = await world.student(school, b, roepnaam="Noor", achternaam="Dijk")
    first = await world.to_part_b(s1, mbo)
    second = await world.create(s1, mbo)
    await world.create(s2, mbo)
    other = await world.create(s3, mbo)
    mentor_a = world.as_mentor(a.mentors[0])
    second = await world.act(second["id"], "archive", mentor_a)
    await world.act(other["id"], "archive", world.as_counsellor(school))

    _, page = await world.call("GET", "/v1/overviews/students", mentor_a, expect=200)
    lines = {x["name"]: x for x in page["students"]}
    assert (lines["Sem de Bakker"]["dossier_count"], lines["Sem de Bakker"]["archived_count"]) == (1, 1)
    assert lines["Sem de Bakker"]["furthest"]["id"] == first["id"]
    assert (lines["Lotte de Visser"]["dossier_count"], lines["Lotte de Visser"]["archived_count"]) == (1, 0)
    # only the students with an archived dossier, within what the caller may see
    _, page = await world.call("GET", "/v1/overviews/students?archived=true", mentor_a, expect=200)
    assert [x["name"] for x in page["students"]] == ["Sem de Bakker"] and page["total"] == 1
    _, page = await world.call("POST", "/v1/overviews/students/search", world.as_counsellor(school),
                               json={"archived": True}, expect=200)
    assert [x["name"] for x in page["students"]] == ["Sem de Bakker", "Noor de Dijk"]
    status, _ = await world.call("POST", "/v1/overviews/students/search", mentor_a, json={"archived": "ja"})
    assert status == 422
    # every dossier of the student, the archived one last; the mentor reactivates it
    _, dossiers = await world.call("GET", f"/v1/students/{s1.student_id}/dossiers", mentor_a, expect=200)
    assert [(x["id"], x["archived"]) for x in dossiers["dossiers"]] == [(first["id"], False), (second["id"], True)]
    await world.act(second["id"], "reactivate", mentor_a)
    _, page = await world.call("GET", "/v1/overviews/students?archived=true", mentor_a, expect=200)
    assert page["students"] == []
