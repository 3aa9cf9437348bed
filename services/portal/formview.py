"""Pages from the one form definition (shared/forms): fields to render, posted values to answers,
answers to read, and the dossier as the pages need it (answers per section, progress)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from multidict import MultiDictProxy

from shared.forms.model import (
    FieldType,
    Form,
    FormNotFound,
    get_form,
    is_answered,
    is_required,
    is_visible,
    part_progress,
    school_year_on,
    section_progress,
)

YES, NO = "ja", "nee"


def form_for(kind: str, school_year: str | None) -> Form:
    try:
        return get_form(kind, school_year or school_year_on(date.today()))
    except (FormNotFound, ValueError):
        return get_form(kind, "2026-2027")


# -- the programme field: receiving schools (mbo, havo, vmbo) and their programmes as one list ----

OTHER_SCHOOL = "anders"  # the option "Een school die niet in de lijst staat"
KIND_LABELS = {"mbo": "mbo", "havo": "havo", "vmbo": "vmbo"}
NOT_TAKING_PART = "neemt niet deel aan Doorstroom"


@dataclass
class Catalogue:
    """Choices for a `programme` field, from identity's receiving schools (participating or not)."""

    options: list[tuple[str, str, str]] = field(default_factory=list)  # (group, value, label)
    labels: dict[str, str] = field(default_factory=dict)  # value -> label
    institution_names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_institutions(cls, institutions: list[dict]) -> "Catalogue":
        cat = cls()
        for inst in institutions or []:
            inst_id = str(inst.get("school_id") or inst.get("id") or inst.get("institution_id") or "")
            name = str(inst.get("name", ""))
            city = inst.get("city")
            kind = inst.get("kind", "mbo")
            title = f"{name} ({city})" if city else name
            cat.institution_names[inst_id] = title
            group = title + (f" – {KIND_LABELS.get(kind, kind)}" if kind in ("havo", "vmbo") else "") + (
                "" if inst.get("participates", True) else f" ({NOT_TAKING_PART})")
            if kind == "vo":  # a sending school as a havo/vmbo choice (as before schools had receiving kinds)
                for level in ("havo", "vmbo"):
                    value = f"{level}:{inst_id}"
                    label = f"{level.upper()} – {title}"
                    cat.options.append((title, value, label))
                    cat.labels[value] = label
                continue
            locations = {str(loc.get("location_id")): loc for loc in inst.get("locations", []) or []}
            programmes = inst.get("programmes", []) or []
            if kind in ("havo", "vmbo"):
                value = f"{kind}:{inst_id}"
                label = f"{kind.upper()} – {name} (geen profiel of leerweg gekozen)"
                cat.options.append((group, value, label))
                cat.labels[value] = f"{kind.upper()} – {title}"
            for prog in programmes:
                loc = locations.get(str(prog.get("location_id")), {})
                where = loc.get("address") or loc.get("name") or ""
                pid = prog.get("programme_id") or prog.get("id")
                if kind in ("havo", "vmbo"):
                    text = " – ".join(str(x) for x in (prog.get("name"), prog.get("profile")) if x)
                    label = f"{text} ({where})" if where else text
                    value = f"{kind}:{inst_id}:{pid}"
                    cat.options.append((group, value, label))
                    cat.labels[value] = f"{label} – {title}"
                    continue
                details = " - ".join(str(p) for p in (prog.get("level"), prog.get("pathway"), where,
                                                      prog.get("crebo")) if p)
                value = f"mbo:{inst_id}:{pid}:{prog.get('crebo')}"
                label = f"{prog.get('name')} ({details})"
                cat.options.append((group, value, label))
                cat.labels[value] = f"{label} – {title}"
        return cat

    def encode(self, value: Any) -> str:
        if not isinstance(value, Mapping):
            return ""
        if value.get("school_name"):
            return OTHER_SCHOOL
        kind = value.get("kind", "mbo")
        if kind == "mbo":
            return f"mbo:{value.get('institution_id')}:{value.get('programme_id')}:{value.get('crebo')}"
        if value.get("programme_id"):
            return f"{kind}:{value.get('institution_id')}:{value.get('programme_id')}"
        return f"{kind}:{value.get('institution_id')}"

    def label(self, value: Any) -> str:
        if isinstance(value, Mapping) and value.get("school_name"):
            return other_school_label(value)
        encoded = self.encode(value)
        if encoded in self.labels:
            return self.labels[encoded]
        if isinstance(value, Mapping):
            inst = self.institution_names.get(str(value.get("institution_id")), "")
            if value.get("kind", "mbo") == "mbo":
                return f"Opleiding met crebo {value.get('crebo')}" + (f" – {inst}" if inst else "")
            return f"{str(value.get('kind')).upper()}" + (f" – {inst}" if inst else "")
        return ""

    def groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        grouped: dict[str, list[tuple[str, str]]] = {}
        for group, value, label in self.options:
            grouped.setdefault(group, []).append((value, label))
        return list(grouped.items())


