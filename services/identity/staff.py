"""Staff: mentors, counsellors, school admins and MBO staff; invitations; the mentors of a class.

An admin makes staff for any school (school admins, MBO staff, ...); a school admin only mentors
and counsellors of their own school. A new member of staff gets an invitation mail with a
single-use link to set a password. Mentors named in a roster CSV who are not on staff yet get a
staff record (linked to the class) but no invitation: the import reports them and the school
admin invites them (``POST /v1/staff/{id}/invitation``), so a typo in a file never sends
someone a way in.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.identity.access import caller
from services.identity.context import (SearchIn, api, issue_email_token, normalize_email, path_uuid, settings_of,
                                       word_conditions)
from services.identity.settings import IdentitySettings
from shared.api import json_response, read_body
from shared.app import DB, OUTBOX
from shared.auth import ROLE_LABELS, require
from shared.events.identity_events import ClassMentorsChanged, Mentor, StaffChanged, StaffInvited
from shared.outbox import Outbox
from shared.problems import Problem

NO_STAFF = "Deze medewerker bestaat niet."
NO_CLASS = "Deze klas bestaat niet."
StaffRole = Literal["mentor", "counsellor", "school_admin", "mbo_staff", "admin"]
MAY_CREATE = {"admin": {"mentor", "counsellor", "school_admin", "mbo_staff", "admin"},
              "school_admin": {"mentor", "counsellor"}}
SCHOOL_KIND = {"mentor": "vo", "counsellor": "vo", "school_admin": "vo", "mbo_staff": "mbo"}


class StaffIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    role: StaffRole
    name: str = Field(min_length=2, max_length=200)
    email: EmailStr = Field(max_length=254)
    school_id: uuid.UUID | None = Field(None, description="verplicht voor een beheerder; een schoolbeheerder: de eigen school")
    invite: bool = Field(True, description="meteen een uitnodiging sturen")


class StaffPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(None, min_length=2, max_length=200)
    active: bool | None = None


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


class StaffList(BaseModel):
    staff: list[StaffOut]


class StaffSearchIn(SearchIn):
    role: StaffRole | None = None


class StaffPage(BaseModel):
    total: int
    page: int
    page_size: int
    staff: list[StaffOut]


class MentorsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_ids: list[uuid.UUID] = Field(max_length=20)


class ClassOut(BaseModel):
    class_id: uuid.UUID
    name: str
    school_year: int
    students: int
    mentors: list[Mentor]


class ClassList(BaseModel):
    classes: list[ClassOut]


# --- service functions ---------------------------------------------------------------------------


async def publish_staff(conn: asyncpg.Connection, outbox: Outbox, staff_id: uuid.UUID) -> None:
    s = await conn.fetchrow("SELECT * FROM staff WHERE id = $1", staff_id)
    await outbox.add(conn, StaffChanged(staff_id=s["id"], account_id=s["account_id"], school_id=s["school_id"],
                                        role=s["role"], name=s["name"], email=s["email"], active=s["active"]),
                     subject=str(staff_id))


async def publish_class_mentors(conn: asyncpg.Connection, outbox: Outbox, class_ids: list[uuid.UUID]) -> None:
    """identity.class_mentors_changed (the full list) for each class."""
    if not class_ids:
        return
    classes = await conn.fetch("SELECT * FROM classes WHERE id = ANY($1::uuid[]) ORDER BY name", class_ids)
    links = await conn.fetch(
        """SELECT cm.class_id, s.id, s.account_id, s.name, s.email FROM class_mentors cm
           JOIN staff s ON s.id = cm.staff_id WHERE cm.class_id = ANY($1::uuid[]) AND s.active
           ORDER BY s.name""", class_ids)
    await outbox.add_many(conn, [(ClassMentorsChanged(
        school_id=c["school_id"], class_id=c["id"], class_name=c["name"], school_year=c["school_year"],
        mentors=[Mentor(staff_id=m["id"], account_id=m["account_id"], name=m["name"], email=m["email"])
                 for m in links if m["class_id"] == c["id"]]), str(c["id"])) for c in classes])


async def create_staff(conn: asyncpg.Connection, outbox: Outbox, *, role: str, name: str, email: str,
                       school_id: uuid.UUID | None, staff_id: uuid.UUID | None = None) -> uuid.UUID:
    """A staff record (no account yet); 409 when the address is taken."""
    email = normalize_email(email)
    if await conn.fetchval("SELECT true FROM accounts WHERE email = $1", email):
        raise Problem(409, "Er bestaat al een account met dit e-mailadres.", code="email-taken")
    existing = await conn.fetchval("SELECT id FROM staff WHERE school_id IS NOT DISTINCT FROM $1 AND email = $2",
                                   school_id, email)
    if existing:
        raise Problem(409, "Deze medewerker staat al in de lijst van deze school.", code="staff-exists",
                      staff_id=str(existing))
    staff_id = staff_id or uuid.uuid4()
    await conn.execute("INSERT INTO staff (id, school_id, role, name, email) VALUES ($1, $2, $3, $4, $5)",
                       staff_id, school_id, role, name, email)
    await publish_staff(conn, outbox, staff_id)
    return staff_id


async def ensure_account(conn: asyncpg.Connection, staff: asyncpg.Record) -> uuid.UUID:
    """The staff member's account (made without a password when missing)."""
    if staff["account_id"]:
        return staff["account_id"]
    if await conn.fetchval("SELECT true FROM accounts WHERE email = $1", staff["email"]):
        raise Problem(409, "Er bestaat al een ander account met het e-mailadres van deze medewerker.",
                      code="email-taken")
    account_id = uuid.uuid4()
    await conn.execute("INSERT INTO accounts (id, email, kind) VALUES ($1, $2, 'staff')", account_id, staff["email"])
    await conn.execute("UPDATE staff SET account_id = $2, updated_at = now() WHERE id = $1", staff["id"], account_id)
    return account_id


