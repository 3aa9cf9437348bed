"""The dossier as a printable document: part A, part B or the whole dossier, laid out from the
one form definition (shared/forms): sections in order, their labels, the answers in words.

``dossier_document`` turns the dossier JSON of the dossier service (its ``GET /v1/dossiers/{id}``
contract) into a plain document model; ``render_dossier_pdf`` renders it. Both are pure.

Layout rules:

* Yes/no answers read Ja/Nee, choices their Dutch label, dates 31-12-2026, the chosen programme
  as in the manual's header.
* Unanswered optional fields are left out, and so are fields hidden by their condition; a
  required field that is still open reads "Niet ingevuld" (only in a dossier still being filled).
* The header is the manual's: Naam, Klas, School, Opleiding (name (level - BOL/BBL - location -
  crebo)), Keuze (institution), with school year, mentor and status beside it; and what the
  receiving school's intake matches the application with: Geboortedatum, Leerlingnummer,
  E-mailadres, the school with its place and BRIN (OSO: leerling, communicatie, school).
* The agreement (whole dossier) has the student's remark and the parent's reaction with its
  remark, where the parents had a say.
* Every page carries the student's name, "pagina X van Y" and the moment of rendering.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from shared.forms.model import (FieldType, Form, FormField, FormRegistry, FormNotFound, InvalidValue, PART_LABELS,
                                Section, clean_value, default_registry, is_answered, is_required, is_visible,
                                school_year_on)

from services.document.rendering.engine import compile_pdf

DocumentPart = Literal["a", "b", "all"]
PARTS: tuple[str, ...] = ("a", "b", "all")
# Bump when the layout changes: files rendered before are then not reused.
TEMPLATE_VERSION = 2
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TITLES = {"a": "Digitaal Doorstroomdossier – deel A", "b": "Digitaal Doorstroomdossier – deel B",
          "all": "Digitaal Doorstroomdossier"}
NOT_ANSWERED = "Niet ingevuld"
_YEAR = re.compile(r"(\d{4})-(\d{4})")


class PartNotAvailable(Exception):
    """The dossier does not (yet) hold the part asked for, or the caller may not see it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- values


def dutch_date(iso: str | date) -> str:
    day = iso if isinstance(iso, date) else date.fromisoformat(str(iso)[:10])
    return day.strftime("%d-%m-%Y")


def dutch_moment(moment: str | datetime) -> str:
    """29-11-2026 om 14:05 (Dutch local time)."""
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    return value.astimezone(AMSTERDAM).strftime("%d-%m-%Y om %H:%M")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def programme_line(choice: Mapping[str, Any] | None) -> str:
    """"Juridisch secretaresse (4 - BOL - Australiëlaan 23 - 95392)" as in the manual's header."""
    if not choice:
        return ""
    kind = _text(choice.get("kind")) or "mbo"
    name = _text(choice.get("programme_name"))
    if kind != "mbo":  # havo/vmbo: the year and the profile or leerweg, when chosen
        return " – ".join(p for p in (kind.upper(), name, _text(choice.get("profile"))) if p)
    location = choice.get("location") or {}
    place = _text(location.get("name")) or _text(location.get("address")) or _text(location.get("city"))
    details = [_text(choice.get("level")), _text(choice.get("pathway")), place, _text(choice.get("crebo"))]
    details = [d for d in details if d]
    return f"{name} ({' - '.join(details)})" if details else name


def institution_line(choice: Mapping[str, Any] | None) -> str:
    """"MBO Utrecht (Utrecht)": the institution of the choice, with its city."""
    if not choice:
        return ""
    name = _text(choice.get("institution_name"))
    city = _text((choice.get("location") or {}).get("city")) or _text(choice.get("institution_city"))
    return f"{name} ({city})" if name and city and city not in name else name


def format_answer(field: FormField, raw: Any, dossier: Mapping[str, Any]) -> str | None:
    """An answer in words, or None when it is not answered."""
    try:
        value = clean_value(field, raw)
    except InvalidValue:  # stored before a rule changed: print what is there
        value = raw
    if not is_answered(value):
        return None
    match field.type:
        case FieldType.YES_NO:
            return "Ja" if value is True else "Nee" if value is False else _text(value)
        case FieldType.CHOICE:
            return next((o.label for o in field.options if o.value == value), _text(value))
        case FieldType.DATE:
            try:
                return dutch_date(value)
            except ValueError:
                return _text(value)
        case FieldType.PROGRAMME:
            choice = dossier.get("choice") or {}
            line = ", ".join(p for p in (programme_line(choice), institution_line(choice)) if p)
            if line:
                return line
            if isinstance(value, Mapping):
                kind = _text(value.get("kind")) or "mbo"
                crebo = _text(value.get("crebo"))
                return f"{kind}-opleiding" + (f" (crebo {crebo})" if crebo else "")
            return _text(value)
    return _text(value)


