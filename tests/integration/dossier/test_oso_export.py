"""The OSO export (issue 12) of real dossiers, completed through the API: each file is valid against
the national XSD (OSO_gegevensset.xsd 2019.1), the mapped answers are at their elements, escaping
and diacritics survive; with and without the parents' reaction, with and without optional answers.
The access rules are the MBO page's: MBO staff and machine clients of the institution; another
institution's, or an unfinished dossier: 404 (problem+json); a student or mentor: 403. Each
download is in the dossier's view log. The mapping table itself: tests/unit/dossier/test_oso_mapping.py."""
from __future__ import annotations

import uuid

import pytest
from lxml import etree

from services.dossier.oso.mapping import XSD_PATH
from services.dossier.oso.mapping import NAMESPACE
from tests.integration.dossier.world import ASSESSMENT, GUIDANCE, MINOR, World, token_from

XSD = XSD_PATH
NS = {"o": NAMESPACE}
LLN = "huidigeschool/leerling"
TRICKY = 'Brouwer & <Zonen> "Ōsaka" café'


@pytest.fixture(scope="module")
def schema():
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema(str(XSD))


def oso_url(dossier_id) -> str:
    return f"/v1/mbo/dossiers/{dossier_id}/oso"


async def export(world: World, dossier_id, headers: dict, schema) -> etree._Element:
    r = await world.client.get(oso_url(dossier_id), headers=headers)
    body = await r.read()
    assert r.status == 200, body
    assert r.content_type == "application/xml" and r.charset == "utf-8"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    schema.validate(body.decode("utf-8"))  # raises with the reason when the file is not valid
    return etree.fromstring(body)


def at(doc: etree._Element, path: str) -> list[str]:
    return [e.text for e in doc.xpath("/o:dossier/" + "/".join(f"o:{p}" for p in path.split("/")), namespaces=NS)]


async def test_a_full_dossier_with_the_parents_reaction(world: World, schema):
    school, mbo = await world.school(parent_rule="inspection"), await world.mbo()
    s = await world.student(school, born=MINOR, roepnaam="Zoë", achternaam="Brouwer")
    d = await world.create(s, mbo)
    optional = {
        "personal_details": {"roepnaam": "Zoë", "voornaam": "Zoë Ångström", "initials": "Z. Å.",
                             "tussenvoegsel": "van 't", "achternaam": TRICKY, "geslacht": "vrouw",
                             "phone": "030-1234567", "phone_secret": False, "mobile": "06-12345678",
                             "mobile_secret": True},
        "competences": {"strengths": "Plannen & <organiseren>", "areas_to_improve": "Presenteren",
                        "learning_style": "Door te doen"},
        "internships_work_training": {"stage": "Kapsalon Één, 2 weken", "work_experience": "Vakkenvuller",
                                      "certificaat": "EHBO"},
    }
    await world.fill_part_a(s, d, mbo, **optional)
    await world.act(d["id"], "submit", world.as_student(s), json={"mentor_id": str(s.klass.mentors[0].staff_id)})
    mentor = world.as_mentor(s.klass.mentors[0])
    await world.save_b(d["id"], "guidance", {**GUIDANCE, "contactleerplicht": True,
                                             "contactleerplicht_explanation": "Eén gesprek"}, mentor)
    await world.save_b(d["id"], "assessment_advice", {
        **ASSESSMENT, "advies": "positive_with_concerns", "aandachtspunten": "Let op \"planning\" & <rust>",
        "contactnodig": True}, mentor)
    await world.act(d["id"], "send-part-b", mentor)
    parent = f"ouder-{uuid.uuid4().hex[:8]}@example.nl"
    await world.act(d["id"], "parent-link", world.as_student(s), json={"parent_email": parent})
    token = token_from((await world.mails_to(parent))[-1])
    seen = await (await world.client.get("/v1/parent/dossier", headers={"X-Parent-Token": token})).json()
    r = await world.client.post("/v1/parent/decision", headers={"X-Parent-Token": token, "If-Match": seen["etag"]},
                                json={"decision": "objection", "remark": "Wij twijfelen & willen <praten>."})
    assert r.status == 200
    done = await world.act(d["id"], "complete", world.as_student(s))
    assert done["state"] == "completed"

    staff = world.as_mbo(mbo)
    doc = await export(world, d["id"], staff, schema)
    view = await world.get(d["id"], staff)
    student = view["student"]
    assert at(doc, f"{LLN}/achternaam") == [TRICKY]
    assert at(doc, f"{LLN}/voornaam") == ["Zoë", "Ångström"] and at(doc, f"{LLN}/voorletters-1") == ["Z.Å."]
    assert at(doc, f"{LLN}/voorvoegsel") == ["van 't"] and at(doc, f"{LLN}/roepnaam") == ["Zoë"]
    assert at(doc, f"{LLN}/geboortedatum") == [MINOR.isoformat()]
    assert at(doc, f"{LLN}/leerlingid") == [student["student_number"]]
    personal = view["part_a"]["personal_details"]  # phone numbers as the form keeps them (+31...)
    assert at(doc, f"{LLN}/communicatielijst/communicatie/nummer") == [personal["phone"], personal["mobile"],
                                                                      student["email"]]
    assert at(doc, f"{LLN}/communicatielijst/communicatie/geheim") == ["false", "true"]
    assert at(doc, "huidigeschool/naam") == [school.name] and at(doc, "huidigeschool/brincode") == ["12AB"]
    assert at(doc, f"{LLN}/competenties/competentiebeschrijving") == ["Plannen & <organiseren>", "Presenteren",
                                                                      "Door te doen"]
    assert at(doc, f"{LLN}/stage/functierol") == ["Kapsalon Één, 2 weken"] and at(doc, f"{LLN}/certificaat") == ["EHBO"]
    assert at(doc, f"{LLN}/schoolloopbaanlijst/schoolloopbaan/groepscode") == [s.klass.name]
    assert at(doc, f"{LLN}/schoolloopbaanlijst/schoolloopbaan/jaargroep") == ["14"]
    assert at(doc, f"{LLN}/overstapadvies/aandachtspunten") == ['Let op "planning" & <rust>']
    assert at(doc, f"{LLN}/overstapadvies/contactpersoon") == [ASSESSMENT["contactpersoon"]]
    assert at(doc, f"{LLN}/overstapadvies/contactnodig") == ["true"]
    assert at(doc, f"{LLN}/verzuim/contactleerplicht") == ["true"]
    assert mbo.programme_name in at(doc, f"{LLN}/overigvombo/keuzevervolgopleiding")[0]
    assert at(doc, f"{LLN}/overigvombo/beroepskeuzetest") == ["true"]
    assert at(doc, "inzage/inzage") == ["true"] and at(doc, "inzage/akkoord") == ["Nee"]
    assert at(doc, "inzage/redennietakkoord") == ["Wij twijfelen & willen <praten>."]
    text = etree.tostring(doc, encoding="unicode")
    for absent in ("Vakkenvuller", "Eén gesprek", "Zorgcoördinator", "Hockey"):  # no OSO element: left out
        assert absent not in text, absent
    # the download is a view of the dossier, in its log under the MBO
    async with world.db.acquire() as conn:
        rows = await conn.fetch("SELECT actor_role, purpose FROM audit_log WHERE dossier_id = $1 AND what = "
                                "'dossier:oso'", uuid.UUID(d["id"]))
    assert [(r["actor_role"], r["purpose"]) for r in rows] == [("mbo_staff", "view")]


