"""Classes with their mentors: a mentor sees their own classes, a counsellor and the school admin
the school's; the school admin decides who mentors a class (a roster file may name them too)."""
from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.identity.access import caller
from services.identity.context import api, path_uuid
from services.identity.schemas import ClassOut
from services.identity.store.classes import load_classes, publish_class_mentors
from shared.api import json_response, read_body
from shared.app import DB, OUTBOX
from shared.auth import require
from shared.problems import Problem

NO_CLASS = "Deze klas bestaat niet."


class MentorsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_ids: list[uuid.UUID] = Field(max_length=20)


class ClassList(BaseModel):
    classes: list[ClassOut]


@api.route("GET", "/v1/classes", summary="Klassen met hun mentoren (mentor: de eigen klassen; decaan en "
           "schoolbeheerder: de school)", response=ClassList, tags=("leerlingen",), auth=True)
async def list_classes(request: web.Request) -> web.Response:
    async with request.app[DB].acquire(timeout=10) as conn:
        who = await caller(request, conn, "mentor", "counsellor", "school_admin")
        if who.role == "mentor":
            classes = await load_classes(conn, "c.id = ANY($1::uuid[])", list(who.class_ids))
        else:
            classes = await load_classes(conn, "c.school_id = $1", who.school_id)
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
        [out] = await load_classes(conn, "c.id = $1", class_id)
    return json_response(out)
