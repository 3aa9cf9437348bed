"""Staff: mentors, counsellors, school admins and MBO staff; invitations (the mentors of a class:
``classes.py``; the SQL: ``store/staff.py``).

An admin makes staff for any school (school admins, MBO staff, ...); a school admin only mentors
and counsellors of their own school. A new member of staff gets an invitation mail with a
single-use link to set a password. Mentors named in a roster CSV who are not on staff yet get a
staff record (linked to the class) but no invitation: the import reports them and the school
admin invites them (``POST /v1/staff/{id}/invitation``), so a typo in a file never sends
someone a way in.
"""
from __future__ import annotations

import uuid
from typing import Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.identity.access import caller
from services.identity.context import api, path_uuid, settings_of
from services.identity.schemas import RECEIVING_KINDS, SearchIn, SingleLineEmail, StaffOut, single_line
from services.identity.store.classes import publish_class_mentors
from services.identity.store.search import word_conditions
from services.identity.store.sessions import access_ended, end_sessions
from services.identity.store.staff import create_staff, invite, load_staff, publish_staff
from shared.api import Query, json_response, omittable, read_body, read_query
from shared.app import DB, OUTBOX
from shared.auth import ROLE_LABELS, require
from shared.problems import Problem
from shared.text import SingleLine

NO_STAFF = "Deze medewerker bestaat niet."
StaffRole = Literal["mentor", "counsellor", "school_admin", "mbo_staff", "admin"]
MAY_CREATE = {"admin": {"mentor", "counsellor", "school_admin", "mbo_staff", "admin"},
              "school_admin": {"mentor", "counsellor"}}
SCHOOL_KIND = {"mentor": "vo", "counsellor": "vo", "school_admin": "vo", "mbo_staff": "mbo"}
# the kinds of school a role may belong to: the receiving-staff role (mbo_staff) at any receiving school
SCHOOL_KINDS = {"mentor": ("vo",), "counsellor": ("vo",), "school_admin": ("vo",), "mbo_staff": RECEIVING_KINDS}


class StaffIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    role: StaffRole
    name: SingleLine = Field(min_length=2, max_length=200)
    email: SingleLineEmail = Field(max_length=254)
    school_id: uuid.UUID | None = Field(None, description="verplicht voor een beheerder; een schoolbeheerder: de eigen school")
    invite: bool = Field(True, description="meteen een uitnodiging sturen")


