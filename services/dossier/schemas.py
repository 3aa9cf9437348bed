"""Bodies and answers of the dossier API (pydantic: validated in, documented in OpenAPI)."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.api import Body, Query, QueryBool, QueryInt
from shared.text import Email, JsonText, MultiLine, SingleLine

# A page's size: at most PAGE_SIZE_MAX (a setting, 100 unless configured); the document says the
# configured value (shared.api: x-maximum-setting)
PAGE_SIZE = {"ge": 1, "le": 500, "json_schema_extra": {"x-maximum-setting": "page_size_max"}}
PAGE = {"ge": 1, "le": 100_000}

# --------------------------------------------------------------------------- bodies


class CreateDossier(Body):
    choice: dict[SingleLine, JsonText] | None = Field(
        None, max_length=10,
        description="optional: the follow-up choice of part A (vervolgopleiding), as in that field: "
                    "{institution_id, programme_id, crebo}, {kind: havo|vmbo, institution_id, programme_id?}, or a "
                    "school that is not in the list: {kind: mbo|havo|vmbo, school_name, school_city?}")


class SectionAnswers(Body):
    answers: dict[SingleLine, JsonText] = Field(
        max_length=100, description="the whole section as the page saves it: field id -> value (texts may span "
                                    "lines; no other control characters)")


class SubmitPartA(Body):
    mentor_id: uuid.UUID | None = Field(None, description="staff id of one of the mentors of the student's class")


class AgreementBody(Body):
    remark: MultiLine | None = Field(None, max_length=2000, description="the student's remark on part B; null or "
                                                                         "absent: no remark")


class ParentLinkBody(Body):
    parent_email: Email | None = Field(None, max_length=254, description=(
        "where the parent or guardian gets the link. When the school's roster knows the parents "
        "(agreement.parent.known), one of their addresses (absent: the first); else required"))


class StudentSearchBody(Body):
    """A "mijn leerlingen" search; in a body, so that no name ends up in a URL (or a log of one)."""

    q: SingleLine = Field("", max_length=100, description="name or part of it; every word must occur")
    class_id: uuid.UUID | None = None
    leerjaar: int | None = Field(None, ge=1, le=8, strict=True)
    overdue: bool = Field(False, strict=True, description="only students too long in the agreement step")
    archived: bool = Field(False, strict=True, description="only students with an archived dossier")
    page: int = Field(1, strict=True, **PAGE)
    page_size: int | None = Field(None, strict=True, **PAGE_SIZE)


class WorklistSearchBody(Body):
    """A search of the worklist ("te behandelen"); in a body, so that no name ends up in a URL."""

    q: SingleLine = Field("", max_length=100, description="name or part of it; every word must occur")
    class_id: uuid.UUID | None = None
    page: int = Field(1, strict=True, **PAGE)
    page_size: int | None = Field(None, strict=True, **PAGE_SIZE)


class MboSearchBody(Body):
    """A search of the MBO inbox; in a body, so that no name ends up in a URL (or a log of one)."""

    q: SingleLine = Field("", max_length=100, description="name, school of origin or programme; every word must occur")
    handled: bool | None = Field(None, strict=True,
                                 description="true: only handled; false: only still to handle; absent or null: all")
    flagged: bool = Field(False, strict=True, description="only warm handovers and wishes for contact")
    page: int = Field(1, strict=True, **PAGE)
    page_size: int | None = Field(None, strict=True, **PAGE_SIZE)


class ParentDecisionBody(Body):
    decision: Literal["consent", "objection"]
    remark: MultiLine | None = Field(None, max_length=2000)


# --------------------------------------------------------------------------- query parameters


class PagingQuery(Query):
    page: QueryInt = Field(1, **PAGE)
    page_size: QueryInt | None = Field(None, description="default PAGE_SIZE_DEFAULT (25)", **PAGE_SIZE)


class StudentsQuery(PagingQuery):
    class_id: uuid.UUID | None = Field(None, description="only this class")
    leerjaar: QueryInt | None = Field(None, ge=1, le=8, description="only this year (leerjaar)")
    overdue: QueryBool = Field(False, description="only students too long in the agreement step")
    archived: QueryBool = Field(False, description="only students with an archived dossier")


class MboInboxQuery(PagingQuery):
    handled: QueryBool | None = Field(None, description="true: only handled; false: only still to handle; absent: all")
    flagged: QueryBool = Field(False, description="only warm handovers and wishes for contact")


class PurposeQuery(Query):
    purpose: str | None = Field(None, pattern=r"^[a-z][a-z0-9_-]{0,31}$",
                                description="why you read (for the audit): view (default), pdf, ...; or the header "
                                            "X-Purpose")


class ParentQuery(PurposeQuery):
    token: str | None = Field(None, max_length=500,
                              description="the parent's link token (or the header X-Parent-Token)")


# --------------------------------------------------------------------------- the dossier


class Location(BaseModel):
    name: str | None = None
    address: str | None = None
    city: str | None = None


class StudentInfo(BaseModel):
    student_id: uuid.UUID
    roepnaam: str
    voornamen: str = ""
    tussenvoegsel: str = ""
    achternaam: str
    name: str
    full_name: str
    class_name: str | None = None
    school_year: int | None = Field(None, description="leerjaar")
    leerjaar: int | None = None
    school_id: uuid.UUID
    school_name: str | None = None
    school_brin: str | None = None
    school_city: str | None = Field(None, description="where the school of origin is (vestigingsplaats)")
    student_number: str | None = Field(None, description="the school's student number (leerlingnummer), for the "
                                                         "receiving school's intake")
    date_of_birth: date | None = None
    email: str | None = Field(None, description="where mail to the student goes: the verified address of their own "
                                                "account, the roster's before there is one; null: no mail can go out")


class ChoiceInfo(BaseModel):
    kind: Literal["mbo", "havo", "vmbo"] = Field(description="the kind of receiving school")
    institution_id: uuid.UUID | None = Field(None, description="the receiving school; null for a school that is "
                                                               "not in the list (other_school)")
    institution_name: str | None = None
    institution_city: str | None = None
    participates: bool | None = Field(None, description="the receiving school takes part in Doorstroom (it gets the "
                                                        "completed dossier in its inbox); false: the student and "
                                                        "the mentor hand the PDF over")
    other_school: bool = Field(False, description="a school the student typed in (not in the list); never taking "
                                                  "part")
    programme_id: uuid.UUID | None = None
    programme_name: str | None = None
    profile: str | None = Field(None, description="havo/vmbo: profiel or leerweg")
    crebo: str | None = None
    level: int | None = None
    pathway: Literal["BOL", "BBL"] | None = None
    location: Location | None = None
    first_choice: bool = False


class MentorInfo(BaseModel):
    staff_id: uuid.UUID
    name: str | None = None


class KnownParent(BaseModel):
    name: str | None = None
    email: str
    relation: str | None = None


class ParentInfo(BaseModel):
    rule: Literal["consent", "inspection", "none"]
    has_say: bool = Field(description="the parents are asked to read (under 18 and the school's rule is not none)")
    consent_needed: bool
    email: str | None = Field(None, description="only for the student and the school")
    informed_at: datetime | None = None
    decision: Literal["consent", "objection"] | None = None
    decision_label: str | None = Field(None, description="the reaction in the words the parent chose it with")
    remark: str | None = Field(None, description="the parent's remark with the reaction")
    decided_at: datetime | None = None
    known: list[KnownParent] | None = Field(None, description=(
        "the parents the school's roster knows: the link goes only to them (only for the student and the school; "
        "empty: the student gives the address)"))


class AgreementInfo(BaseModel):
    remark: str | None = None
    completed_at: datetime | None = None
    parent: ParentInfo


class DossierView(BaseModel):
    id: uuid.UUID
    state: str
    state_label: str
    archived: bool
    version: int
    etag: str
    created_at: datetime
    updated_at: datetime
    school_year: str
    form_version: str = Field(description="school year of the part A form used")
    part_b_form_version: str
    student: StudentInfo | None
    choice: ChoiceInfo | None
    mentor: MentorInfo | None
    part_a: dict[str, dict[str, Any]]
    part_a_visible: bool = Field(description="staff see part A once the student sent it to a mentor")
    part_b_visible: bool
    part_b_started: bool
    part_b_student: dict[str, dict[str, Any]] | None = None
    part_b_dossier: dict[str, dict[str, Any]] | None = None
    progress: dict[str, int] = Field(description="percentage per section shown")
    step_progress: int = Field(description="percentage of the step the dossier is in")
    versions: dict[str, int] = Field(description="version per section: send it as If-Match when saving it")
    warm_handover: bool | None = None
    contact_wanted: bool | None = None
    agreement: AgreementInfo
    submitted_at: datetime | None = None
    part_b_sent_at: datetime | None = None
    handled_at: datetime | None = None
    handled_by: str | None = None
    available_actions: list[str]


class SectionSaved(BaseModel):
    section_id: str
    version: int
    progress: int
    answers: dict[str, Any]
    dossier_version: int | None = None
    step_progress: int | None = None


class DossierSummary(BaseModel):
    id: uuid.UUID
    state: str
    state_label: str
    archived: bool
    version: int
    step_progress: int
    choice_kind: str | None = None
    institution_name: str | None = None
    programme_name: str | None = None
    first_choice: bool = False
    created_at: datetime
    updated_at: datetime
    handled_at: datetime | None = None


class DossierList(BaseModel):
    dossiers: list[DossierSummary]
