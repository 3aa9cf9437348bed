"""Bodies and answers of identity's API that more than one module uses: the store builds or takes
them, or several route modules answer with them. Models that only one route module uses live with
that module."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, StringConstraints

from shared.events.identity_events import Mentor
from shared.text import SingleLine, single_line_problem


def _no_control_characters(value: object) -> object:
    """Before the e-mail check, so that a control character gets the message that says what is wrong."""
    if isinstance(value, str) and (problem := single_line_problem(value)) is not None:
        raise ValueError(problem)
    return value


SingleLineEmail = Annotated[EmailStr, BeforeValidator(_no_control_characters)]


def single_line(**constraints: Any) -> Any:
    """``SingleLine`` with string constraints (length, pattern) checked on the text first, for a
    field that may be null: ``SingleLine | None = Field(None, max_length=100)`` would check the
    length after the line check, as a generic length ("Het aantal elementen klopt niet.") instead
    of a text's ("Te lang: maximaal 100 tekens.")."""
    return Annotated[str, StringConstraints(**constraints), *SingleLine.__metadata__]


class Detail(BaseModel):
    detail: str


class Ref(BaseModel):
    id: uuid.UUID
    name: str


class SearchIn(BaseModel):
    """A search in a body (a name never goes into a URL, nor a log of one): words and a page."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    q: single_line(max_length=100) | None = Field(None, description="every word must occur (case does not matter)")
    page: int = Field(1, ge=1, le=100_000, strict=True)
    page_size: int = Field(50, ge=1, le=200, strict=True)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


# --- schools and the catalogue -------------------------------------------------------------------


RETENTION_HELP = ("bewaartermijn (VO): zoveel schooljaren na het schooljaar van afronden of vertrek worden dossiers, "
                  "leerlinggegevens, accounts en bestanden definitief verwijderd")


SchoolKind = Literal["vo", "mbo", "havo", "vmbo"]
# the kinds of receiving school ("ontvangende school"): they offer programmes and may take part
RECEIVING_KINDS = ("mbo", "havo", "vmbo")
KIND_LABELS = {"vo": "vo-school (verzendend)", "mbo": "mbo", "havo": "havo", "vmbo": "vmbo"}


class SchoolIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: SchoolKind = Field(description="vo: a sending VO school with a roster; mbo, havo, vmbo: a receiving school")
    name: SingleLine = Field(min_length=2, max_length=200)
    brin: single_line(pattern=r"^[0-9]{2}[A-Z]{2}$") | None = Field(None, description="BRIN-nummer, bijv. 25LP")
    city: single_line(max_length=100) | None = None
    participates: bool = Field(True, description="a receiving school: takes part in Doorstroom (its staff get "
                                                 "completed dossiers in their inbox); false: the student hands over "
                                                 "the PDF")
    parent_rule: Literal["consent", "inspection", "none"] = "consent"
    retention_years: int = Field(2, ge=1, le=10, strict=True, description=RETENTION_HELP)


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: SingleLine = Field(min_length=2, max_length=200)
    address: single_line(max_length=200) | None = None
    city: single_line(max_length=100) | None = None


class ProgrammeIn(BaseModel):
    """An MBO programme (CREBO, level and BOL/BBL required) or a HAVO/VMBO school's year, profile or
    leerweg (name and an optional profile; no CREBO, level or BOL/BBL): the school's kind decides."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: SingleLine = Field(min_length=2, max_length=200, description="e.g. Juridisch secretaresse, HAVO 4")
    crebo: single_line(pattern=r"^[0-9]{5}$") | None = Field(None, description="CREBO-code: 5 cijfers (mbo)")
    level: int | None = Field(None, ge=1, le=4, description="niveau 1-4 (mbo)")
    pathway: Literal["BOL", "BBL"] | None = Field(None, description="BOL of BBL (mbo)")
    profile: single_line(max_length=200) | None = Field(
        None, description="havo/vmbo: profiel of leerweg, e.g. Natuur en Gezondheid, gemengde leerweg")
    location_id: uuid.UUID | None = None

    def problems_for(self, kind: str) -> list[dict[str, str]]:
        """What does not fit a school of ``kind`` (Dutch, per field); empty when all is well."""
        if kind == "mbo":
            return [{"field": f, "message": m} for f, m in (
                ("crebo", "Vul de CREBO-code in (5 cijfers)."), ("level", "Kies het niveau (1 tot en met 4)."),
                ("pathway", "Kies BOL of BBL.")) if getattr(self, f) is None] + (
                [{"field": "profile", "message": "Een profiel of leerweg hoort bij havo of vmbo, niet bij een "
                                                 "mbo-opleiding."}] if self.profile else [])
        return [{"field": f, "message": f"{label} hoort alleen bij een mbo-opleiding."} for f, label in (
            ("crebo", "Een CREBO-code"), ("level", "Een niveau"), ("pathway", "BOL of BBL"))
            if getattr(self, f) is not None]


