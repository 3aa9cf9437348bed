"""MBO staff: the inbox of completed dossiers (warm handover and contact wishes first), a dossier
with its PDF, and "afgehandeld"."""
from __future__ import annotations

from aiohttp import web

from services.portal import api_dossier, backend, sessions
from services.portal.formview import DossierView, readable
from services.portal.render import flash, redirect, render
from services.portal.views.common import page_number, paged, valid_id
from services.portal.views.student import catalogue, pdf_response
from shared.app import SETTINGS
from shared.auth import Principal

routes = web.RouteTableDef()


def _mbo(request: web.Request) -> Principal:
    return backend.logged_in(request, "mbo_staff").principal


@routes.get("/mbo")
async def inbox(request: web.Request) -> web.Response:
    _mbo(request)
    number = page_number(request)
    show = "afgehandeld" if request.query.get("toon") == "afgehandeld" else "open"
    flagged = request.query.get("let_op") == "1"
    q = sessions.current(request).get("mbo_q", "")
    size = request.app[SETTINGS].page_size
    # the service puts warm handover and contact wishes first
    data = await api_dossier.mbo_inbox(request, q=q, handled=show == "afgehandeld", flagged=flagged,
                                       page=number, page_size=size)
    items, page = paged(data, number, size, "dossiers")
    query = "&".join(p for p in ("toon=afgehandeld" if show == "afgehandeld" else "", "let_op=1" if flagged else "") if p)
    return await render(request, "mbo_inbox.html", {"title": "Ontvangen dossiers", "items": items, "page": page,
                                                    "show": show, "flagged": flagged, "q": q,
                                                    "base": "/mbo" + (f"?{query}" if query else "")})


@routes.post("/mbo")
async def search(request: web.Request) -> web.Response:
    """The search term goes into the session, not the URL: names are personal data."""
    _mbo(request)
    await sessions.remember_search(request, "mbo_q")
    post = await request.post()
    query = "&".join(p for p in ("toon=afgehandeld" if post.get("toon") == "afgehandeld" else "",
                                 "let_op=1" if post.get("let_op") == "1" else "") if p)
    raise redirect("/mbo" + (f"?{query}" if query else ""))


@routes.get("/mbo/dossiers/{dossier_id}")
async def dossier(request: web.Request) -> web.Response:
    _mbo(request)
    raw, etag = await api_dossier.dossier(request, valid_id(request.match_info["dossier_id"]))
    view = DossierView.of(raw, etag)
    cat = await catalogue(request)
    return await render(request, "mbo_dossier.html", {
        "title": "Dossier", "view": view, "programme": view.choice_label(),
        "part_a": readable(view.part_a, "part_a", view.answers_a, cat),
        "part_b": readable(view.part_b, "part_b", view.answers_b, cat)})


@routes.post("/mbo/dossiers/{dossier_id}/afgehandeld")
async def handled(request: web.Request) -> web.Response:
    _mbo(request)
    raw, etag = await api_dossier.dossier(request, valid_id(request.match_info["dossier_id"]))
    view = DossierView.of(raw, etag)
    await api_dossier.handled(request, view.id, view.version)
    flash(request, "Het dossier is afgehandeld. De leerling en de mentor zien dat.", "success")
    raise redirect("/mbo")


@routes.get("/mbo/dossiers/{dossier_id}/pdf/{part}")
async def pdf(request: web.Request) -> web.StreamResponse:
    _mbo(request)
    return await pdf_response(request)


@routes.get("/mbo/dossiers/{dossier_id}/oso")
async def oso(request: web.Request) -> web.Response:
    """The dossier as an OSO file (XML) for the institution's own student administration."""
    _mbo(request)
    dossier_id = valid_id(request.match_info["dossier_id"])
    body = await api_dossier.oso_xml(request, dossier_id)
    return web.Response(body=body, content_type="application/xml", charset="utf-8", headers={
        "Content-Disposition": 'attachment; filename="doorstroomdossier-oso.xml"'})
