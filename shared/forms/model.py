"""Form definitions of the transfer dossier: model, validation, progress, schema and registry.

Pure logic, no I/O. A form is data: sections with fields, types, required-ness and conditions.
One definition drives validation on save, progress percentages, submission checks, the web
pages and the PDF layout (through `form_schema`). A new national format for a school year is a
new `Form` registered with the `FormRegistry` (see `form_2026.py`), not a code change.

Rules the functions below share:

* `answers` for a section is the whole set of answers of that section as the page saves it
  (a field id mapped to its raw value). Keys left out are simply not in `cleaned`.
* Saving validates types and formats only (partial saves are allowed); required-ness counts
  for progress and submission (`section_progress`, `missing_required`).
* An empty value (None, "" or only spaces) means "not answered". `False` (nee) is an answer.
* A field hidden by its `visible_when` condition is cleared (None) in `cleaned` and never
  reports an error: the dossier holds no answers to questions the person could not see.
* A section without required (visible) fields is 100%: it never blocks submission. Such a
  section has `has_required_fields: false` in the schema, so a client may show no percentage
  (the manual shows an empty percentage there).
* Progress is rounded down, so 100% always means complete.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

FormKind = Literal["part_a", "part_b"]
Part = Literal["part_a", "part_b_student", "part_b_dossier"]

PART_LABELS: dict[str, str] = {
    "part_a": "Deel A",
    "part_b_student": "Leerling-specifiek",
    "part_b_dossier": "Dossier-specifiek",
}
FORM_KIND_LABELS: dict[str, str] = {"part_a": "deel A", "part_b": "deel B"}

# Form modules shipped with the service; each exposes FORMS. Add a module per new format.
BUILTIN_FORM_MODULES: tuple[str, ...] = ("shared.forms.form_2026",)


class FieldType(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    YES_NO = "yes_no"
    CHOICE = "choice"
    DATE = "date"
    EMAIL = "email"
    PHONE = "phone"
    PROGRAMME = "programme"


DEFAULT_MAX_LENGTH: dict[FieldType, int] = {
    FieldType.TEXT: 200,
    FieldType.TEXTAREA: 2000,
    FieldType.EMAIL: 254,
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- model


class Condition(_Frozen):
    """`{"field": "opp", "equals": true}`, `{"field": "x", "answered": true}` or
    `{"any_of": [condition, ...]}` (holds when one of them holds). Fields are of the same
    section; `equals` is a non-null value (use `answered: false` for "empty")."""

    field: str | None = None
    equals: Any = None
    answered: bool | None = None
    any_of: tuple[Condition, ...] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        if self.any_of is not None:
            if self.field is not None or self.answered is not None or self.equals is not None:
                raise ValueError("a condition with any_of has no field, equals or answered")
            if not self.any_of:
                raise ValueError("any_of needs at least one condition")
            return self
        if not self.field:
            raise ValueError("a condition needs a field")
        if (self.equals is not None) == (self.answered is not None):
            raise ValueError("a condition needs exactly one of equals or answered")
        return self

    @model_serializer(mode="wrap")
    def _without_nulls(self, handler) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}

    def holds(self, answers: Mapping[str, Any]) -> bool:
        if self.any_of is not None:
            return any(c.holds(answers) for c in self.any_of)
        value = answers.get(self.field)
        if self.answered is not None:
            return is_answered(value) == self.answered
        return value == self.equals

    def field_ids(self) -> set[str]:
        if self.any_of is not None:
            return set().union(*(c.field_ids() for c in self.any_of))
        return {self.field}


class Option(_Frozen):
    value: str
    label: str


class FormField(_Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    type: FieldType
    help: str = ""
    required: bool = False
    required_when: Condition | None = None
    visible_when: Condition | None = None
    max_length: int | None = Field(default=None, gt=0)
    options: tuple[Option, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> FormField:
        if (self.type == FieldType.CHOICE) != bool(self.options):
            raise ValueError(f"{self.id}: options belong to (and only to) a choice field")
        if len({o.value for o in self.options}) != len(self.options):
            raise ValueError(f"{self.id}: option values must be unique")
        if self.max_length is not None and self.type not in DEFAULT_MAX_LENGTH:
            raise ValueError(f"{self.id}: max_length only applies to text, textarea and email")
        return self

    @property
    def effective_max_length(self) -> int | None:
        return self.max_length or DEFAULT_MAX_LENGTH.get(self.type)

    @property
    def may_be_required(self) -> bool:
        return self.required or self.required_when is not None


class Section(_Frozen):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    part: Part
    help: str = ""
    group: str | None = None
    fields: tuple[FormField, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Section:
        ids = [f.id for f in self.fields]
        if len(set(ids)) != len(ids):
            raise ValueError(f"section {self.id}: field ids must be unique")
        for f in self.fields:
            for cond in (f.required_when, f.visible_when):
                unknown = cond.field_ids() - set(ids) if cond else set()
                if unknown or (cond and f.id in cond.field_ids()):
                    raise ValueError(f"section {self.id}: condition of {f.id} refers to {unknown or f.id}")
        return self

    def field(self, field_id: str) -> FormField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)


class Form(_Frozen):
    id: str
    kind: FormKind
    school_year: str
    title: str
    sections: tuple[Section, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Form:
        start_year(self.school_year)
        ids = [s.id for s in self.sections]
        if len(set(ids)) != len(ids):
            raise ValueError(f"form {self.id}: section ids must be unique")
        field_ids = [f.id for s in self.sections for f in s.fields]
        if len(set(field_ids)) != len(field_ids):
            raise ValueError(f"form {self.id}: field ids must be unique in the form")
        for s in self.sections:
            if not s.part.startswith(self.kind):
                raise ValueError(f"form {self.id}: section {s.id} ({s.part}) does not belong in {self.kind}")
        return self

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise UnknownSection(section_id)

    def sections_of(self, part: str) -> tuple[Section, ...]:
        """Sections of a part; `part_b` means both part B parts."""
        return tuple(s for s in self.sections if s.part == part or s.part.startswith(part + "_"))


class UnknownSection(LookupError):
    def __init__(self, section_id: str) -> None:
        super().__init__(f"Het onderdeel '{section_id}' bestaat niet in dit formulier.")
        self.section_id = section_id


# --------------------------------------------------------------------------- values


class InvalidValue(ValueError):
    """A value that does not fit its field; the message is Dutch, for the person who typed it."""


def is_answered(value: Any) -> bool:
    return value is not None and value != "" and value != {}


def is_visible(field: FormField, answers: Mapping[str, Any]) -> bool:
    return field.visible_when is None or field.visible_when.holds(answers)


def is_required(field: FormField, answers: Mapping[str, Any]) -> bool:
    if not is_visible(field, answers):
        return False
    return field.required or (field.required_when is not None and field.required_when.holds(answers))


_PHONE_CHARS = re.compile(r"^\+?[0-9 ()\-./]+$")
_PHONE_ERROR = "Vul een geldig telefoonnummer in, bijvoorbeeld 06-12345678 of +31 6 12345678."


def normalise_phone(raw: str) -> str:
    """Phone number to E.164 ("+31612345678"). Dutch national input ("06-12345678",
    "010 1234567"), "0031..." and "+31 (0)6..." are accepted. Raises InvalidValue."""
    text = raw.strip().replace("(0)", "")
    if not _PHONE_CHARS.fullmatch(text):
        raise InvalidValue(_PHONE_ERROR)
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    elif digits.startswith("0") and len(digits) == 10:
        number = "31" + digits[1:]
    else:
        raise InvalidValue(_PHONE_ERROR)
    if number.startswith("310") and len(number) == 12:  # "+31 06 ..." : drop the trunk 0
        number = "31" + number[3:]
    if not number or number[0] == "0":
        raise InvalidValue(_PHONE_ERROR)
    if number.startswith("31") and len(number) != 11:
        raise InvalidValue(_PHONE_ERROR)
    if not 8 <= len(number) <= 15:
        raise InvalidValue(_PHONE_ERROR)
    return "+" + number


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DUTCH_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")


def parse_date(raw: Any) -> date:
    """A date from a `date`, "2026-12-31" or Dutch "31-12-2026". Raises InvalidValue."""
    if isinstance(raw, date) and not hasattr(raw, "hour"):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        if m := _ISO_DATE.fullmatch(text):
            y, mo, d = m.groups()
        elif m := _DUTCH_DATE.fullmatch(text):
            d, mo, y = m.groups()
        else:
            y = None
        if y is not None:
            try:
                return date(int(y), int(mo), int(d))
            except ValueError:
                pass
    raise InvalidValue("Vul een geldige datum in, bijvoorbeeld 31-12-2026.")


_CREBO = re.compile(r"^\d{5}$")
_PROGRAMME_KEYS = {"kind", "institution_id", "programme_id", "crebo", "school_name", "school_city"}


def _reference(value: Mapping[str, Any], key: str, message: str, required: bool = True) -> str | None:
    raw = value.get(key)
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise InvalidValue(message)
        return None
    if not isinstance(raw, str) or len(raw) > 100:
        raise InvalidValue(message)
    return raw.strip()


def _other_school_text(value: Mapping[str, Any], key: str, label: str, *, required: bool, limit: int) -> str | None:
    raw = value.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise InvalidValue(f"Vul de {label} van de school in.")
        return None
    if not isinstance(raw, str):
        raise InvalidValue(f"Vul de {label} van de school in.")
    text = " ".join(raw.split())
    if any(ord(c) < 32 or ord(c) == 127 for c in raw.replace("\n", "").replace("\t", "")):
        raise InvalidValue(f"De {label} van de school mag geen stuurtekens bevatten.")
    if len(text) < 2:
        raise InvalidValue(f"De {label} van de school is te kort.")
    if len(text) > limit:
        raise InvalidValue(f"De {label} van de school is te lang: hoogstens {limit} tekens.")
    return text


def clean_programme(value: Any) -> dict[str, str]:
    """An MBO programme `{institution_id, programme_id, crebo}` (kind "mbo" may be left out), a
    HAVO/VMBO choice `{kind: "havo"|"vmbo", institution_id, programme_id?}`, or a school that is
    not in the list `{kind, school_name, school_city?}` (typed in by the student; it does not take
    part in Doorstroom, so the dossier is handed over as a PDF)."""
    if not isinstance(value, Mapping):
        raise InvalidValue("Kies een opleiding.")
    if set(value) - _PROGRAMME_KEYS:
        raise InvalidValue("De opleidingskeuze bevat onbekende gegevens.")
    kind = value.get("kind", "mbo")
    if kind not in ("mbo", "havo", "vmbo"):
        raise InvalidValue("Kies een mbo-opleiding of een vervolgkeuze voor havo of vmbo.")
    if "school_name" in value or "school_city" in value:  # a school that is not in the list
        if any(value.get(k) not in (None, "") for k in ("institution_id", "programme_id", "crebo")):
            raise InvalidValue("Kies een school uit de lijst, of vul een school in die niet in de lijst staat; "
                               "niet allebei.")
        cleaned = {"kind": kind, "school_name": _other_school_text(value, "school_name", "naam", required=True,
                                                                   limit=200)}
        city = _other_school_text(value, "school_city", "plaats", required=False, limit=100)
        if city is not None:
            cleaned["school_city"] = city
        return cleaned
    cleaned = {"kind": kind, "institution_id": _reference(value, "institution_id", "Kies een school.")}
    if kind == "mbo":
        cleaned["programme_id"] = _reference(value, "programme_id", "Kies een opleiding.")
        crebo = _reference(value, "crebo", "Een crebonummer bestaat uit 5 cijfers.")
        if not _CREBO.fullmatch(crebo):
            raise InvalidValue("Een crebonummer bestaat uit 5 cijfers.")
        cleaned["crebo"] = crebo
    else:
        programme_id = _reference(value, "programme_id", "Kies een geldige opleiding.", required=False)
        if programme_id is not None:
            cleaned["programme_id"] = programme_id
        if value.get("crebo") not in (None, ""):
            raise InvalidValue("Een crebonummer hoort alleen bij een mbo-opleiding.")
    return cleaned


def _clean_text(field: FormField, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue("Vul hier tekst in.")
    if field.type == FieldType.TEXT:
        value = " ".join(value.split())
    else:
        value = value.replace("\r\n", "\n").strip()
    limit = field.effective_max_length
    if limit is not None and len(value) > limit:
        raise InvalidValue(f"Gebruik hoogstens {limit} tekens (nu {len(value)}).")
    return value


def _clean_yes_no(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("ja", "nee", "true", "false"):
        return value.strip().lower() in ("ja", "true")
    raise InvalidValue("Kies ja of nee.")


def _clean_choice(field: FormField, value: Any) -> str:
    if isinstance(value, str) and value.strip() in {o.value for o in field.options}:
        return value.strip()
    raise InvalidValue("Kies een van de mogelijkheden.")


def _clean_email(field: FormField, value: Any) -> str:
    text = _clean_text(field, value)
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise InvalidValue("Vul een geldig e-mailadres in, bijvoorbeeld naam@school.nl.") from None


def clean_value(field: FormField, value: Any) -> Any:
    """The stored (JSON-serialisable) form of a raw value, None when empty. Raises InvalidValue."""
    if isinstance(value, str) and not value.strip():
        return None
    if value is None:
        return None
    match field.type:
        case FieldType.TEXT | FieldType.TEXTAREA:
            return _clean_text(field, value)
        case FieldType.YES_NO:
            return _clean_yes_no(value)
        case FieldType.CHOICE:
            return _clean_choice(field, value)
        case FieldType.DATE:
            return parse_date(value).isoformat()
        case FieldType.EMAIL:
            return _clean_email(field, value)
        case FieldType.PHONE:
            if not isinstance(value, str):
                raise InvalidValue(_PHONE_ERROR)
            return normalise_phone(value)
        case FieldType.PROGRAMME:
            return clean_programme(value)
    raise AssertionError(field.type)  # pragma: no cover


# --------------------------------------------------------------------------- validation


def validate_section(
    form: Form, section_id: str, answers: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check types and formats of a section's answers (partial saves allowed).

    Returns `(cleaned, errors)`: cleaned values of the given fields (None when empty or when the
    field is hidden by its condition) and a Dutch message per field id that is wrong. Unknown
    field ids are errors too. Raises UnknownSection for a section that does not exist."""
    section = form.section(section_id)
    known = {f.id for f in section.fields}
    errors = {key: "Deze vraag hoort niet bij dit onderdeel." for key in answers if key not in known}
    cleaned: dict[str, Any] = {}
    for field in section.fields:
        if field.id in answers:
            try:
                cleaned[field.id] = clean_value(field, answers[field.id])
            except InvalidValue as exc:
                errors[field.id] = str(exc)
    _clear_hidden(section, cleaned, answers, errors)
    return cleaned, errors


