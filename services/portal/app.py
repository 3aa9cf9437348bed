"""The web portal: Dutch, server-rendered pages for every role, made from the other services' APIs."""
from __future__ import annotations

import logging

from aiohttp import web

from services.portal import backend, sessions
from services.portal.backend import ApiError, BackendDown, LoginRequired
from services.portal.input import input_middleware
from services.portal.render import STATIC, flash, redirect, render
from services.portal.security import CsrfRejected, csrf_middleware, headers_middleware
from services.portal.settings import PortalSettings
from services.portal.views import (
    account,
    mbo,
    parent,
    password_change,
    platform,
    preferences,
    public,
    school_admin,
    school_settings,
    staff,
    student,
)
from shared.api import Api
from shared.app import ServiceSpec, create_app

log = logging.getLogger(__name__)
api = Api(title="Doorstroom portal")
_JSON_PATHS = ("/healthz", "/readyz", "/openapi.json")


@web.middleware
async def pages_middleware(request: web.Request, handler):
    """Every failure becomes a Dutch page (not JSON) with the right status."""
    if request.path in _JSON_PATHS or request.path.startswith("/static/"):
        return await handler(request)
    try:
        return await handler(request)
    except LoginRequired as exc:
        await sessions.ensure(request)
        flash(request, exc.message, "warning")
        if request.method == "GET":
            sessions.current(request).put("after_login", request.path)
        raise redirect("/inloggen") from None
    except CsrfRejected:
        return await render(request, "error.html", {
            "title": "Pagina verlopen",
            "message": "Deze pagina was te lang open of kwam niet van Doorstroom. Ga terug, laad de "
                       "pagina opnieuw en probeer het nog eens."}, status=403)
    except BackendDown:
        return await render(request, "error.html", {
            "title": "Even niet bereikbaar",
            "message": "Een onderdeel van Doorstroom is even niet bereikbaar. Probeer het over een paar "
                       "minuten opnieuw. Er is niets verloren gegaan."}, status=503)
    except ApiError as err:
        if err.status in (403, 404):
            return await render(request, "error.html", {
                "title": "Niet gevonden",
                "message": "Deze pagina bestaat niet, of je mag hem niet bekijken."}, status=404)
        if err.status == 409:
            return await render(request, "error.html", {"title": "Dat kan nu niet",
                                                        "message": err.detail}, status=409)
        return await render(request, "error.html", {"title": "Dat lukte niet", "message": err.detail},
                            status=err.status if 400 <= err.status < 500 else 500)
    except web.HTTPException as exc:
        if exc.status in (404, 405):
            return await render(request, "error.html", {
                "title": "Niet gevonden",
                "message": "Deze pagina bestaat niet, of je mag hem niet bekijken."}, status=exc.status)
        if exc.status == 413:
            return await render(request, "error.html", {
                "title": "Bestand te groot", "message": "Het bestand is te groot."}, status=413)
        raise
    except Exception:
        log.exception("page failed")
        return await render(request, "error.html", {
            "title": "Er ging iets mis",
            "message": "Er ging iets mis aan onze kant. Probeer het later opnieuw."}, status=500)


def make_app(settings: PortalSettings | None = None) -> web.Application:
    settings = settings or PortalSettings()
    spec = ServiceSpec(name="portal", api=api, migrations="services.portal.migrations",
                       resources=[backend.http_client, sessions.sweeper])
    app = create_app(spec, settings)
    app.middlewares.extend([headers_middleware, sessions.session_middleware, pages_middleware,
                            csrf_middleware, input_middleware])
    for module in (public, account, password_change, student, staff, school_admin, school_settings, platform, mbo,
                   parent, preferences):
        app.router.add_routes(module.routes)
    app.router.add_static("/static", STATIC, append_version=False)
    return app
