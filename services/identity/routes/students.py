"""Staff read and search the students they may see (a mentor: their classes; a counsellor and the
school admin: the school), with the state of each student's activation code. No name goes into a
URL: searching is ``POST /v1/students/search``."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from services.identity.access import ROSTER_READERS, caller
from services.identity.context import api, path_uuid
from services.identity.schemas import SearchIn, StudentOut
from services.identity.store.search import word_conditions
from services.identity.store.students import NO_STUDENT, STUDENT_QUERY, student_out, visible_student
from shared.api import Query, QueryInt, json_response, read_body, read_query
from shared.app import DB
from shared.auth import require
from shared.problems import Problem


class StudentList(BaseModel):
    students: list[StudentOut]
    total: int


class StudentSearchIn(SearchIn):
    class_id: uuid.UUID | None = None
    school_year: int | None = Field(None, ge=1, le=8, strict=True, description="leerjaar")


class StudentsQuery(Query):
    class_id: uuid.UUID | None = Field(None, description="alleen deze klas")
    school_year: QueryInt | None = Field(None, ge=1, le=8, description="alleen dit leerjaar")
    activation: Literal["none", "issued", "expired", "redeemed"] | None = Field(
        None, description="alleen leerlingen met deze stand van hun activatiecode")


class StudentPage(BaseModel):
    total: int
    page: int
    page_size: int
    students: list[StudentOut]


STUDENT_ORDER = " ORDER BY c.name, s.achternaam, s.roepnaam, s.id"
STUDENT_TEXT = "concat_ws(' ', s.roepnaam, s.voornamen, s.tussenvoegsel, s.achternaam, s.student_number, c.name)"


@api.route("GET", "/v1/students", summary="Leerlingen met de stand van hun activatiecode (mentor: eigen klassen; "
           "decaan, schoolbeheerder: school). Filters: class_id, school_year, activation; zoeken op naam en "
           "pagina's: POST /v1/students/search", response=StudentList, tags=("leerlingen",), auth=True,
           query=StudentsQuery)
async def list_students(request: web.Request) -> web.Response:
    query = request.query
    async with request.app[DB].acquire(timeout=10) as conn:
        who = await caller(request, conn, *ROSTER_READERS)
        if "q" in query:  # as the dossier service's lists answer it
            raise Problem(422, "Zoeken op naam gaat met POST /v1/students/search, met de zoekterm in de body: "
                          "een naam hoort niet in een URL.", code="invalid-input",
                          errors=[{"field": "q", "message": "Stuur de zoekterm in de body van POST /v1/students/search."}])
        filters = read_query(request, StudentsQuery)
        wanted = filters.activation
        where, args = _visible(who, filters.class_id, filters.school_year)
        rows = await conn.fetch(STUDENT_QUERY + " WHERE " + " AND ".join(where) + STUDENT_ORDER, *args)
    now = datetime.now(UTC)
    students = [student_out(r, now) for r in rows]
    if wanted:
        students = [s for s in students if s.activation.status == wanted]
    return json_response(StudentList(students=students, total=len(students)))


def _visible(who, class_id, school_year) -> tuple[list[str], list]:
    """The conditions (and their arguments) of the active students this caller sees, in a class or
    school year when asked."""
    cond, value = who.student_condition("s", 1)
    where, args = [cond, "s.active"], [value]
    for column, wanted in (("class_id", class_id), ("school_year", school_year)):
        if wanted is not None:
            args.append(wanted)
            where.append(f"s.{column} = ${len(args)}")
    return where, args


@api.route("POST", "/v1/students/search", summary="Leerlingen zoeken (q: elk woord moet voorkomen in naam, "
           "leerlingnummer of klas) en filteren op klas en leerjaar, per pagina; wie wat ziet als bij GET /v1/students",
           body=StudentSearchIn, response=StudentPage, tags=("leerlingen",), auth=True)
async def search_students(request: web.Request) -> web.Response:
    await require(request, *ROSTER_READERS)  # who may ask is checked before what is asked
    body = await read_body(request, StudentSearchIn)
    async with request.app[DB].acquire(timeout=10) as conn:
        who = await caller(request, conn, *ROSTER_READERS)
        where, args = _visible(who, body.class_id, body.school_year)
        where += word_conditions(STUDENT_TEXT, body.q, args)
        sql = " WHERE " + " AND ".join(where)
        async with conn.transaction(readonly=True, isolation="repeatable_read"):  # the count and the page agree
            total = await conn.fetchval("SELECT count(*) FROM students s JOIN classes c ON c.id = s.class_id" + sql,
                                        *args)
            rows = await conn.fetch(STUDENT_QUERY + sql + STUDENT_ORDER
                                    + f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
                                    *args, body.page_size, body.offset)
    now = datetime.now(UTC)
    return json_response(StudentPage(total=total, page=body.page, page_size=body.page_size,
                                     students=[student_out(r, now) for r in rows]))


@api.route("GET", "/v1/students/{student_id}", summary="Eén leerling", response=StudentOut, tags=("leerlingen",),
           auth=True)
async def get_student(request: web.Request) -> web.Response:
    student_id = path_uuid(request, "student_id", NO_STUDENT)
    async with request.app[DB].acquire(timeout=10) as conn:
        who = await caller(request, conn, *ROSTER_READERS)
        row = await visible_student(conn, who, student_id)
    return json_response(student_out(row, datetime.now(UTC)))
