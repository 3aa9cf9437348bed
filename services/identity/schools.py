"""Schools: VO schools and MBO institutions with their locations and programme catalogue.

Every change publishes identity.school_changed with the whole catalogue. The catalogue of the
institutions that take part is public: students choose a programme from it.
"""
from __future__ import annotations

import uuid
from typing import Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.identity.context import api, path_uuid
from shared.api import json_response, read_body
from shared.app import DB, OUTBOX
from shared.auth import require
from shared.events.identity_events import Location, Programme, SchoolChanged
from shared.outbox import Outbox
from shared.problems import Problem, validation_problem

NO_SCHOOL = "Deze school bestaat niet."
NO_PROGRAMME = "Deze opleiding bestaat niet."


class SchoolIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: Literal["vo", "mbo"]
    name: str = Field(min_length=2, max_length=200)
    brin: str | None = Field(None, pattern=r"^[0-9]{2}[A-Z]{2}$", description="BRIN-nummer, bijv. 25LP")
    city: str | None = Field(None, max_length=100)
    participates: bool = True
    parent_rule: Literal["consent", "inspection", "none"] = "consent"


class SchoolPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(None, min_length=2, max_length=200)
    brin: str | None = Field(None, pattern=r"^[0-9]{2}[A-Z]{2}$")
    city: str | None = Field(None, max_length=100)
    participates: bool | None = None
    parent_rule: Literal["consent", "inspection", "none"] | None = None


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=200)
    address: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)


class ProgrammeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=200)
    crebo: str = Field(pattern=r"^[0-9]{5}$", description="CREBO-code: 5 cijfers")
    level: int = Field(ge=1, le=4)
    pathway: Literal["BOL", "BBL"]
    location_id: uuid.UUID | None = None


class ProgrammePatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(None, min_length=2, max_length=200)
    level: int | None = Field(None, ge=1, le=4)
    pathway: Literal["BOL", "BBL"] | None = None
    location_id: uuid.UUID | None = None
    active: bool | None = None


class LocationOut(BaseModel):
    location_id: uuid.UUID
    name: str
    address: str | None
    city: str | None


class ProgrammeOut(BaseModel):
    programme_id: uuid.UUID
    name: str
    crebo: str
    level: int
    pathway: str
    location_id: uuid.UUID | None
    location: str | None = Field(description="e.g. 'Australiëlaan 23, Utrecht'")
    label: str = Field(description="as the dossier shows it: Juridisch secretaresse (4 - BOL - Australiëlaan 23 - 25xxx)")
    active: bool


class SchoolOut(BaseModel):
    school_id: uuid.UUID
    kind: str
    name: str
    brin: str | None
    city: str | None
    participates: bool
    parent_rule: str
    locations: list[LocationOut] = []
    programmes: list[ProgrammeOut] = []


class SchoolList(BaseModel):
    schools: list[SchoolOut]


# --- reading and publishing --------------------------------------------------------------------


def _programme(p: asyncpg.Record, locations: dict[uuid.UUID, asyncpg.Record]) -> ProgrammeOut:
    loc = locations.get(p["location_id"]) if p["location_id"] else None
    where = ", ".join(x for x in (loc["address"] or loc["name"], loc["city"]) if x) if loc else None
    short = (loc["address"] or loc["name"]) if loc else None
    label = f"{p['name']} ({' - '.join(str(x) for x in (p['level'], p['pathway'], short, p['crebo']) if x)})"
    return ProgrammeOut(programme_id=p["id"], name=p["name"], crebo=p["crebo"], level=p["level"],
                        pathway=p["pathway"], location_id=p["location_id"], location=where, label=label,
                        active=p["active"])


