"""A new school year (schoolbeheerder): first a preview of what happens to each class and to the
students who stay behind, then the change itself (the rules: ``domain/school_year.py``; the SQL:
``store/school_years.py``). The students of the last leerjaar leave the school; their completed
dossiers stay with the MBO until the retention rule erases them."""
from __future__ import annotations

import uuid
from datetime import date

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.identity.access import caller
from services.identity.context import api
from services.identity.schemas import single_line
from services.identity.store import school_years
from shared.api import json_response, read_body
from shared.app import DB, OUTBOX
from shared.auth import require
from shared.problems import Problem

TAGS = ("schooljaar",)


class SchoolYearIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    final_leerjaar: int | None = Field(None, ge=1, le=8, strict=True, description=(
        "the last leerjaar of the school: its classes end and their students leave; default the highest leerjaar "
        "with students"))
    stay_behind: list[single_line(min_length=1, max_length=40)] = Field(
        [], max_length=5000, description="student numbers of the students who stay behind (keep their leerjaar)")


class SchoolYearStart(SchoolYearIn):
    school_year: single_line(pattern=r"^\d{4}-\d{4}$") = Field(
        description="the school year to start (as the preview named it, e.g. 2026-2027): a second click changes "
                    "nothing")


class ClassPlan(BaseModel):
    class_id: uuid.UUID
    name: str
    leerjaar: int
    students: int = Field(description="active students now")
    to_name: str
    to_leerjaar: int
    ends: bool = Field(description="the last leerjaar: the students leave, the class ends")
    staying: int = Field(description="of its students, those who stay behind")


class StayBehind(BaseModel):
    student_id: uuid.UUID
    student_number: str
    name: str
    class_name: str
    leerjaar: int
    to_class_id: uuid.UUID | None = Field(None, description="null: a new class is made")
    to_class_name: str


class SchoolYearPlan(BaseModel):
    from_school_year: str
    to_school_year: str
    final_leerjaar: int
    allowed: bool = Field(description="whether it can be started today")
    allowed_from: date
    classes: list[ClassPlan]
    students_moving: int
    students_leaving: int
    stay_behind: list[StayBehind]
    unknown_numbers: list[str] = Field(description="student numbers of stay_behind that are no active student")
    conflicts: list[str] = Field(description="names two classes would have after the change")


@api.route("POST", "/v1/school-year/preview", summary="Nieuw schooljaar: wat er met elke klas en met zittenblijvers "
           "gebeurt, zonder iets te veranderen (schoolbeheerder)", body=SchoolYearIn, response=SchoolYearPlan,
           tags=TAGS, auth=True, statuses=(409,))
async def preview(request: web.Request) -> web.Response:
    await require(request, "school_admin")  # who may ask is checked before what is asked
    body = await read_body(request, SchoolYearIn)
    async with request.app[DB].acquire(timeout=10) as conn:
        who = await caller(request, conn, "school_admin")
        await _vo(conn, who.school_id)
        plan = await school_years.plan(conn, who.school_id, body.final_leerjaar, body.stay_behind)
    return json_response(SchoolYearPlan(**plan))


@api.route("POST", "/v1/school-year", summary="Nieuw schooljaar starten: klassen gaan een leerjaar omhoog, de "
           "leerlingen van het laatste leerjaar verlaten de school, zittenblijvers houden hun leerjaar "
           "(schoolbeheerder)", body=SchoolYearStart, response=SchoolYearPlan, status=201, tags=TAGS, auth=True,
           statuses=(409, 422))
async def start(request: web.Request) -> web.Response:
    await require(request, "school_admin")
    body = await read_body(request, SchoolYearStart)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        who = await caller(request, conn, "school_admin")
        await _vo(conn, who.school_id)
        done = await school_years.start(conn, request.app[OUTBOX], who.school_id, who.principal.account_id,
                                        body.school_year, body.final_leerjaar, body.stay_behind)
    return json_response(SchoolYearPlan(**done), status=201)


async def _vo(conn, school_id) -> None:
    if await conn.fetchval("SELECT kind FROM schools WHERE id = $1", school_id) != "vo":
        raise Problem(409, "Alleen een VO-school heeft een leerlingenlijst met schooljaren.", code="not-vo")
