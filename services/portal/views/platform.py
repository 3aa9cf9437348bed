"""The platform administrator (beheerder): every VO school and receiving school (mbo, havo, vmbo),
paged and searchable; a new one; its details, whether it takes part in Doorstroom, the rule for
parents; a receiving school's locations and its catalogue (an MBO's programmes, a HAVO/VMBO
school's years, profiles or leerwegen: add, take out, put back). School names are no personal data, so the
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

KINDS = [("vo", "VO-school"), ("mbo", "MBO-instelling"), ("havo", "Havo (ontvangende school)"),
         ("vmbo", "Vmbo (ontvangende school)")]
RECEIVING = ("mbo", "havo", "vmbo")
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
        errors["kind"] = ("Kies of het een VO-school of een MBO-instelling is, of een ontvangende school voor havo "
                          "of vmbo.")
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
        "values": values or {}, "receiving": school.get("kind") in RECEIVING}, status=status)


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
    values = {k: _text(post, k) for k in ("programme_name", "crebo", "level", "pathway", "location_id", "profile",
                                          "kind")}
    mbo = values["kind"] not in ("havo", "vmbo")  # the page says which form it showed; identity checks the kind
    errors = {}
    if len(values["programme_name"]) < 2:
        errors["programme_name"] = "Vul de naam van de opleiding in." if mbo else "Vul het leerjaar of de naam in."
    if mbo:
        if not (values["crebo"].isdigit() and len(values["crebo"]) == 5):
            errors["crebo"] = "Een crebocode heeft 5 cijfers."
        if values["level"] not in dict(LEVELS):
            errors["level"] = "Kies het niveau."
        if values["pathway"] not in dict(PATHWAYS):
            errors["pathway"] = "Kies BOL of BBL."
    if errors:
        return await _school(request, errors, "programme", values, 400)
    location_id = valid_id(values["location_id"]) if values["location_id"] else None
    if mbo:
        body = {"name": values["programme_name"], "crebo": values["crebo"], "level": int(values["level"]),
                "pathway": values["pathway"], "location_id": location_id}
    else:
        body = {"name": values["programme_name"], "profile": values["profile"] or None, "location_id": location_id}
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


# -- koppelingen: machine clients of MBO institutions (issue 12) -----------------------------------

SCOPES = [("dossiers:read", "Afgeronde dossiers lezen (lijst, JSON en PDF)"),
          ("dossiers:handle", "Dossiers als afgehandeld markeren")]
AUTH_METHODS = [("client_secret", "Geheim (client secret): wij maken het en tonen het één keer"),
                ("private_key_jwt", "Publieke sleutel (private_key_jwt): de studentadministratie houdt de privésleutel")]
EVENT_LABELS = {"registered": "Geregistreerd", "token_issued": "Token uitgegeven", "token_refused": "Token geweigerd",
                "rotated": "Geheim of sleutel vernieuwd", "revoked": "Ingetrokken"}


def _public_key(text: str):
    """The public key as typed: a JWK (JSON object) or PEM text."""
    import json
    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return text
        return value if isinstance(value, dict) else text
    return text


async def _clients_page(request: web.Request, *, values: dict | None = None, errors: dict | None = None,
                        created: dict | None = None, status: int = 200) -> web.Response:
    listing = await api_identity.clients(request)
    institutions = []  # the receiving schools that take part: an MBO, or a HAVO/VMBO school
    for kind in ("mbo", "havo", "vmbo"):
        found = await api_identity.search_schools(request, q="", kind=kind, page=1, page_size=100)
        institutions += [(str(s["school_id"]), s["name"]) for s in found.get("schools", [])
                         if s.get("participates", True)]
    institutions.sort(key=lambda pair: pair[1].lower())
    return await render(request, "platform_clients.html", {
        "title": "Koppelingen", "clients": listing, "institutions": institutions, "scopes": SCOPES,
        "methods": AUTH_METHODS, "values": values or {"auth_method": "client_secret", "scopes": ["dossiers:read"]},
        "errors": errors or {}, "created": created, "event_labels": EVENT_LABELS}, status=status)


@routes.get("/platform/koppelingen")
async def clients_page(request: web.Request) -> web.Response:
    _admin(request)
    return await _clients_page(request)


@routes.post("/platform/koppelingen")
async def register_client(request: web.Request) -> web.Response:
    """A new client: the answer page shows its secret, once (it is not kept in the session)."""
    _admin(request)
    post = await request.post()
    values = {"institution_id": _text(post, "institution_id", 100), "name": _text(post, "name", 100),
              "auth_method": _text(post, "auth_method", 50), "public_key": str(post.get("public_key", ""))[:20000],
              "scopes": [s for s in post.getall("scopes", []) if s in dict(SCOPES)]}
    errors = {}
    if len(values["name"]) < 2:
        errors["name"] = "Vul de naam van de koppeling in, bijvoorbeeld de naam van de studentadministratie."
    if not values["scopes"]:
        errors["scopes"] = "Kies wat de koppeling mag."
    if values["auth_method"] not in dict(AUTH_METHODS):
        errors["auth_method"] = "Kies hoe de koppeling zich aanmeldt."
    if values["auth_method"] == "private_key_jwt" and not values["public_key"].strip():
        errors["public_key"] = "Plak de publieke sleutel (PEM of JWK)."
    try:
        valid_id(values["institution_id"])
    except web.HTTPNotFound:
        errors["institution_id"] = "Kies de ontvangende school (mbo, havo of vmbo)."
    if errors:
        return await _clients_page(request, values=values, errors=errors, status=400)
    body = {"institution_id": values["institution_id"], "name": values["name"], "scopes": values["scopes"],
            "auth_method": values["auth_method"]}
    if values["auth_method"] == "private_key_jwt":
        body["public_key"] = _public_key(values["public_key"])
    try:
        created = await api_identity.register_client(request, body)
    except ApiError as err:
        if err.status == 422:
            return await _clients_page(request, values=values, errors=err.field_errors() or {"name": err.detail},
                                       status=400)
        raise
    response = await _clients_page(request, created=created)
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/platform/koppelingen/{client_id}")
async def client_page(request: web.Request) -> web.Response:
    _admin(request)
    client_id = valid_id(request.match_info["client_id"])
    listing = {c["client_id"]: c for c in await api_identity.clients(request)}
    client = listing.get(client_id)
    if client is None:
        raise web.HTTPNotFound()
    log = await api_identity.client_log(request, client_id)
    return await render(request, "platform_client.html", {
        "title": client["name"], "client": client, "entries": log["entries"], "event_labels": EVENT_LABELS,
        "scopes": dict(SCOPES), "rotated": None})


@routes.post("/platform/koppelingen/{client_id}/vernieuwen")
async def rotate_client(request: web.Request) -> web.Response:
    """A new secret (shown once) or a new public key; the old one keeps working the chosen time."""
    _admin(request)
    client_id = valid_id(request.match_info["client_id"])
    post = await request.post()
    try:
        minutes = max(0, min(1440, int(str(post.get("keep_old_minutes", "60")))))
    except ValueError:
        minutes = 60
    body: dict = {"keep_old_minutes": minutes}
    if str(post.get("public_key", "")).strip():
        body["public_key"] = _public_key(str(post["public_key"])[:20000])
    try:
        rotated = await api_identity.rotate_client(request, client_id, body)
    except ApiError as err:
        if err.status in (409, 422):
            flash(request, err.field_errors().get("public_key") or err.detail, "error")
            raise redirect(f"/platform/koppelingen/{client_id}")
        raise
    log = await api_identity.client_log(request, client_id)
    response = await render(request, "platform_client.html", {
        "title": rotated["name"], "client": rotated, "entries": log["entries"], "event_labels": EVENT_LABELS,
        "scopes": dict(SCOPES), "rotated": rotated})
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post("/platform/koppelingen/{client_id}/intrekken")
async def revoke_client(request: web.Request) -> web.Response:
    _admin(request)
    client_id = valid_id(request.match_info["client_id"])
    client = await api_identity.revoke_client(request, client_id)
    flash(request, f"De koppeling {client['name']} is ingetrokken. Ze krijgt geen tokens meer, en de tokens die ze "
                   "had werken binnen enkele seconden niet meer.", "success")
    raise redirect(f"/platform/koppelingen/{client_id}")
