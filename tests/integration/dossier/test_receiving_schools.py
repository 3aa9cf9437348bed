"""A receiving school of any kind (issue 11, item 5): a student applies to an MBO programme, a HAVO
or VMBO school (with a year or profile), a school that does not take part in Doorstroom, or a
school that is not in the list at all. A participating school gets the completed dossier in its
inbox (and the event); a non-participating one gets nothing, and the student and the mentor
download the PDF to hand over."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.events.identity_events import Programme, SchoolChanged
from tests.integration.dossier.world import World, beside


@dataclass
class Receiving:
    institution_id: uuid.UUID | None
    name: str
    value: dict

    def choice(self) -> dict:
        return dict(self.value)


async def receiving(world: World, kind: str, *, participates: bool = True, profile: str | None = None) -> Receiving:
    school_id, programme_id = uuid.uuid4(), uuid.uuid4()
    name = f"{kind.upper()} Lyceum {uuid.uuid4().hex[:6]}"
    programmes = [Programme(programme_id=programme_id, name=f"{kind.upper()} 4", profile=profile)] if profile else []
    await world.identity(SchoolChanged(school_id=school_id, kind=kind, name=name, city="Enschede",
                                       participates=participates, programmes=programmes))
    value = {"kind": kind, "institution_id": str(school_id)}
    if profile:
        value["programme_id"] = str(programme_id)
    return Receiving(school_id, name, value)


def typed_in(kind: str = "havo") -> Receiving:
    return Receiving(None, "Het Stedelijk", {"kind": kind, "school_name": "Het  Stedelijk", "school_city": "Zutphen"})


def receiver_headers(world: World, r: Receiving) -> dict:
    return world.issuer.headers("mbo_staff", staff_id=uuid.uuid4(), institution_id=r.institution_id,
                                name="Intake")


async def events_about(world: World, dossier_id, event_type: str) -> int:
    async with world.db.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM outbox WHERE event_type = $1 AND envelope->>'subject' = $2",
                                   event_type, str(dossier_id))


async def test_a_student_chooses_a_receiving_school_of_each_kind(world: World):
    school = await world.school()
    mbo = await world.mbo()
    havo = await receiving(world, "havo", profile="Natuur en Gezondheid")
    vmbo = await receiving(world, "vmbo", participates=False)
    for target, expected in (
            (mbo, {"kind": "mbo", "institution_name": mbo.name, "participates": True, "crebo": mbo.crebo}),
            (havo, {"kind": "havo", "institution_name": havo.name, "participates": True, "programme_name": "HAVO 4",
                    "profile": "Natuur en Gezondheid"}),
            (vmbo, {"kind": "vmbo", "institution_name": vmbo.name, "participates": False, "programme_id": None}),
            (typed_in("vmbo"), {"kind": "vmbo", "institution_id": None, "institution_name": "Het Stedelijk",
                                "institution_city": "Zutphen", "participates": False, "other_school": True})):
        student = await world.student(school)
        dossier = await world.create(student, target)
        choice = dossier["choice"]
        assert {k: choice[k] for k in expected} == expected, choice
        # the same choice saved in part A's section
        filled = await world.fill_part_a(student, dossier, target)
        assert {k: filled["choice"][k] for k in expected} == expected


async def test_a_participating_havo_school_gets_the_dossier_in_its_inbox(world: World):
    school = await world.school()
    havo = await receiving(world, "havo", profile="Economie en Maatschappij")
    student = await world.student(school)
    done = await world.to_completed(student, havo)
    assert done["state"] == "completed" and done["choice"]["participates"] is True
    staff = receiver_headers(world, havo)
    _, inbox = await world.call("GET", "/v1/mbo/dossiers", staff, expect=200)
    [item] = inbox["dossiers"]
    assert item["id"] == done["id"] and item["kind"] == "havo" and item["profile"] == "Economie en Maatschappij"
    seen = await world.get(done["id"], staff)
    assert seen["choice"]["programme_name"] == "HAVO 4"
    event = await world.event("dossier.completed", done["id"])
    assert event["data"]["programme"]["kind"] == "havo"
    assert event["data"]["institution_id"] == str(havo.institution_id)


async def test_a_school_that_does_not_take_part_gets_nothing_and_the_pdf_is_handed_over(world: World):
    school = await world.school()
    not_taking_part = await receiving(world, "havo", participates=False)
    student, other = await world.student(school), await world.student(school)
    listed = await world.to_completed(student, not_taking_part)
    typed = await world.to_completed(other, typed_in("mbo"))
    for done, target in ((listed, not_taking_part), (typed, None)):
        assert done["state"] == "completed" and done["choice"]["participates"] is False
        # nobody at that school: no event, no inbox entry, no access
        assert await events_about(world, done["id"], "dossier.completed") == 0
        assert await events_about(world, done["id"], "dossier.part_b_sent") == 1, "the outbox is the one looked at"
    staff = receiver_headers(world, not_taking_part)
    _, inbox = await world.call("GET", "/v1/mbo/dossiers", staff, expect=200)
    assert inbox["dossiers"] == [] and inbox["total"] == 0
    status, _ = await world.call("GET", f"/v1/dossiers/{listed['id']}", staff)
    assert status == 404
    assert typed["choice"]["other_school"] is True and typed["choice"]["institution_name"] == "Het Stedelijk"

    # the PDF to hand over: the student, the mentor and the counsellor; every download a recorded view
    async with beside(world, "handover") as others:
        pdf = others.document_client
        mentor = world.as_mentor(student.klass.mentors[0])
        for headers in (world.as_student(student), mentor, world.as_counsellor(school)):
            r = await pdf.get(f"/v1/dossiers/{listed['id']}/pdf", params={"part": "all"}, headers=headers)
            assert r.status == 200 and r.content_type == "application/pdf"
            assert (await r.read()).startswith(b"%PDF")
        for headers in (staff, world.as_student(other)):  # not theirs: 404, whether it exists or not
            r = await pdf.get(f"/v1/dossiers/{listed['id']}/pdf", params={"part": "all"}, headers=headers)
            assert r.status == 404 and r.content_type == "application/problem+json"
        r = await pdf.get(f"/v1/dossiers/{typed['id']}/pdf", params={"part": "all"}, headers=world.as_student(other))
        assert r.status == 200
        # before completion there is no part B to hand over
        third = await world.student(school)
        early = await world.fill_part_a(third, await world.create(third, not_taking_part), not_taking_part)
        r = await pdf.get(f"/v1/dossiers/{early['id']}/pdf", params={"part": "b"}, headers=world.as_student(third))
        assert r.status == 409 and r.content_type == "application/problem+json"
    async with world.db.acquire() as conn:
        views = await conn.fetch("SELECT actor_role FROM audit_log WHERE dossier_id = $1 AND kind = 'view' "
                                 "AND purpose = 'pdf'", uuid.UUID(listed["id"]))
    assert {v["actor_role"] for v in views} >= {"student", "mentor", "counsellor"}


async def test_a_bad_choice_is_refused_in_dutch_and_changes_nothing(world: World):
    school = await world.school()
    mbo = await world.mbo()
    havo = await receiving(world, "havo")
    student = await world.student(school)
    dossier = await world.create(student, havo)
    async with world.db.acquire() as conn:
        count = await conn.fetchval("SELECT count(*) FROM dossiers WHERE student_id = $1", student.student_id)
    cases = [
        ({"kind": "hbo", "school_name": "Saxion"}, "Kies een mbo-opleiding of een vervolgkeuze voor havo of vmbo."),
        ({"kind": "havo", "school_name": "  "}, "Vul de naam van de school in."),
        ({"kind": "havo", "school_name": "S" * 5000}, "te lang"),
        ({"kind": "havo", "school_name": "Lyceum", "school_city": "Z" * 5000}, "te lang"),
        ({"kind": "havo", "school_name": "Lyceum", "institution_id": str(havo.institution_id)}, "niet allebei"),
        ({"kind": "havo", "institution_id": str(mbo.institution_id)}, "Kies voor havo een school voor havo."),
        ({"kind": "vmbo", "institution_id": str(havo.institution_id)}, "Kies voor vmbo een school voor vmbo."),
        ({"kind": "havo", "institution_id": str(havo.institution_id), "programme_id": str(mbo.programme_id)},
         "Dit leerjaar of profiel wordt niet (meer) aangeboden"),
        ({"kind": "havo", "institution_id": str(uuid.uuid4())}, "Deze school staat niet in de lijst."),
    ]
    for choice, message in cases:
        status, body = await world.call("POST", "/v1/dossiers", world.as_student(student), json={"choice": choice})
        assert status == 422 and message.lower() in body["errors"][0]["message"].lower(), (choice, body)
        status, body = await world.call(
            "PUT", f"/v1/dossiers/{dossier['id']}/part-a/follow_up_programme", world.as_student(student),
            json={"answers": {"keuzevervolgopleiding": choice, "first_choice": True}},
            version=dossier["versions"].get("follow_up_programme", 0))
        assert status == 422, (choice, body)
        assert message.lower() in str(body["errors"]).lower(), (choice, body)
    after = await world.get(dossier["id"], world.as_student(student))
    assert after["version"] == dossier["version"] and after["choice"] == dossier["choice"]
    async with world.db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM dossiers WHERE student_id = $1", student.student_id) == count
