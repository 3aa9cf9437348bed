"""The public catalogue: the MBO institutions that take part, with their programmes (students
choose a programme from it; no login needed)."""
from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from services.identity.context import api, path_uuid
from services.identity.schemas import SchoolOut
from services.identity.store.schools import NO_SCHOOL, load_school, load_schools
from shared.api import Query, json_response, read_query
from shared.app import DB
from shared.problems import Problem


class InstitutionList(BaseModel):
    institutions: list[SchoolOut]


class InstitutionQuery(Query):
    q: str = Field("", max_length=100, description="part of the name, city or BRIN of the institution, or of a "
                                                   "programme's name, CREBO or location (case does not matter)")


@api.route("GET", "/v1/institutions",
           summary="Deelnemende MBO-instellingen met hun opleidingen (openbaar; zoeken met ?q=)",
           response=InstitutionList, tags=("catalogus",), query=InstitutionQuery)
async def list_institutions(request: web.Request) -> web.Response:
    q = read_query(request, InstitutionQuery).q.strip()
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
