"""Who am I: the caller's role, school or institution, classes or linked student, as they are now
(read fresh, not from the token); for a student whose BSN claim was released, a notice saying so.
MBO staff also read and set their mail preference here (the daily digest, issue 12.6)."""
from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.identity.context import api
from services.identity.domain.names import full_name
from services.identity.routes.sessions import NOT_LOGGED_IN
from services.identity.schemas import Ref
from services.identity.store.bsn_claims import released_notice
from services.identity.store.principals import principal_for
from services.identity.store.staff import publish_staff
from shared.api import json_response, read_body
from shared.app import DB, OUTBOX
from shared.auth import ROLE_LABELS, require
from shared.problems import Problem


class StudentLink(BaseModel):
    student_id: uuid.UUID
    student_number: str
    name: str
    school_id: uuid.UUID
    school_name: str
    class_id: uuid.UUID
    class_name: str
    school_year: int


class MeOut(BaseModel):
    account_id: uuid.UUID
    email: str
    role: str
    role_label: str
    name: str | None
    staff_id: uuid.UUID | None = None
    school: Ref | None = None
    institution: Ref | None = None
    classes: list[Ref] = []
    student: StudentLink | None = Field(None, description="the roster record, once an activation code is redeemed")
    notice: str | None = Field(None, description="something to tell the person now (Dutch): a student whose BSN claim "
                                                 "was released because another account redeemed the code")
    daily_digest: bool | None = Field(None, description="MBO staff: the daily digest mail is on (absent for other "
                                                        "roles)")


@api.route("GET", "/v1/me", summary="Wie ben ik: rol, school, klassen of gekoppelde leerling", response=MeOut,
           tags=("inloggen",), auth=True)
async def me(request: web.Request) -> web.Response:
    p = await require(request)
    async with request.app[DB].acquire(timeout=10) as conn:
        now = await principal_for(conn, p.account_id, uuid.UUID(p.session_id))
        if now is None:
            raise Problem(401, NOT_LOGGED_IN, code="session-ended")
        email = await conn.fetchval("SELECT email FROM accounts WHERE id = $1", p.account_id)
        out = MeOut(account_id=p.account_id, email=email, role=now.role, role_label=ROLE_LABELS[now.role],
                    name=now.name, staff_id=now.staff_id)
        if now.role == "mbo_staff":
            out.daily_digest = await conn.fetchval("SELECT daily_digest FROM staff WHERE id = $1", now.staff_id)
        school_id = now.school_id or now.institution_id
        if school_id:
            school = Ref(id=school_id, name=await conn.fetchval("SELECT name FROM schools WHERE id = $1", school_id))
            out.school, out.institution = (school, None) if now.school_id else (None, school)
        if now.class_ids:
            out.classes = [Ref(id=r["id"], name=r["name"]) for r in await conn.fetch(
                "SELECT id, name FROM classes WHERE id = ANY($1::uuid[]) ORDER BY name", list(now.class_ids))]
        if now.role == "student" and not now.student_id:
            out.notice = await released_notice(conn, p.account_id)
        if now.student_id:
            s = await conn.fetchrow(
                """SELECT s.*, c.name AS class_name, sc.name AS school_name FROM students s
                   JOIN classes c ON c.id = s.class_id JOIN schools sc ON sc.id = s.school_id WHERE s.id = $1""",
                now.student_id)
            out.student = StudentLink(student_id=s["id"], student_number=s["student_number"],
                                      name=full_name(s["roepnaam"], s["tussenvoegsel"], s["achternaam"]),
                                      school_id=s["school_id"], school_name=s["school_name"], class_id=s["class_id"],
                                      class_name=s["class_name"], school_year=s["school_year"])
    return json_response(out)


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    daily_digest: bool = Field(description="the daily digest mail of new completed dossiers: on or off")


class PreferencesOut(BaseModel):
    daily_digest: bool


@api.route("PUT", "/v1/me/preferences", summary="MBO-medewerker: het dagelijks overzicht per e-mail aan- of uitzetten",
           body=PreferencesIn, response=PreferencesOut, tags=("account",), auth=True)
async def put_preferences(request: web.Request) -> web.Response:
    """Stored on the staff record and told in identity.staff_changed (daily_digest), in the same
    transaction: the notification service sends the digest only to those who have it on."""
    p = await require(request, "mbo_staff")
    body = await read_body(request, PreferencesIn)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        staff_id = await conn.fetchval(
            """UPDATE staff SET daily_digest = $2, updated_at = now()
               WHERE account_id = $1 AND active AND role = 'mbo_staff' AND daily_digest IS DISTINCT FROM $2
               RETURNING id""", p.account_id, body.daily_digest)
        if staff_id is not None:  # a change: told to the others; the same choice again changes nothing
            await publish_staff(conn, request.app[OUTBOX], staff_id)
    return json_response(PreferencesOut(daily_digest=body.daily_digest))