# --------------------------------------------------------------------------- blocks


def _heading(level: int, text: str, *, new_page: bool = False) -> dict[str, Any]:
    return {"type": "heading", "level": level, "text": text, "new_page": new_page}


def section_blocks(section: Section, answers: Mapping[str, Any] | None, dossier: Mapping[str, Any],
                   level: int) -> list[dict[str, Any]]:
    answers = answers or {}
    rows: list[list[str]] = []
    for field in section.fields:
        if not is_visible(field, answers):
            continue
        text = format_answer(field, answers.get(field.id), dossier)
        if text is None:
            if not is_required(field, answers):
                continue
            text = NOT_ANSWERED
        rows.append([field.label, text])
    blocks = [_heading(level, section.title)]
    blocks.append({"type": "rows", "rows": rows} if rows else {"type": "note", "text": "Niets ingevuld."})
    return blocks


def part_blocks(form: Form, part: str, answers: Mapping[str, Any], dossier: Mapping[str, Any],
                level: int) -> list[dict[str, Any]]:
    """The sections of one part in form order; a group (e.g. Vervolgkeuze) gets its own heading."""
    blocks: list[dict[str, Any]] = []
    group: str | None = None
    for section in form.sections_of(part):
        if section.group != group:
            group = section.group
            if group:
                blocks.append(_heading(level, group))
        blocks += section_blocks(section, answers.get(section.id), dossier, level + 1 if group else level)
    return blocks


def _present(dossier: Mapping[str, Any], key: str) -> bool:
    return isinstance(dossier.get(key), Mapping)


def school_year_of(dossier: Mapping[str, Any], kind: str = "part_a") -> str:
    """The school year whose form definition the dossier's part was filled in with."""
    keys = ("part_b_form_version", "form_version", "school_year") if kind == "part_b" else ("form_version", "school_year")
    for key in keys:
        if m := _YEAR.search(_text(dossier.get(key))):
            return m.group(0)
    return school_year_on(date.today())


def school_line(student: Mapping[str, Any]) -> str:
    """"Het Voorbeeld College, Utrecht (BRIN 12AB)": the school the student comes from."""
    name, city, brin = (_text(student.get(k)) for k in ("school_name", "school_city", "school_brin"))
    line = ", ".join(p for p in (name, city if city not in name else "") if p)
    return f"{line} (BRIN {brin})" if line and brin else line


def header_rows(dossier: Mapping[str, Any]) -> list[list[str]]:
    """The manual's header, with what the receiving school's intake matches the application with
    (date of birth, the school's student number, the student's address, the school of origin)."""
    student = dossier.get("student") or {}
    choice = dossier.get("choice") or {}
    name = _text(student.get("full_name")) or " ".join(
        p for p in (_text(student.get("roepnaam")), _text(student.get("tussenvoegsel")),
                    _text(student.get("achternaam"))) if p)
    born = _text(student.get("date_of_birth"))
    try:
        born = dutch_date(born) if born else ""
    except ValueError:
        pass
    rows = [["Naam", name], ["Geboortedatum", born], ["Leerlingnummer", _text(student.get("student_number"))],
            ["E-mailadres", _text(student.get("email"))],
            ["Klas", _text(student.get("class_name"))], ["School", school_line(student)],
            ["Opleiding", programme_line(choice)], ["Keuze", institution_line(choice)],
            ["Schooljaar", _text(dossier.get("school_year"))],
            ["Mentor", _text((dossier.get("mentor") or {}).get("name"))],
            ["Status", _text(dossier.get("state_label"))]]
    return [r for r in rows if r[1]]


def parent_rows(parent: Mapping[str, Any]) -> list[list[str]]:
    """The parent's say (the link from the agreement step): their reaction and remark, or that
    they did not react although they had a say."""
    rows = []
    if parent.get("decision"):
        label = _text(parent.get("decision_label")) or ("Akkoord" if parent["decision"] == "consent" else "Bezwaar")
        if parent.get("decided_at"):
            label += f" (op {dutch_moment(parent['decided_at'])})"
        rows.append(["Reactie van de ouder of verzorger", label])
        if _text(parent.get("remark")):
            rows.append(["Opmerking van de ouder of verzorger", _text(parent["remark"])])
    elif parent.get("has_say"):
        informed = f" (link gestuurd op {dutch_moment(parent['informed_at'])})" if parent.get("informed_at") else ""
        rows.append(["Reactie van de ouder of verzorger", "Geen reactie" + informed])
    return rows


