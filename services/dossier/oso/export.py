"""One completed dossier as an OSO XML document (``OSO_gegevensset.xsd`` 2019.1, VO-MBO), built from
the table in ``mapping.py`` and the dossier as the institution's MBO staff see it
(``views.dossier_view``: the same data as the MBO page, the PDF and the pull API).

``oso_document(conn, row)`` is what the route calls; ``build_oso_xml(view, part_a_form,
part_b_form)`` is pure. Fields without an OSO element are not in the file. Elements are written
in the XSD's order (``ORDER``); a group that lacks an element the XSD requires is left out whole
(``REQUIRED``); a file that cannot be valid (no school name, no BRIN, no surname) is refused
(``NotExportable``)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from services.dossier.context import forms_for
from services.dossier.oso.mapping import FIXED, L, MAPPING, NAMESPACE, plain
from services.dossier.schemas import ChoiceInfo, DossierView
from shared.forms.model import FieldType, Form, FormField, is_answered, is_visible

ZONE = ZoneInfo("Europe/Amsterdam")
_COMM = f"{L}/communicatielijst/communicatie"
_CAREER = f"{L}/schoolloopbaanlijst/schoolloopbaan"

# every element the export writes, in the XSD's order (each xs:sequence in turn)
ORDER: tuple[str, ...] = (
    "metadata", "metadata/deeldossier", "metadata/pakketnaam", "metadata/pakketversie", "metadata/datum",
    "metadata/standaardversie", "metadata/validatieversie", "metadata/categorie_uitlevering",
    *(f"metadata/categorie_uitlevering/cat_{c}" for c in (
        "metadata", "ouderinzage", "school", "leerling", "oudersverzorgers", "vve", "schoolloopbaan",
        "overstapadvies", "onderwijsondersteuning", "verzuim", "eindtoetsbo", "toetsresultaten", "handelingsplannen",
        "cijferlijsten", "vombo", "bijlagedocs")),
    "metadata/overstap",
    "overdrachtsoort",
    "inzage", "inzage/voorlopigdossier", "inzage/inzage", "inzage/inzagedatum", "inzage/akkoord",
    "inzage/redennietakkoord",
    "huidigeschool", "huidigeschool/naam", "huidigeschool/brincode", "huidigeschool/vestigingscode",
    "huidigeschool/aanleverpunt",
    L, f"{L}/voornaam", f"{L}/voorletters-1", f"{L}/voorvoegsel", f"{L}/achternaam", f"{L}/roepnaam",
    f"{L}/geboortedatum", f"{L}/geslacht",
    f"{L}/communicatielijst", _COMM, f"{_COMM}/soort", f"{_COMM}/nummer", f"{_COMM}/geheim",
    f"{L}/leerlingid",
    f"{L}/overstapadvies", f"{L}/overstapadvies/argumentatie", f"{L}/overstapadvies/contactnodig",
    f"{L}/overstapadvies/contactpersoon", f"{L}/overstapadvies/contacttelefoon", f"{L}/overstapadvies/contactemail",
    f"{L}/overstapadvies/aandachtspunten",
    f"{L}/schoolloopbaanlijst", _CAREER, f"{_CAREER}/schooljaar", f"{_CAREER}/groepscode", f"{_CAREER}/jaargroep",
    f"{_CAREER}/brincode", f"{_CAREER}/vestigingscode", f"{_CAREER}/voelementomschrijving",
    f"{_CAREER}/schoolsoortomschrijving",
    f"{L}/verzuim", f"{L}/verzuim/contactleerplicht",
    f"{L}/certificaat",
    f"{L}/competenties", f"{L}/competenties/competentiecategorie", f"{L}/competenties/competentiebeschrijving",
    f"{L}/stage", f"{L}/stage/functierol",
    f"{L}/overigvombo", f"{L}/overigvombo/keuzevervolgopleiding", f"{L}/overigvombo/beroepskeuzetest",
    f"{L}/overigvombo/portfolio", f"{L}/overigvombo/pop", f"{L}/overigvombo/motivatiebrief",
    f"{L}/overigvombo/lobdossier",
)
_POSITION = {p: i for i, p in enumerate(ORDER)}

# groups written only with the elements the XSD requires in them
REQUIRED: dict[str, tuple[str, ...]] = {
    _COMM: ("soort", "nummer"),
    _CAREER: ("schooljaar", "groepscode", "jaargroep", "brincode", "vestigingscode"),
    f"{L}/overigvombo": ("beroepskeuzetest", "portfolio", "pop", "motivatiebrief", "lobdossier"),
}
# without these there is no valid file
ESSENTIAL: dict[str, str] = {
    "huidigeschool/naam": "de naam van de school van herkomst",
    "huidigeschool/brincode": "de BRIN-code van de school van herkomst",
    f"{L}/achternaam": "de achternaam van de leerling",
}


class NotExportable(Exception):
    """The dossier lacks what every OSO file must hold; ``missing`` says what, in Dutch."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