async def invite(conn: asyncpg.Connection, outbox: Outbox, settings: IdentitySettings, staff_id: uuid.UUID) -> None:
    """Account (if needed) plus a fresh single-use link to set a password; earlier links stop working."""
    staff = await conn.fetchrow(
        """SELECT s.*, sc.name AS school_name, a.password_hash IS NOT NULL AS has_password
           FROM staff s LEFT JOIN schools sc ON sc.id = s.school_id LEFT JOIN accounts a ON a.id = s.account_id
           WHERE s.id = $1 FOR UPDATE OF s""", staff_id)
    if not staff["active"]:
        raise Problem(409, "Deze medewerker is niet actief; maak hem eerst weer actief.", code="staff-inactive")
    if staff["has_password"]:
        raise Problem(409, "Deze medewerker heeft al een wachtwoord. Bij een vergeten wachtwoord: "
                      "'wachtwoord vergeten' op de inlogpagina.", code="already-active")
    had_account = staff["account_id"] is not None
    account_id = await ensure_account(conn, staff)
    await conn.execute("""UPDATE email_tokens SET used_at = now()
                          WHERE account_id = $1 AND purpose = 'invitation' AND used_at IS NULL""", account_id)
    token, expires_at = await issue_email_token(conn, purpose="invitation", email=staff["email"],
                                                ttl=timedelta(hours=settings.invitation_ttl_hours),
                                                account_id=account_id)
    await conn.execute("UPDATE staff SET invited_at = now() WHERE id = $1", staff_id)
    if not had_account:
        await publish_staff(conn, outbox, staff_id)
    await outbox.add(conn, StaffInvited(
        staff_id=staff_id, account_id=account_id, email=staff["email"], name=staff["name"], role=staff["role"],
        school_name=staff["school_name"], accept_url=settings.link(f"/account/uitnodiging?token={token}"),
        expires_at=expires_at), subject=str(staff_id))


async def load_staff(conn: asyncpg.Connection, where: str, *args, limit: int | None = None,
                     offset: int = 0) -> list[StaffOut]:
    page = f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}" if limit is not None else ""
    rows = await conn.fetch(
        f"""SELECT s.*, a.password_hash IS NOT NULL AS has_password,
                   coalesce(json_agg(json_build_object('class_id', c.id, 'name', c.name) ORDER BY c.name)
                            FILTER (WHERE c.id IS NOT NULL), '[]') AS classes
            FROM staff s LEFT JOIN accounts a ON a.id = s.account_id
            LEFT JOIN class_mentors cm ON cm.staff_id = s.id LEFT JOIN classes c ON c.id = cm.class_id
            WHERE {where} GROUP BY s.id, a.password_hash ORDER BY s.name, s.id{page}""",
        *args, *((limit, offset) if limit is not None else ()))
    out = []
    for r in rows:
        status = ("inactief" if not r["active"] else "actief" if r["has_password"]
                  else "uitgenodigd" if r["invited_at"] else "niet uitgenodigd")
        out.append(StaffOut(staff_id=r["id"], role=r["role"], role_label=ROLE_LABELS[r["role"]], name=r["name"],
                            email=r["email"], school_id=r["school_id"], account_id=r["account_id"],
                            active=r["active"], status=status,
                            invited_at=r["invited_at"].isoformat() if r["invited_at"] else None,
                            classes=[ClassRef(**c) for c in r["classes"]]))
    return out


async def _visible_staff(request: web.Request, conn: asyncpg.Connection, staff_id: uuid.UUID,
                         *roles: str) -> tuple[asyncpg.Record, object]:
    who = await caller(request, conn, *roles)
    row = await conn.fetchrow("SELECT * FROM staff WHERE id = $1", staff_id)
    if row is None or (who.role != "admin" and row["school_id"] != who.school_id):
        raise Problem(404, NO_STAFF)
    return row, who