def other_school_label(value: Mapping[str, Any]) -> str:
    """A school the student typed in: "HAVO – Stedelijk Lyceum (Enschede), niet in de lijst"."""
    kind = str(value.get("kind") or "mbo").upper()
    where = f" ({value.get('school_city')})" if value.get("school_city") else ""
    return f"{kind} – {value.get('school_name')}{where}, niet in de lijst"


def decode_programme(raw: str, post: Mapping[str, Any] | None = None, field_id: str = "") -> dict[str, str] | None:
    raw = raw.strip()
    if not raw:
        return None
    if raw == OTHER_SCHOOL:  # typed in: the dossier service checks kind, name and place
        post = post or {}
        return {"kind": str(post.get(f"{field_id}__kind", "") or "").strip()[:20] or "mbo",
                "school_name": str(post.get(f"{field_id}__name", "") or "").strip()[:1000],
                "school_city": str(post.get(f"{field_id}__city", "") or "").strip()[:1000]}
    parts = raw.split(":")
    if parts[0] == "mbo" and len(parts) == 4:
        return {"kind": "mbo", "institution_id": parts[1], "programme_id": parts[2], "crebo": parts[3]}
    if parts[0] in ("havo", "vmbo") and len(parts) == 2:
        return {"kind": parts[0], "institution_id": parts[1]}
    if parts[0] in ("havo", "vmbo") and len(parts) == 3:
        return {"kind": parts[0], "institution_id": parts[1], "programme_id": parts[2]}
    return {"kind": "onbekend"}  # the dossier service answers with a Dutch error for this field


def choice_label(choice: Any) -> str:
    """As in the manual's header: "Juridisch secretaresse (4 - BOL - Australiëlaan 23 - 95392) – MBO Utrecht"."""
    if not isinstance(choice, Mapping) or not choice:
        return ""
    location = choice.get("location") or {}
    where = location.get("address") or location.get("name") if isinstance(location, Mapping) else None
    details = " - ".join(str(p) for p in (choice.get("level"), choice.get("pathway"), where, choice.get("crebo")) if p)
    institution = choice.get("institution_name") or ""
    if choice.get("other_school"):
        city = f" ({choice['institution_city']})" if choice.get("institution_city") else ""
        return f"{str(choice.get('kind') or '').upper()} – {institution}{city}".strip(" –")
    if choice.get("kind") in ("havo", "vmbo"):
        programme = " – ".join(str(x) for x in (choice.get("programme_name"), choice.get("profile")) if x)
        kind = str(choice["kind"]).upper()
        kind = "" if programme.upper().startswith(kind) else kind  # "HAVO 4", not "HAVO – HAVO 4"
        return " – ".join(x for x in (kind, programme, institution) if x)
    name = choice.get("programme_name") or ""
    text = f"{name} ({details})" if details else name
    return f"{text} – {institution}".strip(" –")