# ----------------------------------------------------------------------------------------- conversions
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BRIN = re.compile(r"^([0-9]{2}[A-Z]{2})([0-9]{2})?$")
GESLACHT = {"man": "2", "vrouw": "1", "anders": "0", "onbekend": "0"}  # codelijst 14: 0 onbekend, 1 vrouw, 2 man
AKKOORD = {"consent": "Ja", "objection": "Nee"}  # codelijst 37


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = _NOT_XML.sub("", value if isinstance(value, str) else str(value)).strip()
    return text or None


def _boolean(value: Any) -> str | None:
    return {True: "true", False: "false"}.get(value) if isinstance(value, bool) else None


def _date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return (value.astimezone(ZONE) if value.tzinfo else value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value:
        try:
            return _date(datetime.fromisoformat(value)) if "T" in value else date.fromisoformat(value).isoformat()
        except ValueError:
            return None
    return None


def _brin(value: Any) -> str | None:
    m = _BRIN.match((_text(value) or "").upper().replace(" ", ""))
    return m.group(1) if m else None


def _vestiging(value: Any) -> str | None:
    m = _BRIN.match((_text(value) or "").upper().replace(" ", ""))
    return (m.group(2) or "00") if m else None


def _programme(value: Any) -> str | None:
    choice = value if isinstance(value, ChoiceInfo) else None
    if choice is None:
        return None
    details = [f"crebo {choice.crebo}" if choice.crebo else None,
               f"niveau {choice.level}" if choice.level else None, choice.pathway]
    name = choice.programme_name or choice.kind.upper()
    if any(details):
        name += " (" + ", ".join(d for d in details if d) + ")"
    where = [choice.institution_name]
    if choice.location is not None:
        where += [f"locatie {choice.location.name}" if choice.location.name else None, choice.location.city]
    return _text(" – ".join([name, ", ".join(w for w in where if w)]) if any(where) else name)


Converter = Callable[[Any, FormField | None, Mapping[str, Any]], "str | list[str] | None"]

CONVERTERS: dict[str, Converter] = {
    "text": lambda v, f, _: _text(v),
    "boolean": lambda v, f, _: _boolean(v),
    "date": lambda v, f, _: _date(v),
    "forenames": lambda v, f, _: (_text(v) or "").split() or None,
    "initials": lambda v, f, _: _text(re.sub(r"\s+", "", v)) if isinstance(v, str) else None,
    "geslacht": lambda v, f, _: GESLACHT.get(v),
    "phone": lambda v, f, _: _text(re.sub(r"[\s\-.()/]", "", v)) if isinstance(v, str) else None,
    "option_label": lambda v, f, _: _text(next((o.label for o in f.options if o.value == v), v) if f else v),
    "programme": lambda v, f, _: _programme(v),
    "brin": lambda v, f, _: _brin(v),
    "vestiging": lambda v, f, _: _vestiging(v),
    "jaargroep": lambda v, f, _: f"1{v}" if isinstance(v, int) and 1 <= v <= 6 else None,  # VO year n: "1n"
    "akkoord": lambda v, f, values: AKKOORD.get(v) or ("Onbekend" if values.get("intake.parents.has_say") else None),
    "objection_remark": lambda v, f, values: _text(v) if values.get("intake.parents.decision") == "objection" else None,
}


# ----------------------------------------------------------------------------------------- the values
def source_values(view: DossierView, part_a_form: Form, part_b_form: Form) -> tuple[dict[str, Any], dict]:
    """The mapping's sources with their values, and the form fields by source: the answered and
    visible fields of the forms, and the intake fields as the MBO page shows them."""
    values: dict[str, Any] = {}
    fields: dict[str, FormField] = {}
    by_part = {"part_a": view.part_a or {}, "part_b_student": view.part_b_student or {},
               "part_b_dossier": view.part_b_dossier or {}}
    for form in (part_a_form, part_b_form):
        for section in form.sections:
            answers = by_part.get(section.part, {}).get(section.id) or {}
            for f in section.fields:
                key = f"{section.id}.{f.id}"
                fields[key] = f
                if f.id in answers and is_answered(answers[f.id]) and is_visible(f, answers):
                    values[key] = view.choice if f.type == FieldType.PROGRAMME else answers[f.id]
    s = view.student
    if s is not None:
        values.update({
            "intake.roepnaam": s.roepnaam, "intake.voornamen": s.voornamen, "intake.tussenvoegsel": s.tussenvoegsel,
            "intake.achternaam": s.achternaam, "intake.date_of_birth": s.date_of_birth,
            "intake.student_number": s.student_number, "intake.email": s.email, "intake.school_name": s.school_name,
            "intake.school_brin": s.school_brin, "intake.school_city": s.school_city,
            "intake.class_name": s.class_name, "intake.leerjaar": s.leerjaar})
    values["intake.school_year"] = view.school_year
    values["intake.mentor"] = view.mentor.name if view.mentor else None
    values["intake.programme"] = view.choice
    values["intake.warm_handover"] = view.warm_handover
    values["intake.contact_wanted"] = view.contact_wanted
    agreement = view.agreement
    if agreement is not None:
        parent = agreement.parent
        values.update({
            "intake.agreement_remark": agreement.remark, "intake.completed_at": agreement.completed_at,
            "intake.parents.rule": parent.rule, "intake.parents.has_say": parent.has_say,
            # they reacted: they had inspection; they had no say: none; asked but silent: unknown
            "intake.parents.inspected": True if parent.decision else (False if not parent.has_say else None),
            "intake.parents.decision": parent.decision, "intake.parents.decided_at": parent.decided_at,
            "intake.parents.remark": parent.remark, "intake.parents.informed_at": parent.informed_at})
    return values, fields


Leaf = tuple[str, str]  # (path with brackets, text)


def leaves_of(view: DossierView, part_a_form: Form, part_b_form: Form) -> list[Leaf]:
    """The elements with text, from the table and the fixed values, groups completed or left out."""
    values, fields = source_values(view, part_a_form, part_b_form)
    leaves: list[Leaf] = []
    filled: set[str] = set()
    for row in MAPPING:
        if row.path is None or row.source not in values or (row.fallback and row.path in filled):
            continue
        out = CONVERTERS[row.how](values[row.source], fields.get(row.source), values)
        texts = [t for t in (out if isinstance(out, list) else [out]) if t]
        if texts:
            leaves += [(row.path, t) for t in texts]
            filled.add(row.path)
    groups = {_instance_prefix(p) for p, _ in leaves} - {None}
    for path, value, _ in FIXED:
        prefix = _instance_prefix(path)
        if prefix is None or prefix in groups:  # a fixed part of a repeating element: only with the element
            leaves.append((path, value))
    for group, required in REQUIRED.items():
        prefixes = {_prefix_at(p, group) for p, _ in leaves} - {None}
        for prefix in prefixes:
            have = {p[len(prefix) + 1:].split("/", 1)[0] for p, _ in leaves if p.startswith(prefix + "/")}
            if not set(required) <= have:
                leaves = [(p, t) for p, t in leaves if not p.startswith(prefix + "/")]
    missing = [what for path, what in ESSENTIAL.items() if not any(p == path for p, _ in leaves)]
    if missing:
        raise NotExportable(missing)
    return leaves


def _instance_prefix(path: str) -> str | None:
    """The path up to its (last) bracketed element, or None."""
    if "[" not in path:
        return None
    return path[:path.rindex("]") + 1]


def _prefix_at(path: str, group: str) -> str | None:
    """The part of ``path`` that names an element of ``group`` (a plain path), brackets kept."""
    parts, depth = path.split("/"), group.count("/") + 1
    if len(parts) <= depth or plain("/".join(parts[:depth])) != group:
        return None
    return "/".join(parts[:depth])


# ----------------------------------------------------------------------------------------- the XML
def _tag(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _build(parent: ET.Element, parent_path: str, leaves: list[tuple[list[str], str]]) -> None:
    groups: dict[str, list[tuple[list[str], str]]] = {}
    for parts, text in leaves:
        groups.setdefault(parts[0], []).append((parts[1:], text))
    for key in sorted(groups, key=lambda k: _POSITION[f"{parent_path}/{k.split('[', 1)[0]}".lstrip("/")]):
        name = key.split("[", 1)[0]
        path = f"{parent_path}/{name}".lstrip("/")
        items = groups[key]
        for rest, text in [(r, t) for r, t in items if not r]:  # elements with text, each its own
            ET.SubElement(parent, _tag(name)).text = text
        nested = [(r, t) for r, t in items if r]
        if nested:
            _build(ET.SubElement(parent, _tag(name)), path, nested)


def build_oso_xml(view: DossierView, part_a_form: Form, part_b_form: Form) -> bytes:
    """The OSO XML (UTF-8, with declaration) of a completed dossier as MBO staff see it."""
    leaves = leaves_of(view, part_a_form, part_b_form)
    unknown = sorted({plain(p) for p, _ in leaves} - set(ORDER))
    if unknown:  # a row of the table without its place in ORDER: a programming error
        raise ValueError(f"no place in ORDER for {unknown}")
    root = ET.Element(_tag("dossier"))
    _build(root, "", [(p.split("/"), t) for p, t in leaves])
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=NAMESPACE)


async def oso_document(conn: asyncpg.Connection, row: Mapping[str, Any]) -> bytes:
    """The dossier (a row of ``store.load_dossier``, checked by the caller) as OSO XML."""
    from services.dossier.views import dossier_view

    view = await dossier_view(conn, row, "mbo_staff")
    if view.student is not None and not view.student.school_brin and row["school_brin"]:
        # completed before the school's BRIN was known: a school's BRIN does not change, take it as it is now
        view.student.school_brin = row["school_brin"]
    return build_oso_xml(view, *forms_for(row["form_version"], row["part_b_form_version"]))