def agreement_blocks(dossier: Mapping[str, Any], level: int) -> list[dict[str, Any]]:
    agreement = dossier.get("agreement") or {}
    rows = []
    if agreement.get("completed_at"):
        rows.append(["Akkoord gegeven op", dutch_moment(agreement["completed_at"])])
    if _text(agreement.get("remark")):
        rows.append(["Opmerking van de leerling bij deel B", _text(agreement["remark"])])
    rows += parent_rows(agreement.get("parent") or {})
    blocks = [_heading(level, "Akkoordverklaring", new_page=False)]
    if rows:
        blocks.append({"type": "rows", "rows": rows})
    if not agreement.get("completed_at"):
        blocks.append({"type": "note", "text": "De leerling heeft nog geen akkoord gegeven."})
    return blocks


def dossier_document(dossier: Mapping[str, Any], part: DocumentPart,
                     registry: FormRegistry | None = None) -> dict[str, Any]:
    """The document model of ``part`` ("a", "b" or "all") of a dossier: title, header rows and
    blocks (headings, label/answer rows, notes). Raises PartNotAvailable and FormNotFound."""
    if part not in PARTS:
        raise ValueError(part)
    registry = registry or default_registry()
    year, year_b = school_year_of(dossier, "part_a"), school_year_of(dossier, "part_b")
    has_a = _present(dossier, "part_a")
    has_b = _present(dossier, "part_b_student") or _present(dossier, "part_b_dossier")
    if part == "a" and not has_a:
        raise PartNotAvailable("Deel A van dit dossier is (nog) niet in te zien.")
    if part == "b" and not has_b:
        raise PartNotAvailable("Deel B van dit dossier is (nog) niet in te zien.")
    if part == "all" and not (has_a or has_b):
        raise PartNotAvailable("Dit dossier heeft nog niets om af te drukken.")

    def part_b(level: int) -> list[dict[str, Any]]:
        form_b = registry.get("part_b", year_b)
        blocks: list[dict[str, Any]] = []
        for sub in ("part_b_student", "part_b_dossier"):
            blocks.append(_heading(level, PART_LABELS[sub]))
            if _present(dossier, sub):
                blocks += part_blocks(form_b, sub, dossier[sub], dossier, level + 1)
            else:
                blocks.append({"type": "note", "text": "Dit deel is (nog) niet in te zien."})
        return blocks

    blocks: list[dict[str, Any]] = []
    if part == "a":
        blocks = part_blocks(registry.get("part_a", year), "part_a", dossier["part_a"], dossier, 2)
    elif part == "b":
        blocks = part_b(2)
    else:
        blocks.append(_heading(2, "Deel A"))
        if has_a:
            blocks += part_blocks(registry.get("part_a", year), "part_a", dossier["part_a"], dossier, 3)
        else:
            blocks.append({"type": "note", "text": "Deel A is (nog) niet in te zien."})
        blocks.append(_heading(2, "Deel B", new_page=True))
        blocks += part_b(3) if has_b else [{"type": "note", "text": "Deel B is (nog) niet ingevuld of verstuurd."}]
        blocks += agreement_blocks(dossier, 2)
    header = header_rows(dossier)
    student_line = " · ".join(r[1] for r in header if r[0] in ("Naam", "Klas"))
    return {"title": TITLES[part], "school_year": year, "header": header, "footer": student_line,
            "blocks": blocks}


def content_hash(document: Mapping[str, Any]) -> str:
    """What makes two renderings the same PDF (the moment of rendering aside)."""
    canonical = json.dumps({"template": TEMPLATE_VERSION, "document": document}, ensure_ascii=False,
                           sort_keys=True, separators=(",", ":"))
    return "dossier:" + hashlib.sha256(canonical.encode()).hexdigest()


def render_document(document: Mapping[str, Any], rendered_at: datetime) -> bytes:
    return compile_pdf("dossier", {**document, "rendered_at": dutch_moment(rendered_at)}, timestamp=rendered_at)


def render_dossier_pdf(dossier: Mapping[str, Any], part: DocumentPart, *, rendered_at: datetime,
                       registry: FormRegistry | None = None) -> bytes:
    """The PDF of ``part`` of a dossier: (dossier JSON, form definition) -> PDF bytes."""
    return render_document(dossier_document(dossier, part, registry), rendered_at)


__all__ = ["PARTS", "DocumentPart", "FormNotFound", "PartNotAvailable", "content_hash", "dossier_document",
           "render_document", "render_dossier_pdf"]
