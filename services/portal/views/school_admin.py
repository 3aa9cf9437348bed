"""School admin (schoolbeheerder): roster import with the row-by-row error report, a preview of what
the file changes (where the students it does not list can be marked as left) and a progress page;
staff (searched and paged by identity; deactivated and made active again); the mentors linked to
each class; a new school year (previewed first); and the retention rule's overview."""
from __future__ import annotations

import asyncio
import re

from aiohttp import web

from services.portal import api_dossier, api_identity, backend, sessions
from services.portal.backend import ApiError
from services.portal.render import flash, redirect, render
from services.portal.views.common import page_number, paged, valid_id
from services.portal.views.staff import FINISHED
from shared.app import SETTINGS
from shared.auth import Principal

routes = web.RouteTableDef()
ROLES = [("mentor", "Mentor"), ("counsellor", "Decaan"), ("school_admin", "Schoolbeheerder")]


def _admin(request: web.Request) -> Principal:
    return backend.logged_in(request, "school_admin", "admin").principal


@routes.get("/beheer")
async def home(request: web.Request) -> web.Response:
    _admin(request)
    return await render(request, "admin_home.html", {"title": "Beheer"})


@routes.get("/beheer/leerlingenbestand")
async def roster_page(request: web.Request) -> web.Response:
    _admin(request)
    return await render(request, "roster_import.html", {"title": "Leerlingenbestand inlezen", "report": None,
                                                        "errors": {}})


@routes.post("/beheer/leerlingenbestand")
async def roster_import(request: web.Request) -> web.Response:
    _admin(request)
    post = await request.post()
    upload = post.get("bestand")
    if upload is None or not hasattr(upload, "file"):
        return await render(request, "roster_import.html", {
            "title": "Leerlingenbestand inlezen", "report": None,
            "errors": {"bestand": "Kies een CSV-bestand om in te lezen."}}, status=400)
    content = upload.file.read()
    if not content:
        return await render(request, "roster_import.html", {
            "title": "Leerlingenbestand inlezen", "report": None,
            "errors": {"bestand": "Het bestand is leeg."}}, status=400)
    try:  # first a preview: nothing changes until the school admin confirms it
        job = await api_identity.preview_roster(request, content)
    except ApiError as err:
        running = err.body.get("import_id") if err.code == "import-running" else None
        if running:  # the school's previous file is still being imported: show that one
            flash(request, err.detail, "warning")
            raise redirect(f"/beheer/leerlingenbestand/{valid_id(str(running))}") from None
        if err.status in (400, 409, 413, 415, 422):
            rows = err.errors
            return await render(request, "roster_import.html", {
                "title": "Leerlingenbestand inlezen", "errors": {},
                "report": {"ok": False, "detail": err.detail, "rows": rows}}, status=422)
        raise
    import_id = valid_id(str(job.get("import_id", "")))
    raise redirect(f"/beheer/leerlingenbestand/{import_id}")


@routes.post("/beheer/leerlingenbestand/{import_id}/bevestigen")
async def roster_confirm(request: web.Request) -> web.Response:
    """The preview is read in; the students ticked as left are marked so (the others stay as they are)."""
    _admin(request)
    import_id = valid_id(request.match_info["import_id"])
    post = await request.post()
    leavers = [valid_id(str(v)) for v in post.getall("vertrokken", [])]
    try:
        job = await api_identity.confirm_roster(request, import_id, leavers)
    except ApiError as err:
        if err.status in (409, 410, 422):
            flash(request, err.detail if err.status != 422 else
                  (err.field_errors().get("leavers") or err.detail), "error")
            raise redirect("/beheer/leerlingenbestand" if err.status == 410 else
                           f"/beheer/leerlingenbestand/{import_id}") from None
        raise
    await _settle(request, import_id, job)
    raise redirect(f"/beheer/leerlingenbestand/{import_id}")


@routes.post("/beheer/leerlingenbestand/{import_id}/annuleren")
async def roster_drop(request: web.Request) -> web.Response:
    _admin(request)
    import_id = valid_id(request.match_info["import_id"])
    try:
        await api_identity.drop_roster_preview(request, import_id)
    except ApiError as err:
        if err.status not in (404, 409):
            raise
        flash(request, err.detail, "error")
        raise redirect(f"/beheer/leerlingenbestand/{import_id}") from None
    flash(request, "Het bestand is niet ingelezen; er is niets veranderd.", "info")
    raise redirect("/beheer/leerlingenbestand")


