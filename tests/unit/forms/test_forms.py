"""Unit tests of the dossier form definitions: validation, progress, conditions, schema, versions."""

import json

import pytest
from pydantic import ValidationError

from shared.forms import form_2026
from shared.forms.model import (
    Condition,
    FieldType,
    Form,
    FormField,
    FormNotFound,
    FormRegistry,
    InvalidValue,
    Section,
    UnknownSection,
    form_schema,
    get_form,
    missing_required,
    normalise_phone,
    parse_date,
    part_progress,
    progress_by_section,
    school_year_on,
    section_progress,
    validate_section,
)

PART_A = get_form("part_a", "2026-2027")
PART_B = get_form("part_b", "2026-2027")

PROGRAMME = {"institution_id": "mbo-utrecht", "programme_id": "jur-sec-4-bol", "crebo": "25655"}

COMPLETE_PART_A = {
    "personal_details": {
        "roepnaam": "Roos",
        "voornaam": "Rosalie Anna",
        "initials": "R.A.",
        "achternaam": "Winter",
        "tussenvoegsel": "de",
        "geslacht": "vrouw",
        "phone": "030-1234567",
        "phone_secret": "nee",
    },
    "family_living_leisure": {"living_situation": "parents", "leisure": "Hockey", "side_job": False},
    "competences": {"strengths": "Plannen", "areas_to_improve": "Presenteren"},
    "internships_work_training": {},
    "support": {"support_received": False, "support_needed": False},
    "previous_school": {"learning_track": "kb", "profile": "Economie en ondernemen", "diploma_expected": True},
    "choice_preparation": {
        "beroepskeuzetest": True,
        "lobdossier": True,
        "portfolio": False,
        "pop": False,
        "motivatiebrief": True,
        "open_day": False,
    },
    "motivation": {"motivation": "Ik wil juridisch werken.", "expectations": "Veel leren."},
    "follow_up_programme": {"keuzevervolgopleiding": PROGRAMME, "first_choice": True},
}

GUIDANCE_ALL_NO = {
    f.id: False for f in PART_B.section("guidance").fields if f.type == FieldType.YES_NO
}
ASSESSMENT_BASE = {"argumentatie": "Past goed bij haar.", "advies": "positive", "opp": False, "contactnodig": False}


# --------------------------------------------------------------------------- content


def test_part_a_sections_follow_the_manual():
    titles = [s.title for s in PART_A.sections]
    assert titles == [
        "Persoonlijke gegevens",
        "Familie, wonen en vrije tijd",
        "Competenties",
        "Stage, werk en trainingen",
        "Ondersteuning",
        "School van herkomst",
        "Voorbereiding keuze",
        "Motivatie",
        "Vervolgopleiding",
    ]
    assert [s.title for s in PART_A.sections if s.group == "Vervolgkeuze"] == titles[-3:]
    geslacht = PART_A.section("personal_details").field("geslacht")
    assert [o.label for o in geslacht.options] == ["Man", "Vrouw", "Anders", "Zeg ik liever niet"]


def test_part_b_has_every_question_of_the_manual_screen():
    guidance = PART_B.section("guidance")
    assert guidance.part == "part_b_student"
    yes_no = [f for f in guidance.fields if f.type == FieldType.YES_NO]
    assert len(yes_no) == 9 and all(f.required for f in yes_no)
    explanations = [f for f in guidance.fields if f.type == FieldType.TEXTAREA]
    assert explanations and all(not f.required and f.visible_when for f in explanations)
    assessment = PART_B.section("assessment_advice")
    assert assessment.part == "part_b_dossier"
    assert {"argumentatie", "advies", "opp", "contactpersoon", "functie", "contactemail",
            "contacttelefoon", "available_on", "contactnodig"} <= {f.id for f in assessment.fields}
    assert assessment.field("argumentatie").required and assessment.field("contactnodig").required


