"""The OSO mapping table (services/dossier/oso/mapping.py): every field of every form definition is
in it (a new field fails here until it has an OSO element or a reason), every row is sound (its
element has a place in the XSD's order, its category may be sent VO -> MBO, its conversion exists),
docs/oso.md is the table rendered, and a dossier built by hand exports to XML that the national XSD
accepts, with escaping and diacritics intact. The export of real dossiers through the API:
tests/integration/dossier/test_oso_export.py."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.dossier.oso.mapping import XSD_PATH
from services.dossier.oso import mapping
from services.dossier.oso.export import CONVERTERS, ORDER, NotExportable, build_oso_xml, leaves_of
from services.dossier.oso.mapping import (CATEGORIES, FIXED, INTAKE_FIELDS, MAPPING, NAMESPACE, all_forms,
                                          category_of, form_sources, plain, unmapped_fields)
from services.dossier.schemas import DossierView
from shared.forms.form_2026 import PART_A_2026, PART_B_2026
from shared.forms.model import FieldType, Form, FormField, FormRegistry

XSD = XSD_PATH
NS = {"o": NAMESPACE}


def test_every_field_of_every_form_is_in_the_table():
    assert unmapped_fields(all_forms()) == []


def test_a_new_field_in_the_form_shows_up():
    extra = FormField(id="favourite_colour", label="Lievelingskleur", type=FieldType.TEXT)
    personal = PART_A_2026.sections[0]
    changed = PART_A_2026.model_copy(update={
        "school_year": "2027-2028", "id": "part_a-2027-2028",
        "sections": (personal.model_copy(update={"fields": (*personal.fields, extra)}), *PART_A_2026.sections[1:])})
    registry = FormRegistry([PART_A_2026, PART_B_2026, changed])
    assert unmapped_fields(all_forms(registry)) == ["personal_details.favourite_colour"]


def test_every_row_is_sound():
    sources = form_sources(all_forms())
    for row in MAPPING:
        assert row.source in sources or row.source in INTAKE_FIELDS, f"{row.source}: neither a form field nor intake"
        if row.path is None:
            assert len(row.how) > 20, f"{row.source}: say why OSO has no element"
            continue
        assert plain(row.path) in ORDER, f"{row.path}: no place in the XSD's order"
        assert row.how in CONVERTERS, f"{row.source}: unknown conversion {row.how}"
        assert CATEGORIES[category_of(row.path)][0] != "VERBODEN", f"{row.path}: a category VO -> MBO may not send"
    for path, value, _ in FIXED:
        assert plain(path) in ORDER and value
    assert set(INTAKE_FIELDS) <= {row.source for row in MAPPING}, "every intake field has a row"
    assert len(CATEGORIES) == 16
    assert set(mapping.CONVERSIONS) == set(CONVERTERS), "every conversion is described in docs/oso.md"


def test_the_document_is_the_table():
    committed = mapping.DOC_PATH.read_text(encoding="utf-8")
    assert committed == mapping.render_markdown(), (
        "docs/oso.md is out of date: run `python -m services.dossier.oso.mapping` and commit it")
    assert "| `personal_details.roepnaam` | Roepnaam | `L/roepnaam` | cat_leerling |" in committed


def view(**overrides) -> DossierView:
    answers_a = {
        "personal_details": {"roepnaam": "Zoë", "voornaam": "Zoë Anna", "initials": "Z. A.", "tussenvoegsel": "van 't",
                             "achternaam": "Brouwer & <Zn> \"junior\"", "geslacht": "vrouw", "phone": "030-123 45 67",
                             "phone_secret": False},
        "competences": {"strengths": "Plannen & samenwerken", "areas_to_improve": "Presenteren <voor> groepen"},
        "internships_work_training": {"certificaat": "EHBO"},
        "previous_school": {"learning_track": "kb", "profile": "Economie & ondernemen"},
        "choice_preparation": {"beroepskeuzetest": True, "lobdossier": True, "portfolio": False, "pop": False,
                               "motivatiebrief": True, "open_day": False},
        "follow_up_programme": {"keuzevervolgopleiding": {"institution_id": str(uuid.uuid4())}, "first_choice": True},
    }
    data = {
        "id": uuid.uuid4(), "state": "completed", "state_label": "Afgerond", "archived": False, "version": 9,
        "etag": '"9"', "created_at": datetime(2026, 10, 1, tzinfo=UTC), "updated_at": datetime(2027, 2, 3, tzinfo=UTC),
        "school_year": "2026-2027", "form_version": "2026-2027", "part_b_form_version": "2026-2027",
        "student": {"student_id": uuid.uuid4(), "roepnaam": "Zoë", "achternaam": "Brouwer", "name": "Zoë Brouwer",
                    "full_name": "Zoë Brouwer", "class_name": "4b", "leerjaar": 4, "school_id": uuid.uuid4(),
                    "school_name": "Vmbo Het Baken & Co", "school_brin": "12AB", "school_city": "Utrecht",
                    "student_number": "40123", "date_of_birth": date(2010, 5, 17), "email": "zoe@example.nl"},
        "choice": {"kind": "mbo", "institution_name": "MBO Utrecht", "programme_name": "Juridisch secretaresse",
                   "crebo": "25655", "level": 4, "pathway": "BOL",
                   "location": {"name": "Australiëlaan", "city": "Utrecht"}},
        "mentor": None, "part_a": answers_a, "part_a_visible": True, "part_b_visible": True, "part_b_started": True,
        "part_b_student": {"guidance": {"contactleerplicht": True}},
        "part_b_dossier": {"assessment_advice": {"argumentatie": "Past goed.", "advies": "positive", "opp": False,
                                                 "contactnodig": True, "contactpersoon": "Mw. Jansen"}},
        "progress": {}, "step_progress": 100, "versions": {}, "warm_handover": False, "contact_wanted": True,
        "agreement": {"remark": None, "completed_at": datetime(2027, 2, 3, 23, 30, tzinfo=UTC),
                      "parent": {"rule": "inspection", "has_say": True, "consent_needed": False,
                                 "decision": "objection", "remark": "Wij zien het anders.",
                                 "decided_at": datetime(2027, 2, 1, 10, tzinfo=UTC)}},
        "available_actions": [],
    }
    data.update(overrides)
    return DossierView.model_validate(data)


def validate(xml: bytes):
    xmlschema = pytest.importorskip("xmlschema")
    from lxml import etree

    xmlschema.XMLSchema(str(XSD)).validate(xml.decode("utf-8"))
    return etree.fromstring(xml)


def text(doc, path: str) -> list[str]:
    return [e.text for e in doc.xpath("/o:dossier/" + "/".join(f"o:{p}" for p in path.split("/")), namespaces=NS)]


def test_a_dossier_exports_to_xml_the_xsd_accepts():
    doc = validate(build_oso_xml(view(), PART_A_2026, PART_B_2026))
    lln = "huidigeschool/leerling"
    assert text(doc, f"{lln}/achternaam") == ['Brouwer & <Zn> "junior"']  # part A's, escaped and read back
    assert text(doc, f"{lln}/voornaam") == ["Zoë", "Anna"]
    assert text(doc, f"{lln}/voorletters-1") == ["Z.A."]
    assert text(doc, f"{lln}/geslacht") == ["1"]
    assert text(doc, f"{lln}/geboortedatum") == ["2010-05-17"]
    assert text(doc, f"{lln}/leerlingid") == ["40123"]
    assert text(doc, "huidigeschool/naam") == ["Vmbo Het Baken & Co"]
    assert text(doc, "huidigeschool/brincode") == ["12AB"] and text(doc, "huidigeschool/vestigingscode") == ["00"]
    assert text(doc, f"{lln}/communicatielijst/communicatie/nummer") == ["0301234567", "zoe@example.nl"]
    assert text(doc, f"{lln}/competenties/competentiebeschrijving") == ["Plannen & samenwerken",
                                                                        "Presenteren <voor> groepen"]
    assert text(doc, f"{lln}/schoolloopbaanlijst/schoolloopbaan/jaargroep") == ["14"]
    assert text(doc, f"{lln}/schoolloopbaanlijst/schoolloopbaan/schoolsoortomschrijving") == [
        "Kaderberoepsgerichte leerweg (KB)"]
    assert text(doc, f"{lln}/overigvombo/keuzevervolgopleiding") == [
        "Juridisch secretaresse (crebo 25655, niveau 4, BOL) – MBO Utrecht, locatie Australiëlaan, Utrecht"]
    assert text(doc, f"{lln}/overstapadvies/contactnodig") == ["true"]
    assert text(doc, f"{lln}/verzuim/contactleerplicht") == ["true"]
    assert text(doc, "metadata/datum") == ["2027-02-04"], "the day of completion in the Netherlands"
    assert text(doc, "inzage/akkoord") == ["Nee"] and text(doc, "inzage/redennietakkoord") == ["Wij zien het anders."]
    assert text(doc, "metadata/categorie_uitlevering/cat_vombo") == ["VERPLICHT"]
    assert not doc.xpath("//o:stage | //o:verzorger | //o:bsn", namespaces=NS)


def test_what_has_no_element_or_no_answer_is_left_out():
    v = view()
    v.part_a["personal_details"]["mobile_secret"] = True  # a secret flag without the number: no communicatie
    del v.part_a["choice_preparation"]["pop"]  # overigvombo without a required answer: the group goes
    v.agreement.parent.decision = "consent"
    xml = build_oso_xml(v, PART_A_2026, PART_B_2026)
    doc = validate(xml)
    assert not doc.xpath("//o:overigvombo", namespaces=NS)
    assert len(doc.xpath("//o:communicatie", namespaces=NS)) == 2
    assert text(doc, "inzage/akkoord") == ["Ja"] and text(doc, "inzage/redennietakkoord") == []
    assert b"Past goed." in xml and b"positive" not in xml, "advies has no OSO element"


def test_a_dossier_without_brin_is_not_exportable():
    v = view()
    v.student.school_brin = None
    with pytest.raises(NotExportable) as err:
        leaves_of(v, PART_A_2026, PART_B_2026)
    assert err.value.missing == ["de BRIN-code van de school van herkomst"]


def test_a_form_change_without_a_row_is_not_silently_exported():
    """A field of a later form that the table does not name is not in the file (and fails the first test)."""
    extra = FormField(id="favourite_colour", label="Lievelingskleur", type=FieldType.TEXT)
    personal = PART_A_2026.sections[0]
    changed = Form.model_validate({**PART_A_2026.model_dump(), "sections": [
        {**personal.model_dump(), "fields": [*personal.model_dump()["fields"], extra.model_dump()]},
        *[s.model_dump() for s in PART_A_2026.sections[1:]]]})
    v = view()
    v.part_a["personal_details"]["favourite_colour"] = "Groen"
    assert b"Groen" not in build_oso_xml(v, changed, PART_B_2026)
