"""Parents and guardians: no account, a signed, expiring link (``X-Parent-Token`` header or
``?token=``) to read the one dossier it was made for and to consent or object with a remark."""
from __future__ import annotations

import asyncpg
from aiohttp import web

from services.dossier import store
from services.dossier.context import PARENT_SECRET, dossier_url, now, today
from services.dossier.domain import parent_links
from services.dossier.domain import workflow as wf
from services.dossier.routes.common import PURPOSE_HEADER, Actor, answer_dossier, api, check_version, purpose_of, run
from services.dossier.schemas import DossierView, ParentDecisionBody, ParentQuery
from services.dossier.views import dossier_view
from shared.api import Header, json_response, read_body, read_query
from shared.app import DB, OUTBOX
from shared.events.dossier_events import ParentResponded
from shared.problems import Problem

TAGS = ("ouders",)
INVALID = "Deze link is ongeldig. Gebruik de link uit de e-mail precies zoals die is verstuurd."
EXPIRED = "Deze link is verlopen. Vraag uw kind om u een nieuwe link te sturen."
REVOKED = "Deze link is niet meer geldig: er is een nieuwere link verstuurd of het dossier is intussen gewijzigd."
TOKEN_HEADER = Header("X-Parent-Token", "the token of the parent's link (or ?token=)", max_length=500)
LINK_STATUSES = (401, 404, 410)  # no link, a link that is not valid, an expired or replaced link


async def _open(request: web.Request, conn: asyncpg.Connection, *, lock: bool = False):
    token = request.headers.get("X-Parent-Token") or read_query(request, ParentQuery).token
    if not token:
        raise Problem(401, "Open de link uit de e-mail om het dossier te bekijken.", code="parent-link-missing")
    try:
        link = parent_links.verify(request.app[PARENT_SECRET], token)
    except parent_links.InvalidLink:
        raise Problem(404, INVALID, code="parent-link-invalid") from None
    except parent_links.ExpiredLink:
        raise Problem(410, EXPIRED, code="parent-link-expired") from None
    row = await conn.fetchrow("SELECT * FROM parent_links WHERE id = $1", link.link_id)
    if row is None:
        raise Problem(404, INVALID, code="parent-link-invalid")
    if row["revoked_at"] is not None:
        raise Problem(410, REVOKED, code="parent-link-revoked")
    dossier = await store.load_dossier(conn, None, row["dossier_id"], lock=lock)
    actor = Actor(role="parent", account_id=None, ref=str(link.link_id), name="Ouder of verzorger")
    return row, dossier, actor


@api.route("GET", "/v1/parent/dossier", summary="Het dossier lezen met de link uit de e-mail (ouder of verzorger)",
           response=DossierView, tags=TAGS, query=ParentQuery, headers=(TOKEN_HEADER, PURPOSE_HEADER),
           statuses=LINK_STATUSES)
async def read(request: web.Request) -> web.Response:
    purpose = purpose_of(request)
    async with request.app[DB].acquire(timeout=10) as conn:
        _, dossier, actor = await _open(request, conn)
        view = await dossier_view(conn, dossier, "parent")
        await store.audit(conn, actor, "view", "dossier:part_a,part_b", dossier_id=dossier["id"],
                          student_id=dossier["student_id"], purpose=purpose)
    return json_response(view, headers={"ETag": view.etag})


@api.route("POST", "/v1/parent/decision",
           summary="Toestemming geven of bezwaar maken, met een opmerking (ouder of verzorger); If-Match",
           body=ParentDecisionBody, response=DossierView, tags=TAGS, query=ParentQuery, if_match=True,
           headers=(TOKEN_HEADER,), statuses=(*LINK_STATUSES, 409))
async def decide(request: web.Request) -> web.Response:
    body = await read_body(request, ParentDecisionBody)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        _, dossier, actor = await _open(request, conn, lock=True)
        check_version(request, dossier["version"])
        if dossier["date_of_birth"] is None:
            raise Problem(409, "Dit dossier kan nu niet worden behandeld. Probeer het later opnieuw.",
                          code="student-unknown")
        action = wf.record_parent_consent if body.decision == "consent" else wf.record_parent_objection
        new = run(action, store.status_of(dossier), wf.Role.PARENT, parent_rule=wf.ParentRule(dossier["parent_rule"]),
                  date_of_birth=dossier["date_of_birth"], today=today())
        await store.change_dossier(
            conn, dossier, actor, "parent_consented" if body.decision == "consent" else "parent_objected", status=new,
            sets={"parent_remark": (body.remark or "").strip() or None, "parent_decided_at": now()})
        await request.app[OUTBOX].add(conn, ParentResponded(
            dossier_id=dossier["id"], student_id=dossier["student_id"], decision=body.decision,
            student_email=dossier["student_email"], student_name=dossier["roepnaam"] or "leerling",
            dossier_url=dossier_url(request.app, dossier["id"])), subject=str(dossier["id"]))
        return await answer_dossier(conn, dossier["id"], "parent")
