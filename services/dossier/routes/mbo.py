"""The MBO inbox: completed dossiers addressed to the caller's institution, those with a warm
handover or a wish for contact first; marking one handled ("afgehandeld")."""
from __future__ import annotations

import asyncpg
from aiohttp import web

from services.dossier import store
from services.dossier.context import now
from services.dossier.domain import workflow as wf
from services.dossier.routes.common import (
    Actor,
    answer_dossier,
    api,
    check_version,
    locked_dossier,
    run,
    uuid_param,
)
from services.dossier.queries import MboSearch, mbo_inbox_sql
from services.dossier.routes.overviews import page_size_of, paging
from services.dossier.schemas import DossierView, MboInboxQuery, MboSearchBody
from shared.api import json_response, read_body, read_query
from shared.app import DB, OUTBOX
from shared.auth import Principal, require, require_scope
from shared.problems import Problem
from shared.events.dossier_events import DossierHandled

TAGS = ("mbo",)


@api.route("GET", "/v1/mbo/dossiers",
           summary="Afgeronde dossiers voor mijn instelling; warme overdracht en contactwens eerst "
                   "(?handled=, ?flagged=; zoeken op naam: POST .../search)",
           tags=TAGS, auth=True, query=MboInboxQuery)
async def inbox(request: web.Request) -> web.Response:
    principal = await require(request, "mbo_staff")
    if "q" in request.query:
        raise Problem(422, "Zoek op naam met POST /v1/mbo/dossiers/search: een naam hoort niet in een URL.",
                      code="invalid-input", errors=[{"field": "q", "message": "Stuur de zoekterm in de body."}])
    query = read_query(request, MboInboxQuery)
    page, size = paging(request, query)
    return await _inbox(request, principal, MboSearch(
        institution_id=principal.institution_id, handled=query.handled, flagged=query.flagged, page=page, size=size))


@api.route("POST", "/v1/mbo/dossiers/search",
           summary="Ontvangen dossiers zoeken op naam, school van herkomst of opleiding (q), met dezelfde filters",
           body=MboSearchBody, tags=TAGS, auth=True)
async def search(request: web.Request) -> web.Response:
    principal = await require(request, "mbo_staff")
    body = await read_body(request, MboSearchBody)
    return await _inbox(request, principal, MboSearch(
        institution_id=principal.institution_id, handled=body.handled, flagged=body.flagged, q=body.q,
        page=body.page, size=page_size_of(request, body.page_size)))


async def _inbox(request: web.Request, principal: Principal, search: MboSearch) -> web.Response:
    count_sql, page_sql, args = mbo_inbox_sql(search)
    async with request.app[DB].acquire(timeout=10) as conn:
        total = await conn.fetchval(count_sql, *args)
        rows = await conn.fetch(page_sql, *args)
        await store.audit(conn, Actor.of(principal), "view", "overview:mbo_inbox")
    items = []
    for r in rows:
        student, choice = (r["final"] or {}).get("student", {}), (r["final"] or {}).get("choice", {})
        items.append({
            "id": str(r["id"]), "version": r["version"], "completed_at": r["completed_at"].isoformat(),
            "student_name": student.get("full_name"), "date_of_birth": student.get("date_of_birth"),
            "student_number": student.get("student_number"), "school_name": student.get("school_name"),
            "programme_name": choice.get("programme_name"), "profile": choice.get("profile"), "kind": choice.get("kind"),
            "crebo": choice.get("crebo"), "warm_handover": r["warm_handover"], "contact_wanted": r["contact_wanted"],
            "handled": r["handled_at"] is not None,
            "handled_at": r["handled_at"].isoformat() if r["handled_at"] else None,
            "handled_by": r["handled_by_name"]})
    return json_response({"total": total, "page": search.page, "page_size": search.size, "dossiers": items})


MBO_READERS = ("mbo_staff", "client")


async def require_mbo_reader(request: web.Request) -> Principal:
    """The MBO-staff access check of routes that show an institution's completed dossiers: MBO
    staff, or a machine client (issue 12) with scope dossiers:read; which dossiers is then
    ``store.may_see`` (the caller's institution, completed only; anything else 404). For routes
    both may use (the feed, the OSO export); the inbox itself is for people."""
    principal = await require(request, *MBO_READERS)
    if principal.role == "client" and not principal.has_scope("dossiers:read"):
        await require_scope(request, "dossiers:read")  # 403 insufficient_scope
    return principal


async def load_for_mbo(conn, principal: Principal, dossier_id) -> asyncpg.Record:
    """A completed dossier addressed to the caller's institution (``require_mbo_reader``); 404 otherwise."""
    return await store.load_dossier(conn, principal, dossier_id)


async def handle(request: web.Request, principal: Principal, dossier_id, *, check_if_match: bool = True,
                 idempotent: bool = False) -> web.Response:
    """Mark a completed dossier handled ("afgehandeld"), by MBO staff or a machine client (whose name
    the history shows); answers the dossier as MBO staff see it. ``idempotent``: a dossier handled
    already is answered as it is (a client that repeats its call after a failure), not 409."""
    async with locked_dossier(request, principal, dossier_id) as (conn, row):
        if check_if_match:
            check_version(request, row["version"])
        if idempotent and row["handled_at"] is not None:
            return await answer_dossier(conn, dossier_id, "mbo_staff")
        new = run(wf.mark_handled, store.status_of(row), wf.Role.MBO_STAFF)
        actor = await store.actor_of(conn, principal, row)
        handled_at = now()
        await store.change_dossier(conn, row, actor, "handled", status=new,
                                   sets={"handled_at": handled_at, "handled_by_name": actor.name})
        await request.app[OUTBOX].add(conn, DossierHandled(
            dossier_id=dossier_id, student_id=row["student_id"], institution_id=row["institution_id"],
            handled_at=handled_at, school_id=row["school_id"], programme_id=row["programme_id"]),
            subject=str(dossier_id))
        return await answer_dossier(conn, dossier_id, "mbo_staff")


@api.route("POST", "/v1/mbo/dossiers/{dossier_id}/handled",
           summary="Een afgerond dossier als afgehandeld markeren (leerling en mentor zien dit); If-Match",
           response=DossierView, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def mark_handled(request: web.Request) -> web.Response:
    principal = await require(request, "mbo_staff")
    return await handle(request, principal, uuid_param(request, "dossier_id"))