@pytest.mark.parametrize("word", ["religie", "geloof", "etniciteit", "afkomst", "diagnose", "medicijn", "ziekte"])
def test_no_question_asks_for_data_a_transfer_report_may_not_hold(word):
    labels = [f.label.lower() for form in (PART_A, PART_B) for s in form.sections for f in s.fields]
    assert not [label for label in labels if word in label and "ziekteverzuim" not in label]


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("06-12345678", "+31612345678"),
        ("06 1234 5678", "+31612345678"),
        ("0612345678", "+31612345678"),
        ("+31612345678", "+31612345678"),
        ("+31 6 12345678", "+31612345678"),
        ("+31 (0)6 12345678", "+31612345678"),
        ("+31 06 12345678", "+31612345678"),
        ("0031612345678", "+31612345678"),
        ("010-1234567", "+31101234567"),
        ("(030) 123 45 67", "+31301234567"),
        ("+32 2 123 45 67", "+3221234567"),
        ("+49 30 12345678", "+493012345678"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["12345", "06-1234567", "06-123456789", "+316123456789", "+3161234567", "612345678", "+0612345678",
            "06-1234567a", "+31 6 1234 5678 ext 2", "+1234567", "0000000000"],
)
def test_bad_phone_numbers_are_refused_in_dutch(raw):
    with pytest.raises(InvalidValue, match="geldig telefoonnummer"):
        normalise_phone(raw)


@pytest.mark.parametrize("raw", ["2026-12-31", "31-12-2026", "31/12/2026", "31.12.2026"])
def test_dates_in_iso_or_dutch_notation(raw):
    assert parse_date(raw).isoformat() == "2026-12-31"


@pytest.mark.parametrize("raw", ["2026-02-30", "31-13-2026", "morgen", "20261231", 20261231])
def test_bad_dates(raw):
    with pytest.raises(InvalidValue, match="geldige datum"):
        parse_date(raw)


@pytest.mark.parametrize(
    "section, answers, field, message",
    [
        ("personal_details", {"roepnaam": 12}, "roepnaam", "Vul hier tekst in."),
        ("personal_details", {"roepnaam": "x" * 51}, "roepnaam", "Gebruik hoogstens 50 tekens (nu 51)."),
        ("personal_details", {"phone_secret": "misschien"}, "phone_secret", "Kies ja of nee."),
        ("personal_details", {"phone_secret": 1}, "phone_secret", "Kies ja of nee."),
        ("personal_details", {"geslacht": "m"}, "geslacht", "Kies een van de mogelijkheden."),
        ("personal_details", {"phone": "bel me"}, "phone", "Vul een geldig telefoonnummer in"),
        ("personal_details", {"phone": 612345678}, "phone", "Vul een geldig telefoonnummer in"),
        ("personal_details", {"shoe_size": "42"}, "shoe_size", "Deze vraag hoort niet bij dit onderdeel."),
        ("choice_preparation", {"open_day": True, "open_day_date": "gisteren"}, "open_day_date", "Vul een geldige datum in"),
        ("follow_up_programme", {"keuzevervolgopleiding": "juridisch"}, "keuzevervolgopleiding", "Kies een opleiding."),
        ("follow_up_programme", {"keuzevervolgopleiding": {**PROGRAMME, "crebo": "123"}}, "keuzevervolgopleiding",
         "Een crebonummer bestaat uit 5 cijfers."),
        ("follow_up_programme", {"keuzevervolgopleiding": {"kind": "vwo", "institution_id": "x"}},
         "keuzevervolgopleiding", "Kies een mbo-opleiding of een vervolgkeuze voor havo of vmbo."),
        ("follow_up_programme", {"keuzevervolgopleiding": {"kind": "havo"}}, "keuzevervolgopleiding", "Kies een school."),
        ("follow_up_programme", {"keuzevervolgopleiding": {**PROGRAMME, "price": 1}}, "keuzevervolgopleiding",
         "De opleidingskeuze bevat onbekende gegevens."),
    ],
)
def test_bad_values_give_dutch_errors_per_field(section, answers, field, message):
    form = PART_A
    cleaned, errors = validate_section(form, section, answers)
    assert errors[field].startswith(message)
    assert field not in cleaned


def test_bad_email_and_long_text_in_part_b():
    cleaned, errors = validate_section(
        PART_B, "assessment_advice", {"contactemail": "geen-adres", "advies": "doubt", "aandachtspunten": "x" * 281}
    )
    assert errors == {
        "contactemail": "Vul een geldig e-mailadres in, bijvoorbeeld naam@school.nl.",
        "aandachtspunten": "Gebruik hoogstens 280 tekens (nu 281).",
    }
    assert cleaned == {"advies": "doubt"}


