"""The school admin's settings of the own school: the rule for parents and guardians of students
under 18 (none, inspection or consent) and the retention rule (how many school years after completion
or leaving Doorstroom keeps a dossier), the settings identity lets a school change itself."""
from __future__ import annotations

from aiohttp import web

from services.portal import api_identity, backend
from services.portal.backend import ApiError
from services.portal.render import flash, redirect, render
from services.portal.views.platform import PARENT_RULES
from shared.auth import Principal

routes = web.RouteTableDef()
RETENTION = [(str(n), f"{n} {'schooljaar' if n == 1 else 'schooljaren'}{' (standaard)' if n == 2 else ''}")
             for n in range(1, 11)]


def _school_admin(request: web.Request) -> Principal:
    principal = backend.logged_in(request, "school_admin").principal
    if not principal.school_id:
        raise web.HTTPNotFound()
    return principal


async def _page(request: web.Request, principal: Principal, errors: dict, status: int = 200) -> web.Response:
    school = await api_identity.school(request, str(principal.school_id))
    return await render(request, "school_settings.html", {"title": "Instellingen van de school", "school": school,
                                                          "rules": PARENT_RULES, "retention": RETENTION,
                                                          "errors": errors}, status=status)


@routes.get("/beheer/school")
async def settings_page(request: web.Request) -> web.Response:
    return await _page(request, _school_admin(request), {})


@routes.post("/beheer/school")
async def save_settings(request: web.Request) -> web.Response:
    principal = _school_admin(request)
    post = await request.post()
    rule, years = str(post.get("parent_rule", "")), str(post.get("retention_years", ""))
    errors = {}
    if rule not in dict(PARENT_RULES):
        errors["parent_rule"] = "Kies de regel voor ouders en verzorgers."
    if years not in dict(RETENTION):
        errors["retention_years"] = "Kies hoeveel schooljaren Doorstroom de gegevens bewaart."
    if errors:
        return await _page(request, principal, errors, 400)
    try:
        await api_identity.change_school(request, str(principal.school_id),
                                         {"parent_rule": rule, "retention_years": int(years)})
    except ApiError as err:
        if err.status == 422:
            return await _page(request, principal, err.field_errors(), 400)
        raise
    flash(request, "De instelling is opgeslagen. Ze geldt meteen voor alle dossiers die nog niet zijn afgerond.",
          "success")
    raise redirect("/beheer/school")