async def test_a_plain_dossier_without_parents_and_optional_answers(world: World, schema):
    school, mbo = await world.school(), await world.mbo()
    s = await world.student(school)  # an adult at a school whose parents have no say
    d = await world.to_completed(s, mbo)
    client = world.as_client(mbo, scope="dossiers:read")
    doc = await export(world, d["id"], client, schema)
    assert at(doc, f"{LLN}/achternaam") == ["Winter"] and at(doc, f"{LLN}/roepnaam") == ["Roos"]
    assert at(doc, "inzage/voorlopigdossier") == ["false"] and at(doc, "inzage/inzage") == ["false"]
    assert at(doc, "inzage/akkoord") == [] and at(doc, "inzage/redennietakkoord") == []
    assert at(doc, f"{LLN}/overstapadvies/contactnodig") == ["false"]
    assert at(doc, f"{LLN}/verzuim/contactleerplicht") == ["false"], "nee is an answer"
    for absent in ("stage", "certificaat", "competenties[3]"):  # optional answers not given
        assert not doc.xpath(f"/o:dossier/o:huidigeschool/o:leerling/o:{absent.replace('/', '/o:')}", namespaces=NS)
    async with world.db.acquire() as conn:
        who = await conn.fetchval("SELECT actor_role FROM audit_log WHERE dossier_id = $1 AND what = 'dossier:oso'",
                                  uuid.UUID(d["id"]))
    assert who == "client"


async def test_only_the_institution_gets_it_and_only_completed(world: World):
    school, mbo, other = await world.school(), await world.mbo(), await world.mbo()
    done = await world.to_completed(await world.student(school), mbo)
    s = await world.student(school)
    unfinished = await world.to_agreement(s, mbo)
    for dossier_id, headers in ((done["id"], world.as_mbo(other)), (done["id"], world.as_client(other)),
                                (unfinished["id"], world.as_mbo(mbo)), (str(uuid.uuid4()), world.as_mbo(mbo)),
                                ("geen-id", world.as_mbo(mbo))):
        r = await world.client.get(oso_url(dossier_id), headers=headers)
        assert r.status == 404 and r.content_type == "application/problem+json", dossier_id
        assert (await r.json())["detail"]
    for headers in (world.as_student(s), world.as_mentor(s.klass.mentors[0]), world.as_counsellor(school)):
        r = await world.client.get(oso_url(done["id"]), headers=headers)
        assert r.status == 403
    r = await world.client.get(oso_url(done["id"]), headers=world.as_client(mbo, scope="dossiers:handle"))
    assert r.status == 403
    r = await world.client.get(oso_url(done["id"]))
    assert r.status == 401
    async with world.db.acquire() as conn:
        seen = await conn.fetchval("SELECT count(*) FROM audit_log WHERE dossier_id = ANY($1::uuid[]) AND what = "
                                   "'dossier:oso'", [uuid.UUID(done["id"]), uuid.UUID(unfinished["id"])])
    assert seen == 0, "nothing shown, nothing logged"


async def test_a_school_without_brin_gets_a_problem_not_an_invalid_file(world: World, schema):
    school, mbo = await world.school(), await world.mbo()
    d = await world.to_completed(await world.student(school), mbo)
    async with world.db.acquire() as conn:  # completed while the school had no BRIN yet
        await conn.execute("UPDATE dossiers SET final = jsonb_set(final, '{student,school_brin}', 'null') "
                           "WHERE id = $1", uuid.UUID(d["id"]))
    doc = await export(world, d["id"], world.as_mbo(mbo), schema)
    assert at(doc, "huidigeschool/brincode") == ["12AB"], "the school's BRIN as it is now"
    async with world.db.acquire() as conn:
        await conn.execute("UPDATE schools SET brin = NULL WHERE school_id = $1", school.school_id)
    r = await world.client.get(oso_url(d["id"]), headers=world.as_mbo(mbo))
    problem = await r.json()
    assert r.status == 409 and problem["code"] == "oso-incomplete" and "BRIN" in problem["detail"]