async def load_schools(conn: asyncpg.Connection, ids: list[uuid.UUID], *,
                       include_inactive: bool = False) -> list[SchoolOut]:
    schools = await conn.fetch("SELECT * FROM schools WHERE id = ANY($1::uuid[]) ORDER BY name", ids)
    locs = await conn.fetch("SELECT * FROM locations WHERE school_id = ANY($1::uuid[]) ORDER BY name", ids)
    progs = await conn.fetch(
        """SELECT * FROM programmes WHERE school_id = ANY($1::uuid[]) AND (active OR $2)
           ORDER BY name, level DESC, pathway""", ids, include_inactive)
    loc_by_id = {r["id"]: r for r in locs}
    out = []
    for s in schools:
        out.append(SchoolOut(
            school_id=s["id"], kind=s["kind"], name=s["name"], brin=s["brin"], city=s["city"],
            participates=s["participates"], parent_rule=s["parent_rule"],
            locations=[LocationOut(location_id=r["id"], name=r["name"], address=r["address"], city=r["city"])
                       for r in locs if r["school_id"] == s["id"]],
            programmes=[_programme(p, loc_by_id) for p in progs if p["school_id"] == s["id"]]))
    return out


async def load_school(conn: asyncpg.Connection, school_id: uuid.UUID, **kw) -> SchoolOut:
    found = await load_schools(conn, [school_id], **kw)
    if not found:
        raise Problem(404, NO_SCHOOL)
    return found[0]


async def publish_school(conn: asyncpg.Connection, outbox: Outbox, school_id: uuid.UUID) -> SchoolOut:
    """identity.school_changed with the whole (active) catalogue; call inside the change's transaction."""
    school = await load_school(conn, school_id)
    await outbox.add(conn, SchoolChanged(
        school_id=school.school_id, kind=school.kind, name=school.name, brin=school.brin, city=school.city,
        participates=school.participates, parent_rule=school.parent_rule,
        locations=[Location(location_id=loc.location_id, name=loc.name, address=loc.address, city=loc.city)
                   for loc in school.locations],
        programmes=[Programme(programme_id=p.programme_id, name=p.name, crebo=p.crebo, level=p.level,
                              pathway=p.pathway, location_id=p.location_id) for p in school.programmes]),
        subject=str(school_id))
    return school


# --- changes (used by the API and by the demo data) --------------------------------------------


async def upsert_school(conn: asyncpg.Connection, outbox: Outbox, school_id: uuid.UUID, data: SchoolIn) -> bool:
    """Create or update a school with a known id; publishes only when something changed."""
    changed = await conn.fetchval(
        """INSERT INTO schools AS s (id, kind, name, brin, city, participates, parent_rule)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, brin = EXCLUDED.brin,
               city = EXCLUDED.city, participates = EXCLUDED.participates, parent_rule = EXCLUDED.parent_rule,
               updated_at = now()
           WHERE (s.kind, s.name, s.brin, s.city, s.participates, s.parent_rule) IS DISTINCT FROM
                 (EXCLUDED.kind, EXCLUDED.name, EXCLUDED.brin, EXCLUDED.city, EXCLUDED.participates,
                  EXCLUDED.parent_rule)
           RETURNING true""", school_id, data.kind, data.name, data.brin, data.city, data.participates,
        data.parent_rule)
    return bool(changed)


async def upsert_location(conn: asyncpg.Connection, school_id: uuid.UUID, data: LocationIn,
                          location_id: uuid.UUID | None = None) -> tuple[uuid.UUID, bool]:
    row = await conn.fetchrow(
        """INSERT INTO locations AS l (id, school_id, name, address, city) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (school_id, name) DO UPDATE SET address = EXCLUDED.address, city = EXCLUDED.city
           WHERE (l.address, l.city) IS DISTINCT FROM (EXCLUDED.address, EXCLUDED.city)
           RETURNING id""", location_id or uuid.uuid4(), school_id, data.name, data.address, data.city)
    if row:
        return row["id"], True
    return await conn.fetchval("SELECT id FROM locations WHERE school_id = $1 AND name = $2",
                               school_id, data.name), False


async def _check_location(conn: asyncpg.Connection, location_id: uuid.UUID | None, school_id: uuid.UUID) -> None:
    """A programme's location (when it has one) must be one of its institution's: 422 otherwise."""
    if location_id and not await conn.fetchval(
            "SELECT true FROM locations WHERE id = $1 AND school_id = $2", location_id, school_id):
        raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input",
                      errors=[{"field": "location_id", "message": "Deze locatie hoort niet bij deze instelling."}])