def _clear_hidden(section: Section, cleaned: dict[str, Any], answers: Mapping, errors: dict[str, str]) -> None:
    """Clear hidden fields until nothing changes (a hidden field can hide another)."""
    changed = True
    while changed:
        changed = False
        for field in section.fields:
            if field.id in answers and not is_visible(field, cleaned):
                errors.pop(field.id, None)
                if cleaned.get(field.id) is not None or field.id not in cleaned:
                    cleaned[field.id] = None
                    changed = True


def _missing(section: Section, cleaned: Mapping[str, Any]) -> list[str]:
    return [f.id for f in section.fields if is_required(f, cleaned) and not is_answered(cleaned.get(f.id))]


def _required_count(section: Section, cleaned: Mapping[str, Any]) -> int:
    return sum(1 for f in section.fields if is_required(f, cleaned))


def section_progress(form: Form, section_id: str, answers: Mapping[str, Any]) -> int:
    """Percent (0-100, rounded down) of the visible required fields (including those required by a
    condition) that hold a valid answer. A section without required fields is 100."""
    section = form.section(section_id)
    cleaned, _ = validate_section(form, section_id, answers)
    required = _required_count(section, cleaned)
    if required == 0:
        return 100
    return (required - len(_missing(section, cleaned))) * 100 // required


