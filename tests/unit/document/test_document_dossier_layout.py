"""The dossier PDF: laid out from the form definition (sections in order, labels, answers in
words, unanswered optional and hidden fields left out), the manual's header, page numbers and the
moment of rendering; user text never becomes markup."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from services.document.rendering.dossier_layout import (PartNotAvailable, content_hash, dossier_document,
                                                        render_dossier_pdf)
from shared.forms.model import get_form
from tests.unit.document.sample_dossier import sample_dossier

RENDERED_AT = datetime(2027, 3, 4, 9, 30, tzinfo=UTC)  # 10:30 in Amsterdam


def _rows(document: dict) -> dict[str, str]:
    return {label: value for b in document["blocks"] if b["type"] == "rows" for label, value in b["rows"]}


def _headings(document: dict, level: int | None = None) -> list[str]:
    return [b["text"] for b in document["blocks"] if b["type"] == "heading" and level in (None, b["level"])]


def _pdf_pages(pdf: bytes) -> list[str]:
    return [re.sub(r"[ \t]+\n", "\n", p.extract_text()) for p in PdfReader(io.BytesIO(pdf)).pages]


def test_part_a_follows_the_form_sections_in_order_with_their_labels():
    document = dossier_document(sample_dossier(), "a")
    form = get_form("part_a", "2026-2027")
    section_titles = [s.title for s in form.sections]
    assert [h for h in _headings(document) if h in section_titles] == section_titles
    assert "Vervolgkeuze" in _headings(document), "the group of the last three sections has its heading"
    assert document["title"] == "Digitaal Doorstroomdossier – deel A"


def test_answers_in_words_and_unanswered_optional_or_hidden_fields_left_out():
    rows = _rows(dossier_document(sample_dossier(), "a"))
    assert rows["Is dit telefoonnummer geheim?"] == "Nee"  # False is an answer
    assert rows["Heb je een bijbaan?"] == "Ja"
    assert rows["Geslacht"] == "Vrouw"  # choice value as its Dutch label
    assert rows["Welke leerweg volg je?"] == "Kaderberoepsgerichte leerweg (KB)"
    assert rows["Wanneer was dat?"] == "23-01-2027"
    assert rows["Voor welke opleiding meld je je aan?"].startswith("Juridisch secretaresse (4 - BOL")
    assert "Mobiel nummer" not in rows  # optional, not answered
    assert "Hoe leer jij het best?" not in rows
    hidden = sample_dossier()
    hidden["part_a"]["support"]["support_received_description"] = "verborgen antwoord"
    assert "Waarbij kreeg je hulp, en wat hielp jou?" not in _rows(dossier_document(hidden, "a"))


def test_a_required_field_still_open_reads_niet_ingevuld():
    draft = sample_dossier(state="part_a", state_label="Deel A invullen")
    del draft["part_a"]["motivation"]["expectations"]
    rows = _rows(dossier_document(draft, "a"))
    assert rows["Wat verwacht je van de opleiding en van het werk later?"] == "Niet ingevuld"


def test_header_as_in_the_manual():
    header = dict(dossier_document(sample_dossier(), "b")["header"])
    assert header["Naam"] == "Roos de Winter"
    assert header["Klas"] == "4a"
    assert header["School"] == "Het Ĳsselcollege"
    assert header["Opleiding"] == "Juridisch secretaresse (4 - BOL - Australiëlaan 23 - 95392)"
    assert header["Keuze"] == "MBO Utrecht"
    other_city = sample_dossier()
    other_city["choice"]["institution_name"] = "ROC ASA"
    assert dict(dossier_document(other_city, "b")["header"])["Keuze"] == "ROC ASA (Utrecht)"


def test_part_b_has_the_student_specific_then_the_dossier_specific_part():
    document = dossier_document(sample_dossier(), "b")
    headings = _headings(document)
    assert headings.index("Leerling-specifiek") < headings.index("Begeleiding") < headings.index(
        "Dossier-specifiek") < headings.index("Inschatting en advies")
    rows = _rows(document)
    assert rows["Uw advies over deze keuze"] == "Positief, met aandachtspunten"
    assert rows["Toelichting"] == "Extra les begrijpend lezen in leerjaar 3."
    assert "Contactpersoon" not in rows


def test_a_part_the_dossier_does_not_hold_is_not_available():
    with pytest.raises(PartNotAvailable):
        dossier_document(sample_dossier(part_b_student=None, part_b_dossier=None), "b")
    with pytest.raises(PartNotAvailable):
        dossier_document(sample_dossier(part_a=None), "a")
    document = dossier_document(sample_dossier(part_b_student=None, part_b_dossier=None), "all")
    assert "Persoonlijke gegevens" in _headings(document) and "Begeleiding" not in _headings(document)


def test_the_whole_dossier_pdf_has_every_part_page_numbers_and_the_moment_of_rendering():
    pages = _pdf_pages(render_dossier_pdf(sample_dossier(), "all", rendered_at=RENDERED_AT))
    total = len(pages)
    assert total >= 2
    for n, page in enumerate(pages, start=1):
        assert f"pagina {n} van {total}" in page
        assert "Gemaakt op 04-03-2027 om 10:30" in page
        assert "Roos de Winter · 4a" in page
    text = "\n".join(pages)
    assert "Opleiding: Juridisch secretaresse (4 - BOL - Australiëlaan 23 - 95392)" in text
    assert "Keuze: MBO Utrecht" in text
    for expected in ("Deel A", "Persoonlijke gegevens", "Rosalie Zoë", "Deel B", "Leerling-specifiek",
                     "Inschatting en advies", "Akkoordverklaring", "Ik ben het eens met deel B.",
                     "02-03-2027 om 14:05"):
        assert expected in text, expected
    assert text.index("Persoonlijke gegevens") < text.index("Begeleiding") < text.index("Akkoordverklaring")


def test_part_a_pdf_does_not_show_part_b():
    text = "\n".join(_pdf_pages(render_dossier_pdf(sample_dossier(), "a", rendered_at=RENDERED_AT)))
    assert "Digitaal Doorstroomdossier – deel A" in text and "Vakkenvuller bij de supermarkt" in text
    assert "Begeleiding" not in text and "Extra les begrijpend lezen" not in text


def test_markup_in_answers_is_printed_as_written():
    evil = "#set page(width: 4cm)\n*vet* _schuin_ $x$ \\ ] [ <l> @ref // #pagebreak() `raw`"
    dossier = sample_dossier()
    dossier["part_a"]["motivation"]["motivation"] = evil
    dossier["student"]["full_name"] = "#text(red)[Roos]"
    dossier["agreement"]["remark"] = "*\\*"
    plain = _pdf_pages(render_dossier_pdf(sample_dossier(), "all", rendered_at=RENDERED_AT))
    pdf = render_dossier_pdf(dossier, "all", rendered_at=RENDERED_AT)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == len(plain)
    assert {round(float(p.mediabox.width)) for p in reader.pages} == {595}
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "#set page(width: 4cm)" in text and "*vet* _schuin_ $x$ \\ ] [ <l> @ref // #pagebreak() `raw`" in text
    assert "#text(red)[Roos]" in text and "*\\*" in text


def test_content_hash_changes_with_an_answer_and_not_with_the_moment():
    a = dossier_document(sample_dossier(), "a")
    assert content_hash(a) == content_hash(dossier_document(sample_dossier(), "a"))
    changed = sample_dossier()
    changed["part_a"]["competences"]["strengths"] = "Iets anders."
    assert content_hash(a) != content_hash(dossier_document(changed, "a"))
    assert content_hash(a) != content_hash(dossier_document(sample_dossier(), "all"))


def _intake_dossier() -> dict:
    dossier = sample_dossier()
    dossier["student"].update(student_number="100234", email="roos.eigen@thuis.example.nl",
                              school_brin="12AB", school_city="Zwolle")
    dossier["agreement"]["parent"] = {
        "rule": "inspection", "has_say": True, "consent_needed": False, "decision": "objection",
        "decision_label": "Bezwaar", "remark": "Wij vinden het advies over plannen te streng.",
        "decided_at": "2027-03-01T18:15:00+00:00", "informed_at": "2027-02-27T10:00:00+00:00"}
    return dossier


def test_the_header_has_what_the_intake_matches_the_application_with():
    header = dict(dossier_document(_intake_dossier(), "all")["header"])
    assert header["Geboortedatum"] == "17-05-2010"
    assert header["Leerlingnummer"] == "100234"
    assert header["E-mailadres"] == "roos.eigen@thuis.example.nl"
    assert header["School"] == "Het Ĳsselcollege, Zwolle (BRIN 12AB)"
    text = "\n".join(_pdf_pages(render_dossier_pdf(_intake_dossier(), "all", rendered_at=RENDERED_AT)))
    for expected in ("Geboortedatum: 17-05-2010", "Leerlingnummer: 100234", "E-mailadres: roos.eigen@thuis.example.nl",
                     "School: Het Ĳsselcollege, Zwolle (BRIN 12AB)"):
        assert expected in text, expected


def test_the_parents_reaction_and_remark_are_in_the_agreement():
    document = dossier_document(_intake_dossier(), "all")
    rows = _rows(document)
    assert rows["Reactie van de ouder of verzorger"] == "Bezwaar (op 01-03-2027 om 19:15)"
    assert rows["Opmerking van de ouder of verzorger"] == "Wij vinden het advies over plannen te streng."
    text = "\n".join(_pdf_pages(render_dossier_pdf(_intake_dossier(), "all", rendered_at=RENDERED_AT)))
    assert text.index("Akkoordverklaring") < text.index("Bezwaar (op 01-03-2027 om 19:15)")
    assert "Wij vinden het advies over plannen te streng." in text
    # parents with a say who did not react: said so, with when the link went out
    silent = _intake_dossier()
    silent["agreement"]["parent"].update(decision=None, decision_label=None, remark=None, decided_at=None)
    assert _rows(dossier_document(silent, "all"))["Reactie van de ouder of verzorger"] == \
        "Geen reactie (link gestuurd op 27-02-2027 om 11:00)"
    # no say (18 or older, or the school asks nothing): nothing about parents
    none = _intake_dossier()
    none["agreement"]["parent"] = {"rule": "none", "has_say": False, "consent_needed": False}
    assert "Reactie van de ouder of verzorger" not in _rows(dossier_document(none, "all"))