async def upsert_programme(conn: asyncpg.Connection, school_id: uuid.UUID, data: ProgrammeIn,
                           programme_id: uuid.UUID | None = None) -> tuple[uuid.UUID, bool]:
    await _check_location(conn, data.location_id, school_id)
    row = await conn.fetchrow(
        """INSERT INTO programmes AS p (id, school_id, name, crebo, level, pathway, location_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (school_id, crebo, pathway, location_id) DO UPDATE
               SET name = EXCLUDED.name, level = EXCLUDED.level, active = true
           WHERE (p.name, p.level, p.active) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.level, true)
           RETURNING id""", programme_id or uuid.uuid4(), school_id, data.name, data.crebo, data.level,
        data.pathway, data.location_id)
    if row:
        return row["id"], True
    return await conn.fetchval(
        """SELECT id FROM programmes WHERE school_id = $1 AND crebo = $2 AND pathway = $3
           AND location_id IS NOT DISTINCT FROM $4""", school_id, data.crebo, data.pathway, data.location_id), False


# --- HTTP: staff and admins --------------------------------------------------------------------


def _member_school(principal) -> uuid.UUID | None:
    return principal.school_id or principal.institution_id


class SchoolQuery(BaseModel):
    """The administrator's list: school names are no personal data, so the search is in the query."""
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    q: str = Field("", max_length=100, description="every word in the name, city or BRIN (case does not matter)")
    kind: Literal["vo", "mbo"] | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=200)


class SchoolPage(SchoolList):
    total: int
    page: int
    page_size: int


@api.route("GET", "/v1/schools", summary="Scholen en instellingen (beheerder: alle, met ?q=, ?kind=vo|mbo, "
                                         "?page= en ?page_size=; medewerker: de eigen)",
           response=SchoolPage, tags=("scholen",), auth=True)
async def list_schools(request: web.Request) -> web.Response:
    principal = await require(request, "admin", "school_admin", "counsellor", "mentor", "mbo_staff")
    try:
        query = SchoolQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        raise validation_problem(exc) from None
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


@api.route("POST", "/v1/schools", summary="Nieuwe school of MBO-instelling (beheerder)", body=SchoolIn,
           response=SchoolOut, status=201, tags=("scholen",), auth=True)
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
           summary="School wijzigen (beheerder; schoolbeheerder: alleen de ouderregel van de eigen school)",
           body=SchoolPatch, response=SchoolOut, tags=("scholen",), auth=True)
async def patch_school(request: web.Request) -> web.Response:
    principal = await require(request, "admin", "school_admin")
    school_id = path_uuid(request, "school_id", NO_SCHOOL)
    body = await read_body(request, SchoolPatch)
    changes = body.model_dump(exclude_unset=True)
    if principal.role == "school_admin":
        if _member_school(principal) != school_id:
            raise Problem(404, NO_SCHOOL)
        if set(changes) - {"parent_rule"}:
            raise Problem(403, "Een schoolbeheerder kan alleen de regel voor ouders/verzorgers wijzigen.",
                          code="forbidden-field")
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        row = await conn.fetchrow("SELECT * FROM schools WHERE id = $1 FOR UPDATE", school_id)
        if row is None:
            raise Problem(404, NO_SCHOOL)
        merged = SchoolIn.model_validate({**{k: row[k] for k in ("kind", "name", "brin", "city", "participates",
                                                                  "parent_rule")}, **changes})
        try:
            changed = await upsert_school(conn, request.app[OUTBOX], school_id, merged)
        except asyncpg.UniqueViolationError:
            raise Problem(409, "Er is al een school met dit BRIN-nummer.", code="brin-taken") from None
        school = (await publish_school(conn, request.app[OUTBOX], school_id) if changed
                  else await load_school(conn, school_id, include_inactive=True))
    return json_response(school)


async def _mbo_for_change(conn: asyncpg.Connection, school_id: uuid.UUID) -> None:
    kind = await conn.fetchval("SELECT kind FROM schools WHERE id = $1 FOR UPDATE", school_id)
    if kind is None:
        raise Problem(404, NO_SCHOOL)
    if kind != "mbo":
        raise Problem(409, "Alleen een MBO-instelling heeft locaties en opleidingen.", code="not-mbo")


@api.route("POST", "/v1/schools/{school_id}/locations", summary="Locatie toevoegen aan een MBO-instelling (beheerder)",
           body=LocationIn, response=SchoolOut, status=201, tags=("scholen",), auth=True)