def test_cleaning_normalises_values():
    cleaned, errors = validate_section(
        PART_A,
        "personal_details",
        {"roepnaam": "  Roos  ", "tussenvoegsel": "   ", "phone": "06-12345678", "phone_secret": "Ja", "geslacht": "vrouw"},
    )
    assert errors == {}
    assert cleaned == {
        "roepnaam": "Roos",
        "tussenvoegsel": None,
        "phone": "+31612345678",
        "phone_secret": True,
        "geslacht": "vrouw",
    }


def test_email_is_normalised():
    cleaned, errors = validate_section(PART_B, "assessment_advice", {"contactemail": " J.Jansen@School.NL "})
    assert errors == {} and cleaned == {"contactemail": "J.Jansen@school.nl"}


@pytest.mark.parametrize(
    "raw, expected",
    [
        (PROGRAMME, {"kind": "mbo", **PROGRAMME}),
        ({"kind": "mbo", "institution_id": 17, "programme_id": "p", "crebo": 25655},
         {"kind": "mbo", "institution_id": "17", "programme_id": "p", "crebo": "25655"}),
        ({"kind": "havo", "institution_id": "lyceum"}, {"kind": "havo", "institution_id": "lyceum"}),
        ({"kind": "vmbo", "institution_id": "vmbo-x", "programme_id": "gt"},
         {"kind": "vmbo", "institution_id": "vmbo-x", "programme_id": "gt"}),
    ],
)
def test_programme_choice(raw, expected):
    cleaned, errors = validate_section(PART_A, "follow_up_programme", {"keuzevervolgopleiding": raw})
    assert errors == {} and cleaned["keuzevervolgopleiding"] == expected


def test_date_is_stored_as_iso_text():
    cleaned, errors = validate_section(PART_A, "choice_preparation", {"open_day": "ja", "open_day_date": "7-3-2027"})
    assert errors == {} and cleaned["open_day_date"] == "2027-03-07"


def test_hidden_fields_are_cleared_and_do_not_complain():
    answers = {"support_received": False, "support_received_description": "x" * 5000}
    cleaned, errors = validate_section(PART_A, "support", answers)
    assert errors == {}
    assert cleaned == {"support_received": False, "support_received_description": None}


def test_unknown_section_is_refused():
    with pytest.raises(UnknownSection, match="bestaat niet"):
        validate_section(PART_A, "hobbies", {})


# --------------------------------------------------------------------------- progress


@pytest.mark.parametrize(
    "answers, percent",
    [
        ({}, 0),
        ({"roepnaam": "Roos"}, 14),  # 1 of 7 required
        ({"roepnaam": "Roos", "voornaam": "Rosalie", "initials": "R.", "achternaam": "Winter"}, 57),
        ({"roepnaam": "Roos", "geslacht": "onbekend", "phone": "06-12345678",
          "voornaam": "Rosalie", "initials": "R.", "achternaam": "Winter"}, 85),  # 6 of 7: rounded down
        (COMPLETE_PART_A["personal_details"], 100),
        # a mobile number makes "geheim?" required: 7 of 8
        ({**COMPLETE_PART_A["personal_details"], "mobile": "0612345678"}, 87),
        ({**COMPLETE_PART_A["personal_details"], "mobile": "0612345678", "mobile_secret": True}, 100),
        # an invalid value does not count as answered
        ({**COMPLETE_PART_A["personal_details"], "phone": "onbekend"}, 85),
    ],
)
def test_section_progress(answers, percent):
    assert section_progress(PART_A, "personal_details", answers) == percent


def test_section_without_required_fields_is_complete():
    assert section_progress(PART_A, "internships_work_training", {}) == 100
    assert section_progress(PART_A, "internships_work_training", {"stage": "Bakker"}) == 100