async def _settle(request: web.Request, import_id: str, job: dict, seconds: float = 2.0) -> None:
    """A small file is imported in a moment: wait that moment, so its result shows at once."""
    deadline = asyncio.get_running_loop().time() + seconds
    while job.get("state") not in FINISHED and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
        job = await api_identity.roster_import(request, import_id)


@routes.get("/beheer/leerlingenbestand/{import_id}")
async def roster_import_page(request: web.Request) -> web.Response:
    """The import's progress ("x van y rijen"), refreshing itself while it runs; then its result."""
    _admin(request)
    import_id = valid_id(request.match_info["import_id"])
    job = await api_identity.roster_import(request, import_id)
    if job.get("state") == "preview":
        return await render(request, "roster_import_preview.html", {
            "title": "Leerlingenbestand inlezen: controleren", "job": job, "preview": job.get("preview") or {}})
    return await render(request, "roster_import_progress.html", {
        "title": "Leerlingenbestand inlezen", "job": job, "finished": job.get("state") in FINISHED,
        "poll": f"/beheer/leerlingenbestand/{import_id}/voortgang"})


@routes.get("/beheer/leerlingenbestand/{import_id}/voortgang")
async def roster_import_progress(request: web.Request) -> web.Response:
    """For portal.js (as the letters page): the stand, and where to go when it is finished."""
    _admin(request)
    import_id = valid_id(request.match_info["import_id"])
    job = await api_identity.roster_import(request, import_id)
    return web.json_response({"state": job.get("state"), "label": job.get("state_label"),
                              "done": job.get("rows_done", 0), "total": job.get("rows_total", 0),
                              "finished": job.get("state") in FINISHED,
                              "page": f"/beheer/leerlingenbestand/{import_id}"})


@routes.get("/beheer/medewerkers")
async def staff_page(request: web.Request) -> web.Response:
    _admin(request)
    return await _staff_page(request, {}, {})


async def _staff_page(request, values, errors, status=200):
    number = page_number(request)
    size = request.app[SETTINGS].page_size
    q = sessions.current(request).get("staff_q", "")
    data = await api_identity.search_staff(request, q=q, page=number, page_size=size)
    items, page = paged(data, number, size, "staff")
    return await render(request, "staff_list.html", {"title": "Medewerkers", "items": items, "page": page, "q": q,
                                                     "values": values, "errors": errors, "roles": ROLES},
                        status=status)


@routes.post("/beheer/medewerkers/zoeken")
async def search_staff(request: web.Request) -> web.Response:
    _admin(request)
    await sessions.remember_search(request, "staff_q")
    raise redirect("/beheer/medewerkers")


@routes.post("/beheer/medewerkers")
async def add_staff(request: web.Request) -> web.Response:
    _admin(request)
    post = await request.post()
    values = {k: str(post.get(k, "")).strip()[:200] for k in ("name", "email", "role")}
    errors = {}
    if not values["name"]:
        errors["name"] = "Vul de naam in."
    if "@" not in values["email"]:
        errors["email"] = "Vul een geldig e-mailadres in."
    if values["role"] not in dict(ROLES):
        errors["role"] = "Kies een rol."
    if not errors:
        try:
            await api_identity.add_staff(request, values)
        except ApiError as err:
            if err.status in (409, 422):
                errors = err.field_errors() or {"email": err.detail}
            else:
                raise
        else:
            flash(request, f"{values['name']} is toegevoegd en krijgt een e-mail om een wachtwoord te kiezen.",
                  "success")
            raise redirect("/beheer/medewerkers")
    return await _staff_page(request, values, errors, 400)


@routes.post("/beheer/medewerkers/{staff_id}/actief")
async def staff_active(request: web.Request) -> web.Response:
    """Deactivate a member of staff (they can no longer log in, every session ends, their classes lose
    them) or make them active again."""
    _admin(request)
    staff_id = valid_id(request.match_info["staff_id"])
    active = str((await request.post()).get("actief", "")) == "ja"
    try:
        member = await api_identity.set_staff_active(request, staff_id, active)
    except ApiError as err:
        if err.status not in (403, 409):
            raise
        flash(request, err.detail, "error")
    else:
        name = member.get("name") or "De medewerker"
        flash(request, f"{name} is weer actief en kan weer inloggen. Koppel de klassen opnieuw bij Klassen en "
                       "mentoren." if active else
              f"{name} is op inactief gezet: inloggen kan niet meer en de klassen zijn ontkoppeld.", "success")
    raise redirect("/beheer/medewerkers")