async def add_location(request: web.Request) -> web.Response:
    await require(request, "admin")
    school_id = path_uuid(request, "school_id", NO_SCHOOL)
    body = await read_body(request, LocationIn)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        await _mbo_for_change(conn, school_id)
        await upsert_location(conn, school_id, body)
        school = await publish_school(conn, request.app[OUTBOX], school_id)
    return json_response(school, status=201)


@api.route("POST", "/v1/schools/{school_id}/programmes", summary="Opleiding toevoegen aan de catalogus (beheerder)",
           body=ProgrammeIn, response=SchoolOut, status=201, tags=("scholen",), auth=True)
async def add_programme(request: web.Request) -> web.Response:
    await require(request, "admin")
    school_id = path_uuid(request, "school_id", NO_SCHOOL)
    body = await read_body(request, ProgrammeIn)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        await _mbo_for_change(conn, school_id)
        await upsert_programme(conn, school_id, body)
        school = await publish_school(conn, request.app[OUTBOX], school_id)
    return json_response(school, status=201)


@api.route("PATCH", "/v1/programmes/{programme_id}", summary="Opleiding wijzigen of uit de catalogus halen (beheerder)",
           body=ProgrammePatch, response=SchoolOut, tags=("scholen",), auth=True)
async def patch_programme(request: web.Request) -> web.Response:
    await require(request, "admin")
    programme_id = path_uuid(request, "programme_id", NO_PROGRAMME)
    body = await read_body(request, ProgrammePatch)
    changes = body.model_dump(exclude_unset=True)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        row = await conn.fetchrow("SELECT * FROM programmes WHERE id = $1 FOR UPDATE", programme_id)
        if row is None:
            raise Problem(404, NO_PROGRAMME)
        await _check_location(conn, changes.get("location_id"), row["school_id"])
        merged = {k: changes.get(k, row[k]) for k in ("name", "level", "pathway", "location_id", "active")}
        try:
            await conn.execute(
                """UPDATE programmes SET name = $2, level = $3, pathway = $4, location_id = $5, active = $6
                   WHERE id = $1""", programme_id, *merged.values())
        except asyncpg.UniqueViolationError:
            raise Problem(409, "Deze opleiding staat al met deze leerweg op deze locatie in de catalogus.",
                          code="programme-exists") from None
        school = await publish_school(conn, request.app[OUTBOX], row["school_id"])
    return json_response(school)


# --- HTTP: the public catalogue ----------------------------------------------------------------


class InstitutionList(BaseModel):
    institutions: list[SchoolOut]


@api.route("GET", "/v1/institutions",
           summary="Deelnemende MBO-instellingen met hun opleidingen (openbaar; zoeken met ?q=)",
           response=InstitutionList, tags=("catalogus",))
async def list_institutions(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip()[:100]
    async with request.app[DB].acquire(timeout=10) as conn:
        ids = [r["id"] for r in await conn.fetch(
            "SELECT id FROM schools WHERE kind = 'mbo' AND participates ORDER BY name")]
        institutions = await load_schools(conn, ids)
    if q:
        needle = q.casefold()

        def hit(*values: str | None) -> bool:
            return any(v and needle in v.casefold() for v in values)

        found = []
        for inst in institutions:
            if hit(inst.name, inst.city, inst.brin):
                found.append(inst)
                continue
            matching = [p for p in inst.programmes if hit(p.name, p.crebo, p.location)]
            if matching:
                found.append(inst.model_copy(update={"programmes": matching}))
        institutions = found
    return json_response(InstitutionList(institutions=institutions))


@api.route("GET", "/v1/institutions/{school_id}", summary="Eén deelnemende MBO-instelling met opleidingen (openbaar)",
           response=SchoolOut, tags=("catalogus",))
async def get_institution(request: web.Request) -> web.Response:
    school_id = path_uuid(request, "school_id", NO_SCHOOL)
    async with request.app[DB].acquire(timeout=10) as conn:
        school = await load_school(conn, school_id)
    if school.kind != "mbo" or not school.participates:
        raise Problem(404, NO_SCHOOL)
    return json_response(school)