def test_condition_required_field_counts_only_when_its_condition_holds():
    assert section_progress(PART_A, "support", {"support_received": False, "support_needed": False}) == 100
    assert section_progress(PART_A, "support", {"support_received": True, "support_needed": False}) == 66
    assert section_progress(
        PART_A, "support", {"support_received": True, "support_received_description": "Bijles", "support_needed": False}
    ) == 100


def test_whole_part_a_progress_and_missing():
    assert missing_required(PART_A, "part_a", COMPLETE_PART_A) == {}
    assert set(progress_by_section(PART_A, COMPLETE_PART_A).values()) == {100}
    incomplete = {**COMPLETE_PART_A, "motivation": {"motivation": "Leuk"}}
    assert missing_required(PART_A, "part_a", incomplete) == {"motivation": ["expectations"]}
    assert 90 <= part_progress(PART_A, "part_a", incomplete) < 100
    assert part_progress(PART_A, "part_a", {}) == 0


def test_missing_required_of_empty_part_a_lists_every_section_with_required_fields():
    missing = missing_required(PART_A, "part_a", {})
    assert "internships_work_training" not in missing
    assert missing["personal_details"] == [
        "roepnaam", "voornaam", "initials", "achternaam", "geslacht", "phone", "phone_secret"
    ]
    assert missing["follow_up_programme"] == ["keuzevervolgopleiding", "first_choice"]


# --------------------------------------------------------------------------- OPP and contact


CONTACT_FIELDS = ["contactpersoon", "contactemail", "contacttelefoon"]


@pytest.mark.parametrize(
    "opp, contactnodig, missing",
    [
        (False, False, []),
        (True, False, CONTACT_FIELDS),
        (False, True, CONTACT_FIELDS),
        (True, True, CONTACT_FIELDS),
    ],
)
def test_contact_fields_are_required_when_opp_or_contact_is_ja(opp, contactnodig, missing):
    answers = {**ASSESSMENT_BASE, "opp": opp, "contactnodig": contactnodig}
    expected = {"assessment_advice": missing} if missing else {}
    assert missing_required(PART_B, "part_b_dossier", {"assessment_advice": answers}) == expected


def test_opp_contact_complete_without_function():
    answers = {
        **ASSESSMENT_BASE,
        "opp": "ja",
        "contactpersoon": "J. Jansen",
        "contactemail": "j.jansen@school.nl",
        "contacttelefoon": "06-12345678",
    }
    assert section_progress(PART_B, "assessment_advice", answers) == 100
    assert section_progress(PART_B, "assessment_advice", {**answers, "contactpersoon": ""}) == 85  # 6 of 7


def test_opp_ja_lowers_progress_until_contact_is_given():
    assert section_progress(PART_B, "assessment_advice", ASSESSMENT_BASE) == 100
    assert section_progress(PART_B, "assessment_advice", {**ASSESSMENT_BASE, "opp": True}) == 57  # 4 of 7


def test_concerns_are_required_for_a_positive_advice_with_concerns():
    answers = {**ASSESSMENT_BASE, "advies": "positive_with_concerns"}
    assert missing_required(PART_B, "part_b", {"guidance": GUIDANCE_ALL_NO, "assessment_advice": answers}) == {
        "assessment_advice": ["aandachtspunten"]
    }


def test_part_b_parts_are_checked_separately_and_together():
    answers = {"guidance": {}, "assessment_advice": ASSESSMENT_BASE}
    assert list(missing_required(PART_B, "part_b_student", answers)) == ["guidance"]
    assert missing_required(PART_B, "part_b_dossier", answers) == {}
    assert list(missing_required(PART_B, "part_b", answers)) == ["guidance"]
    assert missing_required(PART_B, "part_b", {"guidance": GUIDANCE_ALL_NO, "assessment_advice": ASSESSMENT_BASE}) == {}


# --------------------------------------------------------------------------- schema


