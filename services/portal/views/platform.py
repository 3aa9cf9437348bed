"""The platform administrator (beheerder): every VO school and MBO institution, paged and searchable;
a new one; its details, whether it takes part, the rule for parents; an MBO's locations and its
catalogue of programmes (add, take out, put back). School names are no personal data, so the
search may stay in the address (bookmarkable)."""
from __future__ import annotations

from aiohttp import web

from services.portal import api_identity, backend
from services.portal.backend import ApiError
from services.portal.render import flash, redirect, render
from services.portal.views.common import page_number, paged, valid_id
from shared.app import SETTINGS
from shared.auth import Principal

routes = web.RouteTableDef()

KINDS = [("vo", "VO-school"), ("mbo", "MBO-instelling")]
PARENT_RULES = [("none", "Geen: de leerling rondt zelf af"),
                ("inspection", "Inzage: ouders van leerlingen onder 18 krijgen een link om te lezen en te reageren"),
                ("consent", "Akkoord: ouders van leerlingen onder 18 moeten akkoord geven")]
PATHWAYS = [("BOL", "BOL"), ("BBL", "BBL")]
LEVELS = [(str(n), f"Niveau {n}") for n in range(1, 5)]


def _admin(request: web.Request) -> Principal:
    return backend.logged_in(request, "admin").principal


def _text(post, name: str, limit: int = 200) -> str:
    return str(post.get(name, "")).strip()[:limit]


@routes.get("/platform")
async def schools(request: web.Request) -> web.Response:
    _admin(request)
    number = page_number(request)
    q = request.query.get("q", "").strip()[:100]
    kind = request.query.get("soort", "")
    kind = kind if kind in dict(KINDS) else ""
    size = request.app[SETTINGS].page_size
    data = await api_identity.search_schools(request, q=q, kind=kind or None, page=number, page_size=size)
    items, page = paged(data, number, size, "schools")
    query = "&".join(f"{k}={v}" for k, v in (("q", q), ("soort", kind)) if v)
    return await render(request, "platform_schools.html", {
        "title": "Scholen en instellingen", "items": items, "page": page, "q": q, "kind": kind, "kinds": KINDS,
        "base": "/platform" + (f"?{query}" if query else "")})


@routes.get("/platform/scholen/nieuw")
async def new_school_page(request: web.Request) -> web.Response:
    _admin(request)
    return await _new_school(request, {"participates": "ja", "parent_rule": "consent"}, {})


async def _new_school(request: web.Request, values: dict, errors: dict, status: int = 200) -> web.Response:
    return await render(request, "platform_new_school.html", {
        "title": "Nieuwe school of instelling", "values": values, "errors": errors, "kinds": KINDS,
        "rules": PARENT_RULES}, status=status)


@routes.post("/platform/scholen/nieuw")
async def new_school(request: web.Request) -> web.Response:
    _admin(request)
    post = await request.post()
    values = {k: _text(post, k) for k in ("kind", "name", "brin", "city", "parent_rule")}
    values["brin"] = values["brin"].upper()
    values["participates"] = "ja" if post.get("participates") == "ja" else "nee"
    errors = {}
    if values["kind"] not in dict(KINDS):
        errors["kind"] = "Kies of het een VO-school of een MBO-instelling is."
    if len(values["name"]) < 2:
        errors["name"] = "Vul de naam in."
    if values["parent_rule"] not in dict(PARENT_RULES):
        errors["parent_rule"] = "Kies de regel voor ouders en verzorgers."
    if errors:
        return await _new_school(request, values, errors, 400)
    body = {"kind": values["kind"], "name": values["name"], "brin": values["brin"] or None,
            "city": values["city"] or None, "participates": values["participates"] == "ja",
            "parent_rule": values["parent_rule"]}
    try:
        school = await api_identity.create_school(request, body)
    except ApiError as err:
        if err.status in (409, 422):
            return await _new_school(request, values, err.field_errors() or {"brin": err.detail}, 400)
        raise
    flash(request, f"{school['name']} is toegevoegd.", "success")
    raise redirect(f"/platform/scholen/{school['school_id']}")


@routes.get("/platform/scholen/{school_id}")
async def school_page(request: web.Request) -> web.Response:
    _admin(request)
    return await _school(request, {}, None)


