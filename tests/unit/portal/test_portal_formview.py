"""Pages from the form definition: posted values to answers, answers to fields and to reading text,
the programme list from identity's catalogue, and the dossier's section menu."""
from __future__ import annotations

import json
import uuid

from multidict import MultiDict, MultiDictProxy

from services.portal.formview import Catalogue, DossierView, choice_label, decode_programme, fields_for, parse_section, \
    readable
from shared.forms.model import get_form

PART_A = get_form("part_a", "2026-2027")
PART_B = get_form("part_b", "2026-2027")
INST, PROG = str(uuid.uuid4()), str(uuid.uuid4())
INSTITUTIONS = [{"school_id": INST, "kind": "mbo", "name": "MBO Utrecht", "city": "Utrecht",
                 "locations": [{"location_id": "L1", "name": "Australiëlaan", "address": "Australiëlaan 23"}],
                 "programmes": [{"programme_id": PROG, "name": "Juridisch secretaresse", "crebo": "25196",
                                 "level": 4, "pathway": "BOL", "location_id": "L1"}]}]


def post(**values) -> MultiDictProxy:
    return MultiDictProxy(MultiDict(values))


def test_posted_section_becomes_typed_answers_with_every_field() -> None:
    answers = parse_section(PART_A, "family_living_leisure", post(living_situation="parents", leisure=" Hockey ",
                                                                   side_job="nee"))
    assert answers == {"living_situation": "parents", "leisure": "Hockey", "side_job": False,
                       "side_job_description": None}
    assert parse_section(PART_A, "support", post(support_received="ja"))["support_received"] is True


def test_programme_choice_round_trips_through_the_select_value() -> None:
    catalogue = Catalogue.from_institutions(INSTITUTIONS)
    [(group, options)] = catalogue.groups()
    value, label = options[0]
    assert group == "MBO Utrecht (Utrecht)"
    assert "Juridisch secretaresse (4 - BOL - Australiëlaan 23 - 25196)" == label
    decoded = decode_programme(value)
    assert decoded == {"kind": "mbo", "institution_id": INST, "programme_id": PROG, "crebo": "25196"}
    assert catalogue.encode(decoded) == value
    assert decode_programme("") is None
    assert decode_programme("rubbish")["kind"] == "onbekend"  # the dossier service says what is wrong


def test_fields_carry_values_errors_and_conditions() -> None:
    fields = {f["id"]: f for f in fields_for(PART_A, "family_living_leisure", {"side_job": True},
                                             {"leisure": "Dit veld is verplicht."})}
    assert fields["side_job"]["value"] == "ja"
    assert fields["leisure"]["error"] == "Dit veld is verplicht."
    condition = json.loads(fields["side_job_description"]["visible_when"])
    assert condition == {"field": "side_job", "equals": True}
    assert fields["side_job_description"]["required"] is True and not fields["side_job_description"]["hidden"]


def test_reading_shows_answered_visible_questions_in_words() -> None:
    sections = readable(PART_A, "part_a", {"family_living_leisure": {"living_situation": "parents",
                                                                      "side_job": False,
                                                                      "side_job_description": "oud"}})
    family = next(s for s in sections if s["id"] == "family_living_leisure")
    assert {"label": "Waar woon je?", "value": "Bij mijn ouder(s) of verzorger(s)"} in family["rows"]
    assert {"label": "Heb je een bijbaan?", "value": "Nee"} in family["rows"]
    assert all(r["label"] != "Wat voor bijbaan heb je?" for r in family["rows"])  # hidden by its condition


def test_dossier_menu_has_percentages_groups_and_section_versions() -> None:
    view = DossierView.of({"id": "d1", "state": "part_b", "version": 7, "school_year": "2026-2027",
                           "versions": {"guidance": 3},
                           "part_a": {"competences": {"strengths": "Plannen"}},
                           "part_b_student": {"guidance": {}}, "part_b_dossier": {"assessment_advice": {}}})
    menu = {item["id"]: item for item in view.menu("part_a")}
    assert menu["competences"]["percent"] == 50
    assert menu["internships_work_training"]["percent"] is None  # nothing required: no percentage
    assert menu["motivation"]["group"] == "Vervolgkeuze"
    assert [i["group"] for i in view.menu("part_b")] == ["Leerling-specifiek", "Dossier-specifiek"]
    assert view.section_version("guidance") == 3 and view.section_version("assessment_advice") == 0
    assert view.version == 7


def test_choice_label_reads_like_the_manuals_header() -> None:
    label = choice_label({"kind": "mbo", "institution_name": "MBO Utrecht", "programme_name": "Juridisch secretaresse",
                          "level": 4, "pathway": "BOL", "crebo": "95392",
                          "location": {"address": "Australiëlaan 23"}})
    assert label == "Juridisch secretaresse (4 - BOL - Australiëlaan 23 - 95392) – MBO Utrecht"
    assert choice_label({"kind": "havo", "institution_name": "Het Voorbeeld College"}) == "HAVO – Het Voorbeeld College"
    assert choice_label(None) == ""
