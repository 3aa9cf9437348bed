"""The MBO inbox: completed dossiers addressed to the caller's institution, those with a warm
handover or a wish for contact first; marking one handled ("afgehandeld")."""
from __future__ import annotations

from aiohttp import web

from services.dossier import store
from services.dossier.context import now
from services.dossier.domain import workflow as wf
from services.dossier.routes.common import (
    Actor,
    answer_dossier,
    api,
    bool_query,
    check_version,
    locked_dossier,
    run,
    uuid_param,
)
from services.dossier.routes.overviews import paging
from services.dossier.schemas import DossierView
from shared.api import json_response
from shared.app import DB, OUTBOX
from shared.auth import require
from shared.events.dossier_events import DossierHandled

TAGS = ("mbo",)


@api.route("GET", "/v1/mbo/dossiers",
           summary="Afgeronde dossiers voor mijn instelling; warme overdracht en contactwens eerst (?handled=)",
           tags=TAGS, auth=True)
async def inbox(request: web.Request) -> web.Response:
    principal = await require(request, "mbo_staff")
    page, size = paging(request)
    handled = bool_query(request, "handled")
    condition = "" if handled is None else (" AND d.handled_at IS NOT NULL" if handled else " AND d.handled_at IS NULL")
    base = f"FROM dossiers d WHERE d.state = 'completed' AND d.institution_id = $1{condition}"
    async with request.app[DB].acquire(timeout=10) as conn:
        total = await conn.fetchval("SELECT count(*) " + base, principal.institution_id)
        rows = await conn.fetch(
            f"""SELECT d.id, d.version, d.final, d.completed_at, d.warm_handover, d.contact_wanted, d.handled_at,
                       d.handled_by_name
                {base}
                ORDER BY (d.warm_handover OR d.contact_wanted) DESC, (d.handled_at IS NULL) DESC,
                         d.completed_at DESC, d.id
                LIMIT {size} OFFSET {(page - 1) * size}""", principal.institution_id)
        await store.audit(conn, Actor.of(principal), "view", "overview:mbo_inbox")
    items = []
    for r in rows:
        student, choice = (r["final"] or {}).get("student", {}), (r["final"] or {}).get("choice", {})
        items.append({
            "id": str(r["id"]), "version": r["version"], "completed_at": r["completed_at"].isoformat(),
            "student_name": student.get("full_name"), "date_of_birth": student.get("date_of_birth"),
            "school_name": student.get("school_name"), "programme_name": choice.get("programme_name"),
            "crebo": choice.get("crebo"), "warm_handover": r["warm_handover"], "contact_wanted": r["contact_wanted"],
            "handled": r["handled_at"] is not None,
            "handled_at": r["handled_at"].isoformat() if r["handled_at"] else None,
            "handled_by": r["handled_by_name"]})
    return json_response({"total": total, "page": page, "page_size": size, "dossiers": items})


@api.route("POST", "/v1/mbo/dossiers/{dossier_id}/handled",
           summary="Een afgerond dossier als afgehandeld markeren (leerling en mentor zien dit); If-Match",
           response=DossierView, tags=TAGS, auth=True)
async def mark_handled(request: web.Request) -> web.Response:
    principal = await require(request, "mbo_staff")
    dossier_id = uuid_param(request, "dossier_id")
    async with locked_dossier(request, principal, dossier_id) as (conn, row):
        check_version(request, row["version"])
        new = run(wf.mark_handled, store.status_of(row), wf.Role.MBO_STAFF)
        actor = Actor.of(principal, await store.actor_name(conn, principal))
        handled_at = now()
        await store.change_dossier(conn, row, actor, "handled", status=new,
                                   sets={"handled_at": handled_at, "handled_by_name": actor.name})
        await request.app[OUTBOX].add(conn, DossierHandled(
            dossier_id=dossier_id, student_id=row["student_id"], institution_id=row["institution_id"],
            handled_at=handled_at), subject=str(dossier_id))
        return await answer_dossier(conn, dossier_id, "mbo_staff")