# -- posted form -> answers ------------------------------------------------------------------------

def parse_section(form: Form, section_id: str, post: MultiDictProxy) -> dict[str, Any]:
    """Every field of the section, as the page posted it (empty = None), in the types the form
    definition expects. Formats are checked by the dossier service (one place for the rules)."""
    answers: dict[str, Any] = {}
    for f in form.section(section_id).fields:
        raw = str(post.get(f.id, "")).strip() if f.id in post else ""
        if f.type == FieldType.YES_NO:
            answers[f.id] = True if raw == YES else False if raw == NO else None
        elif f.type == FieldType.PROGRAMME:
            answers[f.id] = decode_programme(raw, post, f.id)
        else:
            answers[f.id] = raw if raw else None
    return answers


# -- fields to render ------------------------------------------------------------------------------

def input_value(f, value: Any, catalogue: Catalogue | None) -> Any:
    if value is None:
        return ""
    if f.type == FieldType.YES_NO:
        return YES if value is True else NO if value is False else str(value)
    if f.type == FieldType.PROGRAMME:
        return (catalogue or Catalogue()).encode(value)
    return value


def fields_for(form: Form, section_id: str, answers: Mapping[str, Any], errors: Mapping[str, str],
               catalogue: Catalogue | None = None) -> list[dict[str, Any]]:
    section = form.section(section_id)
    result = []
    for f in section.fields:
        result.append({
            "id": f.id, "label": f.label, "type": f.type.value, "help": f.help,
            "required": is_required(f, answers) or f.required,
            "value": input_value(f, answers.get(f.id), catalogue),
            "error": errors.get(f.id),
            "options": [(o.value, o.label) for o in f.options],
            "max_length": f.effective_max_length,
            "visible_when": json.dumps(f.visible_when.model_dump(mode="json", exclude_none=True))
            if f.visible_when else None,
            "hidden": not is_visible(f, answers),
            # a school that is not in the list, as typed (the programme field)
            "other": dict(answers.get(f.id) or {}) if f.type == FieldType.PROGRAMME
            and isinstance(answers.get(f.id), Mapping) and answers.get(f.id, {}).get("school_name") is not None
            else {},
        })
    return result


# -- answers to read -------------------------------------------------------------------------------

def display(f, value: Any, catalogue: Catalogue | None = None) -> str:
    if not is_answered(value):
        return ""
    if f.type == FieldType.YES_NO:
        return "Ja" if value is True else "Nee" if value is False else str(value)
    if f.type == FieldType.CHOICE:
        return next((o.label for o in f.options if o.value == value), str(value))
    if f.type == FieldType.DATE:
        try:
            return date.fromisoformat(str(value)).strftime("%d-%m-%Y")
        except ValueError:
            return str(value)
    if f.type == FieldType.PROGRAMME:
        return (catalogue or Catalogue()).label(value)
    return str(value)


def readable(form: Form, part: str, answers_by_section: Mapping[str, Mapping[str, Any]],
             catalogue: Catalogue | None = None) -> list[dict[str, Any]]:
    """Sections of a part with their answered, visible questions, for reading (and the MBO)."""
    sections = []
    for section in form.sections_of(part):
        answers = answers_by_section.get(section.id, {}) or {}
        rows = [{"label": f.label, "value": display(f, answers.get(f.id), catalogue)}
                for f in section.fields if is_visible(f, answers) and is_answered(answers.get(f.id))]
        sections.append({"id": section.id, "title": section.title, "rows": rows})
    return sections


# -- the dossier as pages need it ------------------------------------------------------------------

def _by_section(value: Any) -> dict[str, dict[str, Any]]:
    if isinstance(value, Mapping):
        sections = value.get("sections", value)
        if isinstance(sections, list):
            return {str(s.get("id") or s.get("section")): dict(s.get("answers") or {}) for s in sections}
        if isinstance(sections, Mapping):
            return {str(k): dict(v.get("answers", v) if isinstance(v, Mapping) else {})
                    for k, v in sections.items() if isinstance(v, Mapping)}
    return {}


