"""The one table from the dossier to the OSO data set (``OSO_gegevensset.xsd``, version 2019.1, the
VO-MBO profile): every field of the form definition (``shared/forms``) and every intake field of the
MBO page, each with its OSO element, or with ``None`` and the reason OSO has no element for it.

Data only; ``export.py`` builds the XML from it. A field the table does not mention fails
``tests/unit/dossier/test_oso_mapping.py`` (``unmapped_fields``), so a change of the form shows up here.
``docs/oso.md`` is this table rendered (``python -m services.dossier.oso.mapping`` writes it; the
same test checks it is in step).

Paths are under ``<dossier>``, with ``L`` for ``huidigeschool/leerling``. A name in brackets
(``communicatie[telefoon]``) is one element of a repeating kind: rows with the same bracket fill the
same element. ``how`` names the conversion (``export.CONVERTERS``); with ``path=None`` it is the
reason. ``fallback``: only used when an earlier row gave that element no value (the roster's name
when part A's is empty)."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from shared.forms.model import Form, FormRegistry, default_registry

# the national schema, as published by Edustandaard (edustandaard/oso-gegevensset, common/), kept
# beside the table so tests and operators validate against the same file on any machine
XSD_PATH = Path(__file__).with_name("OSO_gegevensset.xsd")

NAMESPACE = "http://www.edustandaard.nl/oso_gegevensset/2019/dossier"
STANDARD_VERSION = "2019.1"
DOC_PATH = Path(__file__).resolve().parents[3] / "docs" / "oso.md"

L = "huidigeschool/leerling"
_COMM = f"{L}/communicatielijst/communicatie"
_CAREER = f"{L}/schoolloopbaanlijst/schoolloopbaan[huidig]"
_ADVICE = f"{L}/overstapadvies"
_VOMBO = f"{L}/overigvombo"


@dataclass(frozen=True)
class Row:
    source: str            # "<section>.<field>" of the form, or "intake.<name>"
    path: str | None       # the OSO element; None: OSO has none (``how`` says why)
    how: str = "text"      # the conversion (export.CONVERTERS), or the reason when path is None
    fallback: bool = False


def _none(source: str, reason: str) -> Row:
    return Row(source, None, reason)


_NO_SUPPORT = ("OSO's onderwijsondersteuning holds documents, diagnoses and formal decisions (LWOO, TLV, OPP, "
               "arrangement, each with dates and numbers); it has no yes/no or free-text question")
_NO_MOTIVATION = "OSO has only whether there is a motivation letter (overigvombo/motivatiebrief)"

# ----------------------------------------------------------------------------------------- the table
MAPPING: tuple[Row, ...] = (
    # part A: personal details (cat_leerling)
    Row("personal_details.roepnaam", f"{L}/roepnaam"),
    Row("personal_details.voornaam", f"{L}/voornaam", "forenames"),
    Row("personal_details.initials", f"{L}/voorletters-1", "initials"),
    Row("personal_details.tussenvoegsel", f"{L}/voorvoegsel"),
    Row("personal_details.achternaam", f"{L}/achternaam"),
    Row("personal_details.geslacht", f"{L}/geslacht", "geslacht"),
    Row("personal_details.phone", f"{_COMM}[telefoon]/nummer", "phone"),
    Row("personal_details.phone_secret", f"{_COMM}[telefoon]/geheim", "boolean"),
    Row("personal_details.mobile", f"{_COMM}[mobiel]/nummer", "phone"),
    Row("personal_details.mobile_secret", f"{_COMM}[mobiel]/geheim", "boolean"),
    # family, living, leisure
    _none("family_living_leisure.living_situation",
          "OSO has only tehuis (lives in a care home); where the student lives is not that"),
    _none("family_living_leisure.leisure", "OSO has no element for leisure"),
    _none("family_living_leisure.side_job", "OSO has no element for a side job (stage is for internships)"),
    _none("family_living_leisure.side_job_description", "OSO has no element for a side job"),
    # competences (cat_vombo): one competenties element per question, its category fixed
    Row("competences.strengths", f"{L}/competenties[sterk]/competentiebeschrijving"),
    Row("competences.areas_to_improve", f"{L}/competenties[leren]/competentiebeschrijving"),
    Row("competences.learning_style", f"{L}/competenties[leerstijl]/competentiebeschrijving"),
    # internships, work, training (cat_vombo)
    Row("internships_work_training.stage", f"{L}/stage[stage]/functierol"),
    _none("internships_work_training.work_experience",
          "OSO has no element for work experience (stage is for internships)"),
    Row("internships_work_training.certificaat", f"{L}/certificaat"),
    # support
    _none("support.support_received", _NO_SUPPORT),
    _none("support.support_received_description", _NO_SUPPORT),
    _none("support.support_needed", _NO_SUPPORT),
    _none("support.support_needed_description", _NO_SUPPORT),
    # school of origin (cat_schoolloopbaan): the current year's line of the school career
    Row("previous_school.learning_track", f"{_CAREER}/schoolsoortomschrijving", "option_label"),
    Row("previous_school.profile", f"{_CAREER}/voelementomschrijving"),
    _none("previous_school.diploma_expected",
          "OSO's examenresultaat holds a result (diploma, date, outcome), not an expectation"),
    _none("previous_school.favourite_subjects",
          "OSO's resultaatvakkenvo needs DUO subject codes and results"),
    _none("previous_school.schoolloopbaan",
          "OSO's schoolloopbaan is structured (year, group, BRIN per line); the student's free text fits none"),
    # preparation of the choice (cat_vombo)
    Row("choice_preparation.beroepskeuzetest", f"{_VOMBO}/beroepskeuzetest", "boolean"),
    Row("choice_preparation.lobdossier", f"{_VOMBO}/lobdossier", "boolean"),
    Row("choice_preparation.portfolio", f"{_VOMBO}/portfolio", "boolean"),
    Row("choice_preparation.pop", f"{_VOMBO}/pop", "boolean"),
    Row("choice_preparation.motivatiebrief", f"{_VOMBO}/motivatiebrief", "boolean"),
    _none("choice_preparation.open_day", "OSO has no element for an open day"),
    _none("choice_preparation.open_day_date", "OSO has no element for an open day"),
    _none("choice_preparation.orientation", "OSO has no element for the orientation"),
    # motivation
    _none("motivation.motivation", _NO_MOTIVATION),
    _none("motivation.expectations", _NO_MOTIVATION),
    _none("motivation.fit", _NO_MOTIVATION),
    # follow-up programme (cat_vombo)
    Row("follow_up_programme.keuzevervolgopleiding", f"{_VOMBO}/keuzevervolgopleiding", "programme"),
    _none("follow_up_programme.first_choice", "OSO has no element for the order of choices"),
    # part B, student-specific guidance
    _none("guidance.support_received_dutch", _NO_SUPPORT),
    _none("guidance.support_received_maths", _NO_SUPPORT),
    _none("guidance.support_received_explanation", _NO_SUPPORT),
    _none("guidance.support_expected_dutch", _NO_SUPPORT),
    _none("guidance.support_expected_maths", _NO_SUPPORT),
    _none("guidance.support_expected_explanation", _NO_SUPPORT),
    _none("guidance.support_other", _NO_SUPPORT),
    _none("guidance.support_other_explanation", _NO_SUPPORT),
    _none("guidance.frequent_absence",
          "OSO's verzuim counts hours and frequency of absence; the form asks yes/no"),
    _none("guidance.frequent_absence_explanation", "OSO's verzuim takes explanations only as documents"),
    _none("guidance.lwoo", "OSO's lwoo block is the formal decision (start date, samenwerkingsverband, "
                           "decision number); the form asks yes/no"),
    _none("guidance.lwoo_explanation", _NO_SUPPORT),
    _none("guidance.extra_guidance", "OSO's arrangement blocks need a start date; the form asks yes/no"),
    _none("guidance.extra_guidance_explanation", _NO_SUPPORT),
    Row("guidance.contactleerplicht", f"{L}/verzuim/contactleerplicht", "boolean"),
    _none("guidance.contactleerplicht_explanation", "OSO's verzuim takes explanations only as documents"),
    # part B, this dossier: assessment and advice (cat_overstapadvies)
    Row("assessment_advice.argumentatie", f"{_ADVICE}/argumentatie"),
    _none("assessment_advice.advies",
          "OSO's advies is a DUO code of a VO school type (PO->VO); positive..negative has no code"),
    Row("assessment_advice.aandachtspunten", f"{_ADVICE}/aandachtspunten"),
    _none("assessment_advice.opp", "OSO's opp block needs the OPP's start date (and is for PO); the form "
                                   "asks yes/no (warm handover)"),
    Row("assessment_advice.contactpersoon", f"{_ADVICE}/contactpersoon"),
    _none("assessment_advice.functie", "OSO has no element for the contact person's position"),
    Row("assessment_advice.contactemail", f"{_ADVICE}/contactemail"),
    Row("assessment_advice.contacttelefoon", f"{_ADVICE}/contacttelefoon"),
    _none("assessment_advice.available_on", "OSO has no element for when the contact person is available"),
    Row("assessment_advice.contactnodig", f"{_ADVICE}/contactnodig", "boolean"),
    # the intake fields of the MBO page (the dossier service's view of the dossier)
    Row("intake.roepnaam", f"{L}/roepnaam", fallback=True),
    Row("intake.voornamen", f"{L}/voornaam", "forenames", fallback=True),
    Row("intake.tussenvoegsel", f"{L}/voorvoegsel", fallback=True),
    Row("intake.achternaam", f"{L}/achternaam", fallback=True),
    Row("intake.date_of_birth", f"{L}/geboortedatum", "date"),
    Row("intake.student_number", f"{L}/leerlingid"),
    Row("intake.email", f"{_COMM}[email]/nummer"),
    Row("intake.school_name", "huidigeschool/naam"),
    Row("intake.school_brin", "huidigeschool/brincode", "brin"),
    Row("intake.school_brin", "huidigeschool/vestigingscode", "vestiging"),
    Row("intake.school_brin", f"{_CAREER}/brincode", "brin"),
    Row("intake.school_brin", f"{_CAREER}/vestigingscode", "vestiging"),
    _none("intake.school_city", "OSO's adres needs street, house number and postcode; the place alone fits none"),
    Row("intake.school_year", f"{_CAREER}/schooljaar"),
    Row("intake.class_name", f"{_CAREER}/groepscode"),
    Row("intake.leerjaar", f"{_CAREER}/jaargroep", "jaargroep"),
    _none("intake.mentor", "OSO names a contact person (overstapadvies/contactpersoon), which the mentor "
                           "fills in part B; not the mentor as such"),
    _none("intake.programme", "the chosen programme is follow_up_programme.keuzevervolgopleiding"),
    _none("intake.warm_handover", "follows from assessment_advice.opp, which has no OSO element"),
    _none("intake.contact_wanted", "follows from assessment_advice.contactnodig, exported there"),
    _none("intake.agreement_remark", "OSO has no element for the student's remark on part B"),
    Row("intake.completed_at", "metadata/datum", "date"),
    Row("intake.parents.inspected", "inzage/inzage", "boolean"),
    Row("intake.parents.decided_at", "inzage/inzagedatum", "date"),
    Row("intake.parents.decision", "inzage/akkoord", "akkoord"),
    Row("intake.parents.remark", "inzage/redennietakkoord", "objection_remark"),
    _none("intake.parents.rule", "the school's setting (consent, inspection, none); OSO records what happened"),
    _none("intake.parents.informed_at", "when the link was sent; OSO's inzagedatum is when they reacted"),
)

# what each conversion does (export.CONVERTERS has one function per name)
CONVERSIONS: dict[str, str] = {
    "text": "as written",
    "boolean": "true / false",
    "date": "YYYY-MM-DD (a moment: its day in the Netherlands)",
    "forenames": "one voornaam element per name",
    "initials": "without spaces (R.A.)",
    "geslacht": "codelijst 14: vrouw 1, man 2, anders and onbekend 0",
    "phone": "without spaces, dashes, dots or brackets",
    "option_label": "the option's words, as the form shows them",
    "programme": "programme (crebo, level, BOL/BBL) – institution, location, place",
    "brin": "the 4-character BRIN code",
    "vestiging": "the 2 digits after a 6-character BRIN, else 00",
    "jaargroep": "codelijst 13: VO leerjaar n is 1n",
    "akkoord": "codelijst 37: consent Ja, objection Nee; asked but no reaction Onbekend",
    "objection_remark": "the parents' remark, only with an objection",
}

# what each intake source is (the MBO page's words)
INTAKE_FIELDS: dict[str, str] = {
    "intake.roepnaam": "Roepnaam (leerlingadministratie)",
    "intake.voornamen": "Voornamen (leerlingadministratie)",
    "intake.tussenvoegsel": "Tussenvoegsel (leerlingadministratie)",
    "intake.achternaam": "Achternaam (leerlingadministratie)",
    "intake.date_of_birth": "Geboortedatum",
    "intake.student_number": "Leerlingnummer",
    "intake.email": "E-mailadres",
    "intake.school_name": "School van herkomst",
    "intake.school_brin": "BRIN",
    "intake.school_city": "Plaats",
    "intake.school_year": "Schooljaar",
    "intake.class_name": "Klas",
    "intake.leerjaar": "Leerjaar",
    "intake.mentor": "Mentor",
    "intake.programme": "Opleiding (keuze)",
    "intake.warm_handover": "Warme overdracht (OPP)",
    "intake.contact_wanted": "De school wil graag contact",
    "intake.agreement_remark": "Opmerking van de leerling bij deel B",
    "intake.completed_at": "Afgerond op",
    "intake.parents.inspected": "Ouders hebben ingezien (gereageerd: ja; geen inspraak: nee)",
    "intake.parents.decided_at": "Reactie van de ouders op",
    "intake.parents.decision": "Reactie van de ouders",
    "intake.parents.remark": "Opmerking van de ouders",
    "intake.parents.rule": "Regel van de school voor ouders",
    "intake.parents.informed_at": "Ouders geïnformeerd op",
}

# the categories (codelijst 48) of a VO -> MBO transfer under the Besluit uitwisseling leer- en
# begeleidingsgegevens: what the receiving MBO may get. VERBODEN is never written (a test checks).
CATEGORIES: dict[str, tuple[str, str]] = {
    "cat_metadata": ("VERPLICHT", "the header of every OSO file"),
    "cat_ouderinzage": ("OPTIONEEL", "the parents' reaction, where they had a say"),
    "cat_school": ("VERPLICHT", "the school of origin"),
    "cat_leerling": ("VERPLICHT", "name, date of birth, student number, contact data of the student"),
    "cat_oudersverzorgers": ("VERBODEN", "the parents' own data stay with the school"),
    "cat_vve": ("VERBODEN", "pre-school education: primary education only"),
    "cat_schoolloopbaan": ("OPTIONEEL", "the current school year's class and track"),
    "cat_overstapadvies": ("OPTIONEEL", "the mentor's assessment and contact person"),
    "cat_onderwijsondersteuning": ("OPTIONEEL", "allowed; the form's support questions have no element there"),
    "cat_verzuim": ("OPTIONEEL", "contact with the attendance officer (leerplicht, RMC)"),
    "cat_eindtoetsbo": ("VERBODEN", "the primary school's final test: PO -> VO only"),
    "cat_toetsresultaten": ("VERBODEN", "tracking-system tests of primary education"),
    "cat_handelingsplannen": ("OPTIONEEL", "allowed; the dossier holds none"),
    "cat_cijferlijsten": ("OPTIONEEL", "allowed; the dossier holds no grades"),
    "cat_vombo": ("VERPLICHT", "the VO -> MBO part: choice, preparation, competences, internships, certificates"),
    "cat_bijlagedocs": ("VERBODEN", "no attachments; the PDF is fetched on its own"),
}

# the category of an element: the longest prefix of its path (brackets left out) that is named here
CATEGORY_OF_PATH: dict[str, str] = {
    "metadata": "cat_metadata",
    "overdrachtsoort": "cat_metadata",
    "inzage": "cat_ouderinzage",
    "huidigeschool": "cat_school",
    L: "cat_leerling",
    f"{L}/schoolloopbaanlijst": "cat_schoolloopbaan",
    f"{L}/overstapadvies": "cat_overstapadvies",
    f"{L}/verzuim": "cat_verzuim",
    f"{L}/certificaat": "cat_vombo",
    f"{L}/competenties": "cat_vombo",
    f"{L}/stage": "cat_vombo",
    f"{L}/overigvombo": "cat_vombo",
}


def _package_version() -> str:
    try:
        return metadata.version("doorstroom")
    except metadata.PackageNotFoundError:
        return "0"


# what every file says the same (codes from the OSO code lists where the XSD names one)
FIXED: tuple[tuple[str, str, str], ...] = (
    ("metadata/deeldossier", "LAS", "codelijst 33: the student-administration part"),
    ("metadata/pakketnaam", "Doorstroom", "the software that made the file"),
    ("metadata/pakketversie", _package_version(), "its version"),
    ("metadata/standaardversie", STANDARD_VERSION, "the XSD's version (namespace .../2019/dossier)"),
    ("metadata/validatieversie", f"{STANDARD_VERSION}.1",
     "checked against the XSD; the code lists of the XSLT are not checked"),
    *((f"metadata/categorie_uitlevering/{cat}", code, "see the categories") for cat, (code, _) in CATEGORIES.items()),
    ("metadata/overstap", "VOMBO", "codelijst 16: the kind of transfer"),
    ("overdrachtsoort", "overstapdossier", "codelijst 29"),
    ("inzage/voorlopigdossier", "false", "a completed dossier is final"),
    ("huidigeschool/aanleverpunt", "0", "the school's one delivery point"),
    (f"{_COMM}[telefoon]/soort", "telefoon", "codelijst 4"),
    (f"{_COMM}[mobiel]/soort", "telefoon", "codelijst 4 (mobile)"),
    (f"{_COMM}[email]/soort", "e-mail", "codelijst 4"),
    (f"{L}/competenties[sterk]/competentiecategorie", "Sterke punten", "the form's question"),
    (f"{L}/competenties[leren]/competentiecategorie", "Leerpunten", "the form's question"),
    (f"{L}/competenties[leerstijl]/competentiecategorie", "Leerstijl", "the form's question"),
)


# ----------------------------------------------------------------------------------------- checks
def plain(path: str) -> str:
    """The path without the bracketed names of repeating elements."""
    return "/".join(part.split("[", 1)[0] for part in path.split("/"))


def category_of(path: str) -> str:
    p = plain(path)
    best = max((k for k in CATEGORY_OF_PATH if p == k or p.startswith(k + "/")), key=len)
    return CATEGORY_OF_PATH[best]


def all_forms(registry: FormRegistry | None = None) -> list[Form]:
    registry = registry or default_registry()
    return [registry.get(kind, year) for kind in ("part_a", "part_b") for year in registry.school_years(kind)]


def form_sources(forms: list[Form]) -> dict[str, tuple[Form, object]]:
    """``section.field`` -> (form, field) for every field of the forms (the latest form wins)."""
    out: dict[str, tuple[Form, object]] = {}
    for form in forms:
        for section in form.sections:
            for f in section.fields:
                out[f"{section.id}.{f.id}"] = (form, f)
    return out


def unmapped_fields(forms: list[Form]) -> list[str]:
    """The fields of the forms the table does not mention: each needs a row (an element or a reason)."""
    mentioned = {row.source for row in MAPPING}
    return sorted(s for s in form_sources(forms) if s not in mentioned)


# ----------------------------------------------------------------------------------------- the document
def render_markdown() -> str:
    sources = form_sources(all_forms())
    lines = [
        "# OSO export: the mapping",
        "",
        "Generated from `services/dossier/oso/mapping.py` (`python -m services.dossier.oso.mapping`); "
        "`tests/unit/dossier/test_oso_mapping.py` fails when this file is not in step. Do not edit by hand.",
        "",
        "`GET /v1/mbo/dossiers/{dossier_id}/oso` (MBO staff of the institution, or its machine client with "
        "`dossiers:read`) answers a completed dossier as `application/xml`, valid against "
        f"`OSO_gegevensset.xsd` {STANDARD_VERSION} (namespace `{NAMESPACE}`). "
        "Fields without an OSO element are left out of the file; the JSON of the pull API and the PDF have them.",
        "",
        "`L` is `huidigeschool/leerling`. A name in brackets is one element of a repeating kind (rows with the "
        "same bracket fill the same element). Unanswered fields, and fields hidden by their condition, are left "
        "out; a group that lacks an element the XSD requires is left out whole.",
        "",
        "## Fields",
        "",
        "| Source | Label | OSO element | Category | Conversion or reason |",
        "|---|---|---|---|---|",
    ]
    for row in MAPPING:
        if row.source in sources:
            label = getattr(sources[row.source][1], "label")
        else:
            label = INTAKE_FIELDS.get(row.source, "")
        if row.path is None:
            element, category, how = "—", "—", f"no OSO element: {row.how}"
        else:
            element = "`" + row.path.replace(L + "/", "L/") + "`"
            category = category_of(row.path)
            how = CONVERSIONS[row.how] + (" (only when part A left it empty)" if row.fallback else "")
        lines.append(f"| `{row.source}` | {_cell(label)} | {element} | {category} | {_cell(how)} |")
    lines += ["", "## Fixed values", "", "| OSO element | Value | Why |", "|---|---|---|"]
    for path, value, why in FIXED:
        if "categorie_uitlevering" in path:
            continue
        shown = "the package's version" if path == "metadata/pakketversie" else f"`{value}`"
        lines.append(f"| `{path.replace(L + '/', 'L/')}` | {shown} | {_cell(why)} |")
    lines += ["", "## Categories (`metadata/categorie_uitlevering`, codelijst 48)", "",
              "| Category | Code | What |", "|---|---|---|"]
    for cat, (code, what) in CATEGORIES.items():
        lines.append(f"| `{cat}` | {code} | {_cell(what)} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":  # python -m services.dossier.oso.mapping: write docs/oso.md
    DOC_PATH.write_text(render_markdown(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOC_PATH}\n")
