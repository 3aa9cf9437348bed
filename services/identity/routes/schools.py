"""Schools: VO schools and receiving schools (mbo, havo, vmbo) with their locations and programme
catalogue, as the administrator manages them (the public catalogue: ``institutions.py``).

Every change publishes identity.school_changed with the whole catalogue. The catalogue of the
receiving schools is public: students choose a programme (or a HAVO/VMBO year or profile) from it.
"""
from __future__ import annotations

import uuid
from typing import Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.identity.context import api, path_uuid
from services.identity.schemas import (RETENTION_HELP, LocationIn, ProgrammeIn, SchoolIn, SchoolList, SchoolOut,
                                       single_line)
from services.identity.store.schools import (NO_SCHOOL, check_location, load_school, load_schools, publish_school,
                                             receiving_for_change, upsert_location, upsert_programme, upsert_school)
from shared.api import Query, QueryInt, json_response, omittable, read_body, read_query
from shared.app import DB, OUTBOX
from shared.auth import require
from shared.problems import Problem, validation_problem
from shared.text import SingleLine

NO_PROGRAMME = "Deze opleiding bestaat niet."


class SchoolPatch(BaseModel):
    """What changes; a field left out stays as it is. Only BRIN and city can be emptied (null)."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: single_line(min_length=2, max_length=200) = omittable()
    brin: single_line(pattern=r"^[0-9]{2}[A-Z]{2}$") | None = Field(None, description="null: geen BRIN-nummer")
    city: single_line(max_length=100) | None = Field(None, description="null: geen plaats")
    participates: bool = omittable(strict=True)
    parent_rule: Literal["consent", "inspection", "none"] = omittable()
    retention_years: int = omittable(ge=1, le=10, strict=True, description=RETENTION_HELP)


class ProgrammePatch(BaseModel):
    """What changes; a field left out stays as it is. Only the location can be emptied (null)."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: single_line(min_length=2, max_length=200) = omittable()
    level: int = omittable(ge=1, le=4, strict=True)
    pathway: Literal["BOL", "BBL"] = omittable()
    profile: single_line(max_length=200) | None = Field(None, description="havo/vmbo: profiel of leerweg; null: geen")
    location_id: uuid.UUID | None = Field(None, description="null: geen locatie")
    active: bool = omittable(strict=True, description="false: uit de catalogus")


def _member_school(principal) -> uuid.UUID | None:
    return principal.school_id or principal.institution_id


class SchoolQuery(Query):
    """The administrator's list: school names are no personal data, so the search is in the query."""
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    q: SingleLine = Field("", max_length=100, description="every word in the name, city or BRIN (case does not matter)")
    kind: Literal["vo", "mbo", "havo", "vmbo"] | None = None
    page: QueryInt = Field(1, ge=1, le=100_000)
    page_size: QueryInt = Field(50, ge=1, le=200)


class SchoolPage(SchoolList):
    total: int
    page: int
    page_size: int


@api.route("GET", "/v1/schools", summary="Scholen en instellingen (beheerder: alle, met ?q=, ?kind=vo|mbo, "
                                         "?page= en ?page_size=; medewerker: de eigen)",
           response=SchoolPage, tags=("scholen",), auth=True, query=SchoolQuery)
