"""The start page and help en contact."""
from __future__ import annotations

from aiohttp import web

from services.portal import guide, sessions
from services.portal.render import HOME_BY_ROLE, flash, redirect, render

routes = web.RouteTableDef()


@routes.get("/")
async def start(request: web.Request) -> web.Response:
    session = sessions.current(request)
    if session is not None and session.logged_in:
        raise redirect(HOME_BY_ROLE.get(session.principal.role, "/help"))
    return await render(request, "start.html", {"title": "Welkom", "steps": guide.STEPS})


@routes.get("/help")
async def help_page(request: web.Request) -> web.Response:
    return await render(request, "help.html", {"title": "Help en contact", "steps": guide.STEPS,
                                                "faq": guide.FAQ})


@routes.get("/dossiers/{dossier_id}")
async def dossier_link(request: web.Request) -> web.Response:
    """The address in the signal mails: the dossier's page for whoever follows it."""
    import uuid
    try:
        dossier_id = uuid.UUID(request.match_info["dossier_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    session = sessions.current(request)
    if session is None or not session.logged_in:
        await sessions.ensure(request)
        sessions.current(request).put("after_login", request.path)
        flash(request, "Log in om het dossier te bekijken.", "info")
        raise redirect("/inloggen")
    prefix = {"student": "/leerling", "mentor": "/school", "counsellor": "/school", "mbo_staff": "/mbo"}.get(
        session.principal.role)
    if prefix is None:
        raise web.HTTPNotFound()
    raise redirect(f"{prefix}/dossiers/{dossier_id}")


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.Response:
    raise web.HTTPFound("/static/favicon.svg")