def progress_by_section(form: Form, answers_by_section: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    return {s.id: section_progress(form, s.id, answers_by_section.get(s.id, {})) for s in form.sections}


def missing_required(
    form: Form, part: str, answers_by_section: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[str]]:
    """Per section of `part` ("part_a", "part_b_student", "part_b_dossier" or "part_b" for
    both), the required fields still unanswered. An empty dict means the part is complete."""
    result: dict[str, list[str]] = {}
    for section in form.sections_of(part):
        cleaned, _ = validate_section(form, section.id, answers_by_section.get(section.id, {}))
        if missing := _missing(section, cleaned):
            result[section.id] = missing
    return result


def part_progress(form: Form, part: str, answers_by_section: Mapping[str, Mapping[str, Any]]) -> int:
    """Percent (rounded down) of all required fields of a part that are answered."""
    required = missing = 0
    for section in form.sections_of(part):
        cleaned, _ = validate_section(form, section.id, answers_by_section.get(section.id, {}))
        required += _required_count(section, cleaned)
        missing += len(_missing(section, cleaned))
    return 100 if required == 0 else (required - missing) * 100 // required


# --------------------------------------------------------------------------- schema


def _field_schema(field: FormField) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "id": field.id,
        "label": field.label,
        "help": field.help,
        "type": field.type.value,
        "required": field.required,
    }
    if field.effective_max_length is not None:
        schema["max_length"] = field.effective_max_length
    if field.options:
        schema["options"] = [o.model_dump() for o in field.options]
    for name in ("required_when", "visible_when"):
        condition = getattr(field, name)
        if condition is not None:
            schema[name] = condition.model_dump(mode="json", exclude_none=True)
    return schema