async def list_schools(request: web.Request) -> web.Response:
    principal = await require(request, "admin", "school_admin", "counsellor", "mentor", "mbo_staff")
    query = read_query(request, SchoolQuery)
    async with request.app[DB].acquire(timeout=10) as conn:
        if principal.role == "admin":
            args: list = [query.kind]
            conditions = ["($1::text IS NULL OR kind = $1)"]
            for word in query.q.lower().split()[:5]:
                args.append("%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
                conditions.append(f"lower(name || ' ' || coalesce(city, '') || ' ' || coalesce(brin, '')) "
                                  f"LIKE ${len(args)}")
            where = " AND ".join(conditions)
            total = await conn.fetchval(f"SELECT count(*) FROM schools WHERE {where}", *args)
            ids = [r["id"] for r in await conn.fetch(
                f"""SELECT id FROM schools WHERE {where} ORDER BY name, id
                    LIMIT {query.page_size} OFFSET {(query.page - 1) * query.page_size}""", *args)]
        else:
            ids = [_member_school(principal)] if _member_school(principal) else []
            total = len(ids)
        schools = await load_schools(conn, ids, include_inactive=True)
    return json_response(SchoolPage(schools=schools, total=total, page=query.page, page_size=query.page_size))


@api.route("POST", "/v1/schools", summary="Nieuwe vo-school of ontvangende school: mbo, havo, vmbo (beheerder)", body=SchoolIn,
           response=SchoolOut, status=201, tags=("scholen",), auth=True, statuses=(409,))
async def create_school(request: web.Request) -> web.Response:
    await require(request, "admin")
    body = await read_body(request, SchoolIn)
    school_id = uuid.uuid4()
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        try:
            await upsert_school(conn, request.app[OUTBOX], school_id, body)
        except asyncpg.UniqueViolationError:
            raise Problem(409, "Er is al een school met dit BRIN-nummer.", code="brin-taken") from None
        school = await publish_school(conn, request.app[OUTBOX], school_id)
    return json_response(school, status=201)


@api.route("GET", "/v1/schools/{school_id}", summary="Eén school of instelling met catalogus",
           response=SchoolOut, tags=("scholen",), auth=True)
async def get_school(request: web.Request) -> web.Response:
    principal = await require(request, "admin", "school_admin", "counsellor", "mentor", "mbo_staff")
    school_id = path_uuid(request, "school_id", NO_SCHOOL)
    if principal.role != "admin" and _member_school(principal) != school_id:
        raise Problem(404, NO_SCHOOL)
    async with request.app[DB].acquire(timeout=10) as conn:
        return json_response(await load_school(conn, school_id, include_inactive=True))


@api.route("PATCH", "/v1/schools/{school_id}",
           summary="School wijzigen (beheerder; schoolbeheerder: alleen de ouderregel en de bewaartermijn van de eigen school)",
           body=SchoolPatch, response=SchoolOut, tags=("scholen",), auth=True, statuses=(409,))
async def patch_school(request: web.Request) -> web.Response:
    principal = await require(request, "admin", "school_admin")
    school_id = path_uuid(request, "school_id", NO_SCHOOL)
    body = await read_body(request, SchoolPatch)
    changes = body.model_dump(exclude_unset=True)
    if principal.role == "school_admin":
        if _member_school(principal) != school_id:
            raise Problem(404, NO_SCHOOL)
        if set(changes) - {"parent_rule", "retention_years"}:
            raise Problem(403, "Een schoolbeheerder kan alleen de regel voor ouders/verzorgers en de bewaartermijn "
                               "wijzigen.",
                          code="forbidden-field")
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        row = await conn.fetchrow("SELECT * FROM schools WHERE id = $1 FOR UPDATE", school_id)
        if row is None:
            raise Problem(404, NO_SCHOOL)
        try:  # a stored value from before today's rules is named, not a 500
            merged = SchoolIn.model_validate({**{k: row[k] for k in ("kind", "name", "brin", "city", "participates",
                                                                      "parent_rule", "retention_years")}, **changes})
        except ValidationError as exc:
            raise validation_problem(exc) from None
        try:
            changed = await upsert_school(conn, request.app[OUTBOX], school_id, merged)
        except asyncpg.UniqueViolationError:
            raise Problem(409, "Er is al een school met dit BRIN-nummer.", code="brin-taken") from None
        school = (await publish_school(conn, request.app[OUTBOX], school_id) if changed
                  else await load_school(conn, school_id, include_inactive=True))
    return json_response(school)


@api.route("POST", "/v1/schools/{school_id}/locations", summary="Locatie toevoegen aan een ontvangende school (beheerder)",
           body=LocationIn, response=SchoolOut, status=201, tags=("scholen",), auth=True, statuses=(409,))
async def add_location(request: web.Request) -> web.Response:
    await require(request, "admin")
    school_id = path_uuid(request, "school_id", NO_SCHOOL)
    body = await read_body(request, LocationIn)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        await receiving_for_change(conn, school_id)
        await upsert_location(conn, school_id, body)
        school = await publish_school(conn, request.app[OUTBOX], school_id)
    return json_response(school, status=201)


@api.route("POST", "/v1/schools/{school_id}/programmes", summary="Opleiding (mbo) of leerjaar/profiel (havo, vmbo) toevoegen aan de catalogus (beheerder)",
           body=ProgrammeIn, response=SchoolOut, status=201, tags=("scholen",), auth=True, statuses=(409,))
async def add_programme(request: web.Request) -> web.Response:
    await require(request, "admin")
    school_id = path_uuid(request, "school_id", NO_SCHOOL)
    body = await read_body(request, ProgrammeIn)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        kind = await receiving_for_change(conn, school_id)
        if errors := body.problems_for(kind):
            raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=errors)
        try:
            await upsert_programme(conn, school_id, body)
        except asyncpg.UniqueViolationError:  # a crebo-less MBO row or the like: named, not a 500
            raise Problem(409, "Deze opleiding staat al in de catalogus.", code="programme-exists") from None
        school = await publish_school(conn, request.app[OUTBOX], school_id)
    return json_response(school, status=201)


@api.route("PATCH", "/v1/programmes/{programme_id}", summary="Opleiding wijzigen of uit de catalogus halen (beheerder)",
           body=ProgrammePatch, response=SchoolOut, tags=("scholen",), auth=True, statuses=(409,))
async def patch_programme(request: web.Request) -> web.Response:
    await require(request, "admin")
    programme_id = path_uuid(request, "programme_id", NO_PROGRAMME)
    body = await read_body(request, ProgrammePatch)
    changes = body.model_dump(exclude_unset=True)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        row = await conn.fetchrow("SELECT * FROM programmes WHERE id = $1 FOR UPDATE", programme_id)
        if row is None:
            raise Problem(404, NO_PROGRAMME)
        await check_location(conn, changes.get("location_id"), row["school_id"])
        kind = await conn.fetchval("SELECT kind FROM schools WHERE id = $1", row["school_id"])
        merged = {k: changes.get(k, row[k]) for k in ("name", "level", "pathway", "location_id", "active")}
        merged["profile"] = changes["profile"] or "" if "profile" in changes else row["profile"]
        check = ProgrammeIn.model_construct(name=merged["name"], crebo=row["crebo"], level=merged["level"],
                                            pathway=merged["pathway"], profile=merged["profile"] or None)
        if errors := check.problems_for(kind):
            raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=errors)
        try:
            await conn.execute(
                """UPDATE programmes SET name = $2, level = $3, pathway = $4, location_id = $5, active = $6,
                   profile = $7 WHERE id = $1""", programme_id, *merged.values())
        except asyncpg.UniqueViolationError:
            raise Problem(409, "Deze opleiding staat al met deze leerweg op deze locatie in de catalogus.",
                          code="programme-exists") from None
        school = await publish_school(conn, request.app[OUTBOX], row["school_id"])
    return json_response(school)