class LocationOut(BaseModel):
    location_id: uuid.UUID
    name: str
    address: str | None
    city: str | None


class ProgrammeOut(BaseModel):
    programme_id: uuid.UUID
    name: str
    crebo: str | None = Field(None, description="mbo")
    level: int | None = Field(None, description="mbo")
    pathway: str | None = Field(None, description="mbo: BOL or BBL")
    profile: str | None = Field(None, description="havo/vmbo: profiel or leerweg")
    location_id: uuid.UUID | None
    location: str | None = Field(description="e.g. 'Australiëlaan 23, Utrecht'")
    label: str = Field(description="as the dossier shows it: Juridisch secretaresse (4 - BOL - Australiëlaan 23 - 25xxx)")
    active: bool


class SchoolOut(BaseModel):
    school_id: uuid.UUID
    kind: str = Field(description="vo (sending), or a receiving school's kind: mbo, havo, vmbo")
    name: str
    brin: str | None
    city: str | None
    participates: bool
    parent_rule: str
    retention_years: int = Field(2, description=RETENTION_HELP)
    school_year: str | None = Field(None, description="the school year the roster is in (VO), e.g. 2025-2026")
    locations: list[LocationOut] = []
    programmes: list[ProgrammeOut] = []


class SchoolList(BaseModel):
    schools: list[SchoolOut]


# --- staff and classes ---------------------------------------------------------------------------


class ClassRef(BaseModel):
    class_id: uuid.UUID
    name: str


class StaffOut(BaseModel):
    staff_id: uuid.UUID
    role: str
    role_label: str
    name: str
    email: str
    school_id: uuid.UUID | None
    account_id: uuid.UUID | None
    active: bool
    status: Literal["niet uitgenodigd", "uitgenodigd", "actief", "inactief"]
    invited_at: str | None
    classes: list[ClassRef] = []


class ClassOut(BaseModel):
    class_id: uuid.UUID
    name: str
    school_year: int
    students: int
    mentors: list[Mentor]


# --- students and the roster ---------------------------------------------------------------------


class NewMentor(BaseModel):
    staff_id: uuid.UUID
    email: str


class Activation(BaseModel):
    status: str = Field(description="none | issued | expired | redeemed")
    label: str = Field(description="geen code | verstrekt | verlopen | ingewisseld")
    channel: str | None = Field(None, description="email | letter")
    issued_at: datetime | None = None
    expires_on: date | None = None
    redeemed_at: datetime | None = None


class StudentOut(BaseModel):
    student_id: uuid.UUID
    student_number: str
    name: str
    sort_name: str
    roepnaam: str
    voornamen: str
    tussenvoegsel: str
    achternaam: str
    date_of_birth: date
    class_id: uuid.UUID
    class_name: str
    school_year: int
    email: str | None
    has_bsn: bool
    account_linked: bool
    activation: Activation