@routes.post("/beheer/medewerkers/{staff_id}/uitnodigen")
async def invite_staff(request: web.Request) -> web.Response:
    _admin(request)
    try:
        await api_identity.invite_staff(request, valid_id(request.match_info["staff_id"]))
    except ApiError as err:
        if err.status != 409:
            raise
        flash(request, err.detail, "error")
    else:
        flash(request, "De uitnodiging is verstuurd.", "success")
    raise redirect("/beheer/medewerkers")


@routes.get("/beheer/klassen")
async def classes_page(request: web.Request) -> web.Response:
    _admin(request)
    classes = await api_identity.classes(request)
    mentors = [s for s in await api_identity.staff(request) if s.get("role") in ("mentor", "counsellor")
               and s.get("active", True)]
    return await render(request, "classes.html", {"title": "Klassen en mentoren", "classes": classes,
                                                  "mentors": mentors})


@routes.post("/beheer/klassen/{class_id}")
async def set_mentors(request: web.Request) -> web.Response:
    _admin(request)
    class_id = valid_id(request.match_info["class_id"])
    post = await request.post()
    staff_ids = [valid_id(str(v)) for v in post.getall("mentor", [])]
    await api_identity.set_class_mentors(request, class_id, staff_ids)
    flash(request, "De mentoren van de klas zijn opgeslagen.", "success")
    raise redirect("/beheer/klassen")


# --- a new school year ---------------------------------------------------------------------------


def _school_year_body(post) -> tuple[dict, str]:
    """The school year form: the last leerjaar and the student numbers of who stays behind."""
    raw = str(post.get("zittenblijvers", ""))[:20000]
    numbers = [n for n in re.split(r"[\s,;]+", raw) if n][:5000]
    body: dict = {"stay_behind": [n[:40] for n in numbers]}
    final = str(post.get("laatste_leerjaar", ""))
    if final.isdigit() and 1 <= int(final) <= 8:
        body["final_leerjaar"] = int(final)
    return body, raw


async def _school_year_page(request: web.Request, body: dict, raw: str, errors: dict | None = None,
                            status: int = 200) -> web.Response:
    _admin(request)
    plan = await api_identity.school_year_plan(request, body)
    return await render(request, "school_year.html", {
        "title": "Nieuw schooljaar", "plan": plan, "raw": raw, "errors": errors or {},
        "years": [(str(n), f"Leerjaar {n}") for n in range(1, 9)]}, status=status)


@routes.get("/beheer/schooljaar")
async def school_year_page(request: web.Request) -> web.Response:
    return await _school_year_page(request, {}, "")


@routes.post("/beheer/schooljaar/voorbeeld")
async def school_year_preview(request: web.Request) -> web.Response:
    body, raw = _school_year_body(await request.post())
    return await _school_year_page(request, body, raw)


@routes.post("/beheer/schooljaar")
async def school_year_start(request: web.Request) -> web.Response:
    _admin(request)
    post = await request.post()
    body, raw = _school_year_body(post)
    to_year = str(post.get("schooljaar", ""))[:9]
    try:
        done = await api_identity.start_school_year(request, {**body, "school_year": to_year})
    except ApiError as err:
        if err.status in (409, 422):
            errors = {"zittenblijvers": m for m in [err.field_errors().get("stay_behind")] if m}
            if not errors:
                flash(request, " ".join(e.get("message", "") for e in err.errors) or err.detail, "error")
            return await _school_year_page(request, body, raw, errors, 400)
        raise
    flash(request, f"Schooljaar {done.get('to_school_year')} is gestart: {done.get('students_moving', 0)} leerlingen "
                   f"gingen een leerjaar omhoog, {done.get('students_leaving', 0)} hebben de school verlaten.",
          "success")
    raise redirect("/beheer")


# --- the retention rule ---------------------------------------------------------------------------


@routes.get("/beheer/bewaartermijn")
async def retention_page(request: web.Request) -> web.Response:
    """What the retention rule will erase (and from when), and what it erased, in counts."""
    _admin(request)
    overview = await api_dossier.retention(request)
    return await render(request, "retention.html", {"title": "Bewaartermijn", "overview": overview})