def form_schema(form: Form) -> dict[str, Any]:
    """A JSON-serialisable description of the form that clients build their pages from."""
    return {
        "id": form.id,
        "kind": form.kind,
        "school_year": form.school_year,
        "title": form.title,
        "parts": {p: PART_LABELS[p] for p in dict.fromkeys(s.part for s in form.sections)},
        "sections": [
            {
                "id": s.id,
                "title": s.title,
                "help": s.help,
                "part": s.part,
                "group": s.group,
                "has_required_fields": any(f.may_be_required for f in s.fields),
                "fields": [_field_schema(f) for f in s.fields],
            }
            for s in form.sections
        ],
    }


# --------------------------------------------------------------------------- registry

_SCHOOL_YEAR = re.compile(r"^(\d{4})-(\d{4})$")


def start_year(school_year: str) -> int:
    """2026 for "2026-2027"; ValueError (Dutch) for anything else."""
    m = _SCHOOL_YEAR.fullmatch(school_year or "")
    if not m or int(m.group(2)) != int(m.group(1)) + 1:
        raise ValueError(f"Ongeldig schooljaar '{school_year}'; gebruik de vorm 2026-2027.")
    return int(m.group(1))


def school_year_on(day: date) -> str:
    """The Dutch school year (1 August to 31 July) a day falls in."""
    first = day.year if day.month >= 8 else day.year - 1
    return f"{first}-{first + 1}"