async def _school(request: web.Request, errors: dict, form: str | None, values: dict | None = None,
                  status: int = 200) -> web.Response:
    """The school's page; ``form`` names the form whose ``errors`` and ``values`` are shown."""
    school = await api_identity.school(request, valid_id(request.match_info["school_id"]))
    locations = [(str(loc["location_id"]), loc["name"]) for loc in school.get("locations", [])]
    return await render(request, "platform_school.html", {
        "title": school["name"], "school": school, "kinds": dict(KINDS), "rules": PARENT_RULES,
        "levels": LEVELS, "pathways": PATHWAYS, "locations": locations, "form": form, "errors": errors,
        "values": values or {}}, status=status)


async def _save(request: web.Request, school_id: str, form: str, values: dict, change, *, done: str,
                fallback: str, field_of=lambda name: name) -> web.Response:
    """Send one change to identity: its refusal (409, 422) shown beside the form's fields, or the
    school's page again with ``done``."""
    try:
        await change
    except ApiError as err:
        if err.status in (409, 422):
            errors = {field_of(k): v for k, v in err.field_errors().items()} or {fallback: err.detail}
            return await _school(request, errors, form, values, 400)
        raise
    flash(request, done, "success")
    raise redirect(f"/platform/scholen/{school_id}")


@routes.post("/platform/scholen/{school_id}")
async def edit_school(request: web.Request) -> web.Response:
    _admin(request)
    school_id = valid_id(request.match_info["school_id"])
    post = await request.post()
    values = {k: _text(post, k) for k in ("name", "brin", "city", "parent_rule")}
    values["brin"] = values["brin"].upper()
    if values["parent_rule"] not in dict(PARENT_RULES):
        return await _school(request, {"parent_rule": "Kies de regel voor ouders en verzorgers."}, "school",
                             values, 400)
    body = {"name": values["name"], "brin": values["brin"] or None, "city": values["city"] or None,
            "participates": post.get("participates") == "ja", "parent_rule": values["parent_rule"]}
    return await _save(request, school_id, "school", values, api_identity.change_school(request, school_id, body),
                       done="De gegevens zijn opgeslagen.", fallback="brin")


@routes.post("/platform/scholen/{school_id}/locaties")
async def add_location(request: web.Request) -> web.Response:
    _admin(request)
    school_id = valid_id(request.match_info["school_id"])
    post = await request.post()
    values = {k: _text(post, k) for k in ("location_name", "location_address", "location_city")}
    if len(values["location_name"]) < 2:
        return await _school(request, {"location_name": "Vul de naam van de locatie in."}, "location", values, 400)
    body = {k.removeprefix("location_"): v or None for k, v in values.items()}
    return await _save(request, school_id, "location", values, api_identity.add_location(request, school_id, body),
                       done=f"Locatie {values['location_name']} is toegevoegd.", fallback="location_name",
                       field_of=lambda name: f"location_{name}")


@routes.post("/platform/scholen/{school_id}/opleidingen")
async def add_programme(request: web.Request) -> web.Response:
    _admin(request)
    school_id = valid_id(request.match_info["school_id"])
    post = await request.post()
    values = {k: _text(post, k) for k in ("programme_name", "crebo", "level", "pathway", "location_id")}
    errors = {}
    if len(values["programme_name"]) < 2:
        errors["programme_name"] = "Vul de naam van de opleiding in."
    if not (values["crebo"].isdigit() and len(values["crebo"]) == 5):
        errors["crebo"] = "Een crebocode heeft 5 cijfers."
    if values["level"] not in dict(LEVELS):
        errors["level"] = "Kies het niveau."
    if values["pathway"] not in dict(PATHWAYS):
        errors["pathway"] = "Kies BOL of BBL."
    if errors:
        return await _school(request, errors, "programme", values, 400)
    body = {"name": values["programme_name"], "crebo": values["crebo"], "level": int(values["level"]),
            "pathway": values["pathway"], "location_id": valid_id(values["location_id"]) if values["location_id"] else None}
    return await _save(request, school_id, "programme", values, api_identity.add_programme(request, school_id, body),
                       done=f"{values['programme_name']} staat in de catalogus.", fallback="programme_name",
                       field_of=lambda name: "programme_name" if name == "name" else name)


@routes.post("/platform/scholen/{school_id}/opleidingen/{programme_id}")
async def programme_active(request: web.Request) -> web.Response:
    """Take a programme out of the catalogue (students can no longer choose it), or put it back."""
    _admin(request)
    school_id = valid_id(request.match_info["school_id"])
    post = await request.post()
    active = post.get("active") == "ja"
    await api_identity.change_programme(request, valid_id(request.match_info["programme_id"]), {"active": active})
    flash(request, "De opleiding staat weer in de catalogus." if active else
          "De opleiding is uit de catalogus gehaald. Leerlingen kunnen haar niet meer kiezen.", "success")
    raise redirect(f"/platform/scholen/{school_id}")
