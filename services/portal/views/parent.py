"""A parent or guardian: no account; the mailed link (signed, expiring) opens the dossier to read,
and where the school asks for it, consent or objection with a remark."""
from __future__ import annotations

from aiohttp import web

from services.portal import api_dossier, sessions
from services.portal.backend import ApiError
from services.portal.formview import DossierView, readable
from services.portal.render import flash, redirect, render

routes = web.RouteTableDef()
KEY = "parent_token"


async def _expired(request: web.Request) -> web.Response:
    return await render(request, "error.html", {
        "title": "Deze link werkt niet meer",
        "message": "De link is verlopen of niet geldig. Vraag de leerling of de school om een nieuwe link."},
        status=410)


@routes.get("/ouder")
async def parent_page(request: web.Request) -> web.Response:
    token = request.query.get("token")
    if token:
        session = await sessions.ensure(request)
        session.put(KEY, token[:2048])
        raise redirect("/ouder")  # the token leaves the address bar
    session = sessions.current(request)
    token = session.get(KEY) if session else None
    if not token:
        return await _expired(request)
    try:
        data = await api_dossier.parent_view(request, token)
    except ApiError as err:
        if err.status in (400, 401, 403, 404, 410):
            return await _expired(request)
        raise
    view = DossierView.of(data)
    parent = (data.get("agreement") or {}).get("parent") or {}
    cat = None  # no account, so no catalogue: the service sends the programme label along
    return await render(request, "parent.html", {
        "title": "Dossier van uw kind", "view": view, "data": data,
        "programme": view.choice_label(), "version": view.version,
        "rule": parent.get("rule", "inspection"), "decision": parent.get("decision"),
        "part_a": readable(view.part_a, "part_a", view.answers_a, cat),
        "part_b": readable(view.part_b, "part_b", view.answers_b, cat), "errors": {}})


@routes.post("/ouder")
async def parent_decision(request: web.Request) -> web.Response:
    session = sessions.current(request)
    token = session.get(KEY) if session else None
    if not token:
        return await _expired(request)
    post = await request.post()
    decision = str(post.get("decision", ""))
    remark = str(post.get("remark", "")).strip()[:2000]
    if decision not in ("consent", "objection"):
        flash(request, "Kies of u akkoord gaat of bezwaar maakt.", "error")
        raise redirect("/ouder")
    version = str(post.get("version", ""))
    try:
        await api_dossier.parent_decision(request, token, decision, remark, version if version.isdigit() else None)
    except ApiError as err:
        if err.status in (400, 401, 403, 404, 410):
            return await _expired(request)
        flash(request, err.detail, "error")
        raise redirect("/ouder") from None
    flash(request, "Dank u wel. Uw reactie is opgeslagen.", "success")
    raise redirect("/ouder")