class FormNotFound(LookupError):
    def __init__(self, kind: str, school_year: str) -> None:
        label = FORM_KIND_LABELS.get(kind, kind)
        super().__init__(f"Er is geen formulier voor {label} in schooljaar {school_year} of eerder.")
        self.kind = kind
        self.school_year = school_year


class FormRegistry:
    """Form definitions per kind and school year. `get` answers the definition of that school
    year or, when there is none, the latest earlier one."""

    def __init__(self, forms: Iterable[Form] = ()) -> None:
        self._forms: dict[str, dict[int, Form]] = {}
        for form in forms:
            self.register(form)

    def register(self, form: Form) -> None:
        by_year = self._forms.setdefault(form.kind, {})
        year = start_year(form.school_year)
        if year in by_year:
            raise ValueError(f"{form.kind} {form.school_year} is already registered")
        by_year[year] = form

    def get(self, kind: str, school_year: str) -> Form:
        year = start_year(school_year)
        earlier = [y for y in self._forms.get(kind, {}) if y <= year]
        if not earlier:
            raise FormNotFound(kind, school_year)
        return self._forms[kind][max(earlier)]

    def school_years(self, kind: str) -> list[str]:
        return [f"{y}-{y + 1}" for y in sorted(self._forms.get(kind, {}))]


@functools.cache
def default_registry() -> FormRegistry:
    """The registry of the form definitions shipped with the service."""
    return FormRegistry(
        form for name in BUILTIN_FORM_MODULES for form in importlib.import_module(name).FORMS
    )


def get_form(kind: FormKind, school_year: str) -> Form:
    return default_registry().get(kind, school_year)
