"""The public catalogue: the receiving schools (mbo, havo, vmbo), with their programmes, years or
profiles (students choose from it; no login needed). A school that does not take part in
Doorstroom (``participates`` false) is listed too: a student may apply there, and hands the
completed dossier over as a PDF."""
from __future__ import annotations

from aiohttp import web
from typing import Literal

from pydantic import BaseModel, Field

from services.identity.context import api, path_uuid
from services.identity.schemas import RECEIVING_KINDS, SchoolOut
from services.identity.store.schools import NO_SCHOOL, load_school, load_schools
from shared.api import Query, json_response, read_query
from shared.app import DB
from shared.problems import Problem


class InstitutionList(BaseModel):
    institutions: list[SchoolOut]


class InstitutionQuery(Query):
    q: str = Field("", max_length=100, description="part of the name, city or BRIN of the institution, or of a "
                                                   "programme's name, CREBO or location (case does not matter)")
    kind: Literal["mbo", "havo", "vmbo"] | None = Field(None, description="only receiving schools of this kind")


@api.route("GET", "/v1/institutions",
           summary="Ontvangende scholen (mbo, havo, vmbo; deelnemend of niet) met hun opleidingen (openbaar; "
                   "zoeken met ?q=, soort met ?kind=)",
           response=InstitutionList, tags=("catalogus",), query=InstitutionQuery)
async def list_institutions(request: web.Request) -> web.Response:
    query = read_query(request, InstitutionQuery)
    q = query.q.strip()
    async with request.app[DB].acquire(timeout=10) as conn:
        ids = [r["id"] for r in await conn.fetch(
            "SELECT id FROM schools WHERE kind = ANY($1::text[]) ORDER BY name",
            [query.kind] if query.kind else list(RECEIVING_KINDS))]
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
            matching = [p for p in inst.programmes if hit(p.name, p.crebo, p.profile, p.location)]
            if matching:
                found.append(inst.model_copy(update={"programmes": matching}))
        institutions = found
    return json_response(InstitutionList(institutions=institutions))


@api.route("GET", "/v1/institutions/{school_id}", summary="Eén ontvangende school met opleidingen (openbaar)",
           response=SchoolOut, tags=("catalogus",))
async def get_institution(request: web.Request) -> web.Response:
    school_id = path_uuid(request, "school_id", NO_SCHOOL)
    async with request.app[DB].acquire(timeout=10) as conn:
        school = await load_school(conn, school_id)
    if school.kind not in RECEIVING_KINDS:
        raise Problem(404, NO_SCHOOL)
    return json_response(school)