@dataclass
class DossierView:
    raw: dict[str, Any]
    etag: str | None
    part_a: Form
    part_b: Form
    answers_a: dict[str, dict[str, Any]]
    answers_b: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, raw: dict[str, Any], etag: str | None = None) -> "DossierView":
        year = raw.get("school_year") or raw.get("form_year")
        answers_b = _by_section(raw.get("part_b"))
        answers_b.update(_by_section(raw.get("part_b_student")))
        answers_b.update(_by_section(raw.get("part_b_dossier")))
        etag = etag or (f'"{raw["version"]}"' if raw.get("version") is not None else None)
        return cls(raw, etag, form_for("part_a", year), form_for("part_b", year),
                   _by_section(raw.get("part_a")), answers_b)

    @property
    def id(self) -> str:
        return str(self.raw.get("id") or self.raw.get("dossier_id"))

    @property
    def state(self) -> str:
        return str(self.raw.get("state", "part_a"))

    @property
    def archived(self) -> bool:
        return bool(self.raw.get("archived"))

    def progress(self, part: str) -> dict[str, int]:
        form = self.part_a if part == "part_a" else self.part_b
        answers = self.answers_a if part == "part_a" else self.answers_b
        return {s.id: section_progress(form, s.id, answers.get(s.id, {})) for s in form.sections_of(part)}

    def part_percent(self, part: str) -> int:
        form = self.part_a if part == "part_a" else self.part_b
        answers = self.answers_a if part == "part_a" else self.answers_b
        return part_progress(form, part, answers)

    def menu(self, part: str) -> list[dict[str, Any]]:
        """The section menu: groups (part B's two parts, part A's "Vervolgkeuze") with percentages."""
        form = self.part_a if part == "part_a" else self.part_b
        progress = self.progress(part)
        items = []
        for s in form.sections_of(part):
            group = s.group if part == "part_a" else {"part_b_student": "Leerling-specifiek",
                                                      "part_b_dossier": "Dossier-specifiek"}[s.part]
            has_required = any(f.may_be_required for f in s.fields)
            items.append({"id": s.id, "title": s.title, "group": group,
                          "percent": progress[s.id] if has_required else None})
        return items

    @property
    def version(self) -> Any:
        return self.raw.get("version")

    def section_version(self, section_id: str) -> int:
        return int((self.raw.get("versions") or {}).get(section_id) or 0)

    def choice_label(self) -> str:
        return choice_label(self.raw.get("choice"))

    def hands_over(self) -> bool:
        """The receiving school does not take part in Doorstroom (registered so, or typed in): the
        student and the mentor hand the completed dossier over as a PDF."""
        choice = self.raw.get("choice")
        return isinstance(choice, Mapping) and choice.get("participates") is False

    def programme(self) -> Any:
        return self.answers_a.get("follow_up_programme", {}).get("keuzevervolgopleiding") \
            or self.raw.get("programme")

    def student_name(self) -> str:
        student = self.raw.get("student") or {}
        if isinstance(student, Mapping):
            name = student.get("name") or " ".join(
                p for p in (student.get("roepnaam"), student.get("tussenvoegsel"), student.get("achternaam")) if p)
            if name:
                return name
        return str(self.raw.get("student_name") or "")

    def mail_possible(self) -> bool:
        """Whether mail can reach the student: the dossier service gives the address it mails to
        (their own account's, else the roster's), or none."""
        student = self.raw.get("student") or {}
        return isinstance(student, Mapping) and bool(student.get("email"))

    def class_name(self) -> str:
        student = self.raw.get("student") or {}
        return str((student.get("class_name") if isinstance(student, Mapping) else None)
                   or self.raw.get("class_name") or "")