class StaffPatch(BaseModel):
    """What changes; a field left out stays as it is."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: single_line(min_length=2, max_length=200) = omittable()
    active: bool = omittable(strict=True)


class StaffQuery(Query):
    school_id: uuid.UUID | None = Field(None, description="beheerder: alleen de medewerkers van deze school")


class StaffList(BaseModel):
    staff: list[StaffOut]


class StaffSearchIn(SearchIn):
    role: StaffRole | None = None


class StaffPage(BaseModel):
    total: int
    page: int
    page_size: int
    staff: list[StaffOut]


async def _visible_staff(request: web.Request, conn: asyncpg.Connection, staff_id: uuid.UUID,
                         *roles: str) -> tuple[asyncpg.Record, object]:
    who = await caller(request, conn, *roles)
    row = await conn.fetchrow("SELECT * FROM staff WHERE id = $1", staff_id)
    if row is None or (who.role != "admin" and row["school_id"] != who.school_id):
        raise Problem(404, NO_STAFF)
    return row, who


@api.route("GET", "/v1/staff", summary="Medewerkers (beheerder: alle of ?school_id=; school: de eigen)",
           response=StaffList, tags=("medewerkers",), auth=True, query=StaffQuery)
async def list_staff(request: web.Request) -> web.Response:
    async with request.app[DB].acquire(timeout=10) as conn:
        who = await caller(request, conn, "admin", "school_admin", "counsellor")
        query = read_query(request, StaffQuery)  # who may ask is checked before what is asked
        if who.role == "admin":
            if query.school_id is not None:
                staff = await load_staff(conn, "s.school_id = $1", query.school_id)
            else:
                staff = await load_staff(conn, "true")
        else:
            staff = await load_staff(conn, "s.school_id = $1", who.school_id)
    return json_response(StaffList(staff=staff))


@api.route("POST", "/v1/staff/search", summary="Medewerkers zoeken (q: elk woord moet voorkomen in naam of "
           "e-mailadres) en filteren op rol, per pagina (beheerder: alle; school: de eigen)", body=StaffSearchIn,
           response=StaffPage, tags=("medewerkers",), auth=True)
async def search_staff(request: web.Request) -> web.Response:
    readers = ("admin", "school_admin", "counsellor")
    await require(request, *readers)  # who may ask is checked before what is asked
    body = await read_body(request, StaffSearchIn)
    async with request.app[DB].acquire(timeout=10) as conn:
        who = await caller(request, conn, *readers)
        where, args = ["true"], []
        if who.role != "admin":
            args.append(who.school_id)
            where.append(f"s.school_id = ${len(args)}")
        if body.role is not None:
            args.append(body.role)
            where.append(f"s.role = ${len(args)}")
        where += word_conditions("concat_ws(' ', s.name, s.email)", body.q, args)
        sql = " AND ".join(where)
        async with conn.transaction(readonly=True, isolation="repeatable_read"):  # the count and the page agree
            total = await conn.fetchval(f"SELECT count(*) FROM staff s WHERE {sql}", *args)
            staff = await load_staff(conn, sql, *args, limit=body.page_size, offset=body.offset)
    return json_response(StaffPage(total=total, page=body.page, page_size=body.page_size, staff=staff))


@api.route("POST", "/v1/staff", summary="Medewerker toevoegen en uitnodigen (beheerder; schoolbeheerder: "
           "mentoren en decanen van de eigen school)", body=StaffIn, response=StaffOut, status=201,
           tags=("medewerkers",), auth=True, statuses=(409,))
async def add_staff(request: web.Request) -> web.Response:
    await require(request, "admin", "school_admin")  # who may ask is checked before what is asked
    body = await read_body(request, StaffIn)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        who = await caller(request, conn, "admin", "school_admin")
        if body.role not in MAY_CREATE[who.role]:
            raise Problem(403, f"Een {ROLE_LABELS[who.role]} kan geen {ROLE_LABELS[body.role]} toevoegen.",
                          code="forbidden-role")
        school_id = body.school_id
        if who.role == "school_admin":
            if school_id not in (None, who.school_id):
                raise Problem(403, "Je kunt alleen medewerkers van je eigen school toevoegen.", code="other-school")
            school_id = who.school_id
        if body.role == "admin":
            school_id = None
        else:
            if school_id is None:
                raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input",
                              errors=[{"field": "school_id", "message": "Kies de school of instelling."}])
            kind = await conn.fetchval("SELECT kind FROM schools WHERE id = $1", school_id)
            if kind is None:
                raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input",
                              errors=[{"field": "school_id", "message": "Deze school bestaat niet."}])
            if kind not in SCHOOL_KINDS[body.role]:
                raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=[{
                    "field": "role", "message": f"Een {ROLE_LABELS[body.role]} hoort bij een "
                    f"{'VO-school' if SCHOOL_KIND[body.role] == 'vo' else 'ontvangende school (mbo, havo, vmbo)'}."}])
        staff_id = await create_staff(conn, request.app[OUTBOX], role=body.role, name=body.name,
                                      email=str(body.email), school_id=school_id)
        if body.invite:
            await invite(conn, request.app[OUTBOX], settings_of(request), staff_id)
        [out] = await load_staff(conn, "s.id = $1", staff_id)
    return json_response(out, status=201)


@api.route("GET", "/v1/staff/{staff_id}", summary="Eén medewerker", response=StaffOut, tags=("medewerkers",),
           auth=True)
async def get_staff(request: web.Request) -> web.Response:
    staff_id = path_uuid(request, "staff_id", NO_STAFF)
    async with request.app[DB].acquire(timeout=10) as conn:
        await _visible_staff(request, conn, staff_id, "admin", "school_admin", "counsellor")
        [out] = await load_staff(conn, "s.id = $1", staff_id)
    return json_response(out)


@api.route("PATCH", "/v1/staff/{staff_id}", summary="Naam wijzigen of (de)activeren", body=StaffPatch,
           response=StaffOut, tags=("medewerkers",), auth=True, statuses=(409,))
async def patch_staff(request: web.Request) -> web.Response:
    await require(request, "admin", "school_admin")
    staff_id = path_uuid(request, "staff_id", NO_STAFF)
    body = await read_body(request, StaffPatch)
    outbox = request.app[OUTBOX]
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        row, who = await _visible_staff(request, conn, staff_id, "admin", "school_admin")
        if row["role"] not in MAY_CREATE[who.role]:
            raise Problem(403, f"Een {ROLE_LABELS[who.role]} kan geen {ROLE_LABELS[row['role']]} wijzigen.",
                          code="forbidden-role")
        if row["account_id"] == who.principal.account_id and body.active is False:
            raise Problem(409, "Je kunt jezelf niet op inactief zetten.", code="self")
        name = body.name if body.name is not None else row["name"]
        active = body.active if body.active is not None else row["active"]
        if (name, active) != (row["name"], row["active"]):
            await conn.execute("UPDATE staff SET name = $2, active = $3, updated_at = now() WHERE id = $1",
                               staff_id, name, active)
            classes = [r["class_id"] for r in await conn.fetch(
                "SELECT class_id FROM class_mentors WHERE staff_id = $1", staff_id)]
            if row["account_id"]:
                await conn.execute("UPDATE accounts SET active = $2 WHERE id = $1", row["account_id"], active)
                if not active:  # every session ends; every service refuses the tokens made until now
                    _, ended_at = await end_sessions(conn, row["account_id"])
                    await access_ended(conn, outbox, row["account_id"], "deactivated", ended_at)
            if not active:
                await conn.execute("DELETE FROM class_mentors WHERE staff_id = $1", staff_id)
            await publish_staff(conn, outbox, staff_id)
            await publish_class_mentors(conn, outbox, classes)
        [out] = await load_staff(conn, "s.id = $1", staff_id)
    return json_response(out)


@api.route("POST", "/v1/staff/{staff_id}/invitation", summary="(Opnieuw) een uitnodiging sturen",
           response=StaffOut, status=202, tags=("medewerkers",), auth=True)
async def send_invitation(request: web.Request) -> web.Response:
    staff_id = path_uuid(request, "staff_id", NO_STAFF)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        row, who = await _visible_staff(request, conn, staff_id, "admin", "school_admin")
        if row["role"] not in MAY_CREATE[who.role]:
            raise Problem(403, f"Een {ROLE_LABELS[who.role]} kan geen {ROLE_LABELS[row['role']]} uitnodigen.",
                          code="forbidden-role")
        await invite(conn, request.app[OUTBOX], settings_of(request), staff_id)
        [out] = await load_staff(conn, "s.id = $1", staff_id)
    return json_response(out, status=202)