# --- HTTP ----------------------------------------------------------------------------------------


@api.route("GET", "/v1/staff", summary="Medewerkers (beheerder: alle of ?school_id=; school: de eigen)",
           response=StaffList, tags=("medewerkers",), auth=True)
async def list_staff(request: web.Request) -> web.Response:
    async with request.app[DB].acquire(timeout=10) as conn:
        who = await caller(request, conn, "admin", "school_admin", "counsellor")
        if who.role == "admin":
            raw = request.query.get("school_id")
            if raw:
                try:
                    staff = await load_staff(conn, "s.school_id = $1", uuid.UUID(raw))
                except ValueError:
                    raise Problem(404, "Deze school bestaat niet.") from None
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
           tags=("medewerkers",), auth=True)
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
            if kind != SCHOOL_KIND[body.role]:
                raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=[{
                    "field": "role", "message": f"Een {ROLE_LABELS[body.role]} hoort bij een "
                    f"{'VO-school' if SCHOOL_KIND[body.role] == 'vo' else 'MBO-instelling'}."}])
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
           response=StaffOut, tags=("medewerkers",), auth=True)
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
                if not active:
                    await conn.execute("UPDATE sessions SET ended_at = now() WHERE account_id = $1 AND ended_at IS NULL",
                                       row["account_id"])
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


async def _load_classes(conn: asyncpg.Connection, where: str, arg) -> list[ClassOut]:
    rows = await conn.fetch(
        f"""SELECT c.*, (SELECT count(*) FROM students s WHERE s.class_id = c.id AND s.active) AS students
            FROM classes c WHERE {where} ORDER BY c.school_year, c.name""", arg)
    links = await conn.fetch(
        """SELECT cm.class_id, s.id, s.account_id, s.name, s.email FROM class_mentors cm
           JOIN staff s ON s.id = cm.staff_id WHERE cm.class_id = ANY($1::uuid[]) AND s.active ORDER BY s.name""",
        [r["id"] for r in rows])
    return [ClassOut(class_id=r["id"], name=r["name"], school_year=r["school_year"], students=r["students"],
                     mentors=[Mentor(staff_id=m["id"], account_id=m["account_id"], name=m["name"], email=m["email"])
                              for m in links if m["class_id"] == r["id"]]) for r in rows]


@api.route("GET", "/v1/classes", summary="Klassen met hun mentoren (mentor: de eigen klassen; decaan en "
           "schoolbeheerder: de school)", response=ClassList, tags=("leerlingen",), auth=True)
async def list_classes(request: web.Request) -> web.Response:
    async with request.app[DB].acquire(timeout=10) as conn:
        who = await caller(request, conn, "mentor", "counsellor", "school_admin")
        if who.role == "mentor":
            classes = await _load_classes(conn, "c.id = ANY($1::uuid[])", list(who.class_ids))
        else:
            classes = await _load_classes(conn, "c.school_id = $1", who.school_id)
    return json_response(ClassList(classes=classes))


@api.route("PUT", "/v1/classes/{class_id}/mentors", summary="De mentoren van een klas vastleggen (schoolbeheerder)",
           body=MentorsIn, response=ClassOut, tags=("leerlingen",), auth=True)
async def put_class_mentors(request: web.Request) -> web.Response:
    await require(request, "school_admin")
    class_id = path_uuid(request, "class_id", NO_CLASS)
    body = await read_body(request, MentorsIn)
    wanted = set(body.staff_ids)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        who = await caller(request, conn, "school_admin")
        school_id = await conn.fetchval("SELECT school_id FROM classes WHERE id = $1 FOR UPDATE", class_id)
        if school_id is None or school_id != who.school_id:
            raise Problem(404, NO_CLASS)
        eligible = {r["id"] for r in await conn.fetch(
            """SELECT id FROM staff WHERE id = ANY($1::uuid[]) AND school_id = $2 AND active
               AND role IN ('mentor', 'counsellor')""", list(wanted), school_id)}
        if wanted - eligible:
            raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=[
                {"field": "staff_ids", "message": "Kies actieve mentoren of decanen van deze school."}])
        current = {r["staff_id"] for r in await conn.fetch(
            "SELECT staff_id FROM class_mentors WHERE class_id = $1", class_id)}
        if current != wanted:
            await conn.execute("DELETE FROM class_mentors WHERE class_id = $1 AND NOT staff_id = ANY($2::uuid[])",
                               class_id, list(wanted))
            await conn.execute("""INSERT INTO class_mentors (class_id, staff_id) SELECT $1, unnest($2::uuid[])
                                  ON CONFLICT DO NOTHING""", class_id, list(wanted))
            await publish_class_mentors(conn, request.app[OUTBOX], [class_id])
        [out] = await _load_classes(conn, "c.id = $1", class_id)
    return json_response(out)
