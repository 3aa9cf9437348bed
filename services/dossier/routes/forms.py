"""The form definitions, for clients that build their pages from them (no login needed: the
questions are not personal data)."""
from __future__ import annotations

from aiohttp import web

from services.dossier.context import current_school_year
from services.dossier.routes.common import api
from shared.api import json_response
from shared.forms.model import FormNotFound, default_registry, form_schema, get_form, start_year
from shared.problems import Problem

TAGS = ("formulieren",)


@api.route("GET", "/v1/forms", summary="Welke formulieren er zijn, per soort en schooljaar", tags=TAGS)
async def list_forms(request: web.Request) -> web.Response:
    registry = default_registry()
    return json_response({"current_school_year": current_school_year(request.app),
                          "forms": {kind: registry.school_years(kind) for kind in ("part_a", "part_b")}})


@api.route("GET", "/v1/forms/{kind}/{school_year}",
           summary="Een formulier (deel A of B) zoals het in dat schooljaar geldt: onderdelen, vragen, voorwaarden",
           tags=TAGS)
async def read_form(request: web.Request) -> web.Response:
    kind, school_year = request.match_info["kind"], request.match_info["school_year"]
    if kind not in ("part_a", "part_b"):
        raise Problem(404, "Dit formulier bestaat niet; kies part_a of part_b.")
    try:
        start_year(school_year)
        form = get_form(kind, school_year)
    except ValueError as exc:
        raise Problem(404, str(exc)) from None
    except FormNotFound as exc:
        raise Problem(404, str(exc)) from None
    return json_response(form_schema(form), headers={"Cache-Control": "public, max-age=3600"})