def test_form_schema_is_json_and_describes_conditions():
    schema = json.loads(json.dumps(form_schema(PART_B)))
    assert schema["kind"] == "part_b" and schema["school_year"] == "2026-2027"
    assert schema["parts"] == {"part_b_student": "Leerling-specifiek", "part_b_dossier": "Dossier-specifiek"}
    fields = {f["id"]: f for s in schema["sections"] for f in s["fields"]}
    assert fields["contactpersoon"]["required_when"] == {
        "any_of": [{"field": "opp", "equals": True}, {"field": "contactnodig", "equals": True}]
    }
    assert fields["advies"]["options"][1] == {"value": "positive_with_concerns", "label": "Positief, met aandachtspunten"}
    assert fields["contacttelefoon"]["type"] == "phone"
    schema_a = form_schema(PART_A)
    flags = {s["id"]: s["has_required_fields"] for s in schema_a["sections"]}
    assert flags["internships_work_training"] is False and flags["personal_details"] is True
    groups = {s["id"]: s["group"] for s in schema_a["sections"]}
    assert groups["motivation"] == "Vervolgkeuze" and groups["support"] is None


# --------------------------------------------------------------------------- definitions and versions


def _tiny_form(kind, year, title="Formulier"):
    part = "part_a" if kind == "part_a" else "part_b_dossier"
    section = Section(id="s", title="S", part=part, fields=(FormField(id="f", label="F", type="text"),))
    return Form(id=f"{kind}-{year}", kind=kind, school_year=year, title=title, sections=(section,))


def test_registry_falls_back_to_the_latest_earlier_version():
    registry = FormRegistry([_tiny_form("part_a", "2026-2027"), _tiny_form("part_a", "2028-2029")])
    assert registry.get("part_a", "2026-2027").school_year == "2026-2027"
    assert registry.get("part_a", "2027-2028").school_year == "2026-2027"
    assert registry.get("part_a", "2028-2029").school_year == "2028-2029"
    assert registry.get("part_a", "2035-2036").school_year == "2028-2029"
    assert registry.school_years("part_a") == ["2026-2027", "2028-2029"]
    with pytest.raises(FormNotFound, match="Er is geen formulier voor deel A in schooljaar 2025-2026"):
        registry.get("part_a", "2025-2026")
    with pytest.raises(FormNotFound):
        registry.get("part_b", "2026-2027")


def test_shipped_forms_serve_later_school_years():
    assert get_form("part_a", "2031-2032") is PART_A
    assert get_form("part_b", "2027-2028") is PART_B
    assert form_2026.FORMS == (PART_A, PART_B)


@pytest.mark.parametrize("year", ["2026", "2026-2028", "26-27", "", "2026/2027"])
def test_bad_school_year_is_refused(year):
    with pytest.raises(ValueError, match="Ongeldig schooljaar"):
        FormRegistry().get("part_a", year)


def test_a_school_year_is_registered_once():
    registry = FormRegistry([_tiny_form("part_a", "2026-2027")])
    with pytest.raises(ValueError):
        registry.register(_tiny_form("part_a", "2026-2027"))


@pytest.mark.parametrize(
    "day, year", [("2026-07-31", "2025-2026"), ("2026-08-01", "2026-2027"), ("2027-01-15", "2026-2027")]
)
def test_school_year_on(day, year):
    from datetime import date

    assert school_year_on(date.fromisoformat(day)) == year


@pytest.mark.parametrize(
    "build",
    [
        lambda: FormField(id="f", label="F", type="choice"),  # choice without options
        lambda: FormField(id="f", label="F", type="yes_no", max_length=3),
        lambda: FormField(id="Bad-Id", label="F", type="text"),
        lambda: Condition(field="opp"),  # neither equals nor answered
        lambda: Condition(field="opp", equals=True, answered=True),
        lambda: Condition(any_of=()),
        lambda: Section(
            id="s", title="S", part="part_a",
            fields=(FormField(id="f", label="F", type="text", required_when=Condition(field="nope", equals=True)),),
        ),
        lambda: Section(
            id="s", title="S", part="part_a",
            fields=(FormField(id="f", label="F", type="text"), FormField(id="f", label="G", type="text")),
        ),
        lambda: Form(
            id="x", kind="part_b", school_year="2026-2027", title="X", sections=(PART_A.sections[0],)
        ),
    ],
)
def test_inconsistent_definitions_are_refused(build):
    with pytest.raises(ValidationError):
        build()


def test_definitions_can_be_loaded_from_json_data():
    data = json.loads(json.dumps(form_2026.PART_B_2026.model_dump(mode="json")))
    assert Form.model_validate(data) == PART_B
