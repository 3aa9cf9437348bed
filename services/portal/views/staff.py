"""Mentor and counsellor (decaan): Te behandelen, Mijn leerlingen, Deel B, Opsturen naar leerling,
terugzetten, archiveren, Historie, herinneringen, activatiecodes and letters."""
from __future__ import annotations

import uuid

from aiohttp import web

from services.portal import api_document, api_dossier, api_identity, backend, sessions
from services.portal.backend import ApiError
from services.portal.formview import DossierView, fields_for, parse_section, readable
from services.portal.history import grouped
from services.portal.render import flash, redirect, render
from services.portal.section_save import posted_version, save_section
from services.portal.views.common import page_number, paged, valid_id
from services.portal.views.student import catalogue, pdf_response
from shared.app import SETTINGS
from shared.auth import Principal

routes = web.RouteTableDef()
STAFF = ("mentor", "counsellor")


def _staff(request: web.Request) -> Principal:
    return backend.logged_in(request, *STAFF).principal


def _params(request: web.Request, number: int, **extra) -> dict:
    params = {"page": number, "page_size": request.app[SETTINGS].page_size}
    params.update({k: v for k, v in extra.items() if v not in (None, "")})
    return params


# -- dashboard: te behandelen ----------------------------------------------------------------------

@routes.get("/school")
async def dashboard(request: web.Request) -> web.Response:
    principal = _staff(request)
    number = page_number(request)
    q = sessions.current(request).get("worklist_q", "")
    size = request.app[SETTINGS].page_size
    data, counts = await backend.together(
        api_dossier.worklist(request, q=q, class_id=None, page=number, page_size=size), api_dossier.counts(request))
    items, page = paged(data, number, size, "dossiers")
    return await render(request, "staff_dashboard.html", {"title": "Te behandelen", "items": items,
                                                          "page": page, "counts": counts, "q": q,
                                                          "principal": principal})


@routes.post("/school")
async def search_worklist(request: web.Request) -> web.Response:
    """The search term goes into the session, not the URL: names are personal data."""
    _staff(request)
    await sessions.remember_search(request, "worklist_q")
    raise redirect("/school")


# -- mijn leerlingen -------------------------------------------------------------------------------

@routes.get("/school/leerlingen")
async def students(request: web.Request) -> web.Response:
    _staff(request)
    session = sessions.current(request)
    q = session.get("students_q", "")
    class_id = request.query.get("klas", "")
    year = request.query.get("leerjaar", "")
    archived = request.query.get("gearchiveerd") == "1"
    number = page_number(request)
    data, classes = await backend.together(
        api_dossier.my_students(request, q=q, class_id=valid_id(class_id) if class_id else None,
                                leerjaar=int(year) if year.isdigit() else None, page=number,
                                page_size=request.app[SETTINGS].page_size, archived=archived),
        _classes_or_none(request))
    items, page = paged(data, number, request.app[SETTINGS].page_size, "students")
    # "+" opens a student's row with every dossier, archived ones too (a link: it works without script)
    opened = valid_id(request.query["open"]) if request.query.get("open") else None
    dossiers = None
    if opened and any(str(s.get("student_id")) == opened for s in items):
        dossiers = await api_dossier.student_dossiers(request, opened)
    years = sorted({str(c.get("school_year")) for c in classes if c.get("school_year")})
    filters = [(k, v) for k, v in (("klas", class_id), ("leerjaar", year), ("gearchiveerd", "1" if archived else ""))
               if v]
    base = "/school/leerlingen" + ("?" + "&".join(f"{k}={v}" for k, v in filters) if filters else "")
    here = filters + ([("pagina", str(number))] if number > 1 else [])
    return await render(request, "my_students.html", {
        "title": "Mijn leerlingen", "items": items, "page": page, "q": q, "class_id": class_id,
        "year": year, "archived": archived, "classes": classes, "years": years, "base": base,
        "here": "/school/leerlingen?" + "".join(f"{k}={v}&" for k, v in here), "opened": opened,
        "dossiers": dossiers})


async def _classes_or_none(request: web.Request) -> list[dict]:
    """The class filter's choices; without them (identity away) the list works all the same."""
    try:
        return await api_identity.classes(request)
    except (ApiError, backend.BackendDown):
        return []


@routes.post("/school/leerlingen")
async def search_students(request: web.Request) -> web.Response:
    """The search term goes into the session, not the URL: names are personal data."""
    _staff(request)
    await sessions.remember_search(request, "students_q")
    post = await request.post()
    params = "&".join(f"{k}={valid_id(v) if k == 'klas' else int(v)}"
                      for k, v in (("klas", str(post.get("klas", ""))), ("leerjaar", str(post.get("leerjaar", ""))),
                                   ("gearchiveerd", str(post.get("gearchiveerd", ""))))
                      if v and (k == "klas" or v.isdigit()))
    raise redirect("/school/leerlingen" + (f"?{params}" if params else ""))


# -- a dossier: overview, part B, actions ----------------------------------------------------------

async def _load(request: web.Request) -> DossierView:
    raw, etag = await api_dossier.dossier(request, valid_id(request.match_info["dossier_id"]))
    return DossierView.of(raw, etag)


@routes.get("/school/dossiers/{dossier_id}")
async def dossier(request: web.Request) -> web.Response:
    _staff(request)
    view = await _load(request)
    cat = await catalogue(request)
    return await render(request, "staff_dossier.html", {
        "title": "Dossier", "view": view, "programme": view.choice_label(),
        "menu_b": view.menu("part_b"), "percent_a": view.part_percent("part_a"),
        "part_a": readable(view.part_a, "part_a", view.answers_a, cat)})


async def _part_b_page(request: web.Request, view: DossierView, section_id: str, *, answers=None, errors=None,
                       status: int = 200) -> web.Response:
    try:
        section = view.part_b.section(section_id)
    except LookupError:
        raise web.HTTPNotFound() from None
    cat = await catalogue(request)
    answers = answers if answers is not None else view.answers_b.get(section_id, {})
    ids = [s.id for s in view.part_b.sections_of("part_b")]
    index = ids.index(section_id)
    return await render(request, "section_form.html", {
        "title": f"Deel B – {section.title}", "view": view, "section": section, "catalogue": cat,
        "programme": view.choice_label(),
        "fields": fields_for(view.part_b, section_id, answers, errors or {}, cat), "errors": errors or {},
        "labels": {f.id: f.label for f in section.fields}, "menu": view.menu("part_b"), "part_label": "Deel B",
        "base": f"/school/dossiers/{view.id}/deel-b", "next": ids[index + 1] if index + 1 < len(ids) else None,
        "complete": view.part_percent("part_b") == 100 and view.state == "part_b",
        "submit_url": f"/school/dossiers/{view.id}#opsturen", "submit_label": "Opsturen naar leerling",
        "extra_actions": "part_b_links.html"}, status=status)


@routes.get("/school/dossiers/{dossier_id}/deel-b/{section}")
async def part_b_section(request: web.Request) -> web.Response:
    _staff(request)
    view = await _load(request)
    return await _part_b_page(request, view, request.match_info["section"])


@routes.post("/school/dossiers/{dossier_id}/deel-b/{section}")
async def save_part_b_section(request: web.Request) -> web.Response:
    _staff(request)
    view = await _load(request)

    async def show_errors(answers: dict, errors: dict) -> web.Response:
        return await _part_b_page(request, view, request.match_info["section"], answers=answers, errors=errors,
                                  status=422)

    return await save_section(request, view, "part_b", show_errors, close_url=f"/school/dossiers/{view.id}",
                              close_message="Opgeslagen.",
                              section_url=lambda section: f"/school/dossiers/{view.id}/deel-b/{section}")


ACTIONS = {
    "opsturen": ("send-part-b", "Deel B is opgestuurd naar de leerling. De leerling krijgt een e-mail."),
    "terugzetten": ("reset", "Het dossier staat weer in deel A. De leerling krijgt een e-mail."),
    "archiveren": ("archive", "Het dossier is gearchiveerd."),
    "heractiveren": ("reactivate", "Het dossier is weer actief."),
    "herinnering": ("remind", "De leerling krijgt een herinnering per e-mail."),
    "afgehandeld": None,
    "start-deel-b": ("start-part-b", "Deel B is gestart."),
}
# the same, for a student without any e-mail address (no mail can go out)
NO_MAIL = (" Er is geen e-mailadres van de leerling bekend, dus de leerling krijgt geen e-mail: laat het de "
           "leerling zelf weten.")
WITHOUT_MAIL = {
    "opsturen": "Deel B is opgestuurd naar de leerling." + NO_MAIL,
    "terugzetten": "Het dossier staat weer in deel A." + NO_MAIL,
    "herinnering": "De herinnering is vastgelegd, maar niet verstuurd: er is geen e-mailadres van de leerling bekend. "
                   "Spreek de leerling zelf aan.",
}


@routes.post("/school/dossiers/{dossier_id}/{action}")
async def dossier_action(request: web.Request) -> web.Response:
    _staff(request)
    name = request.match_info["action"]
    if name not in ACTIONS:
        raise web.HTTPNotFound()
    view = await _load(request)
    if ACTIONS[name] is None:
        raise web.HTTPNotFound()
    api_name, done = ACTIONS[name]
    try:
        await api_dossier.action(request, view.id, api_name, view.version)
    except ApiError as err:
        if err.status in (409, 412, 422):
            flash(request, err.detail, "error")
            raise redirect(f"/school/dossiers/{view.id}") from None
        raise
    if name in WITHOUT_MAIL and not view.mail_possible():
        done = WITHOUT_MAIL[name]
    flash(request, done, "success")
    if name == "start-deel-b":
        raise redirect(f"/school/dossiers/{view.id}/deel-b/{view.part_b.sections_of('part_b')[0].id}")
    raise redirect(f"/school/dossiers/{view.id}")


@routes.get("/school/dossiers/{dossier_id}/historie")
async def history(request: web.Request) -> web.Response:
    _staff(request)
    dossier_id = valid_id(request.match_info["dossier_id"])
    items = grouped(await api_dossier.history(request, dossier_id))
    return await render(request, "history.html", {"title": "Historie", "items": items,
                                                  "dossier_id": dossier_id})


@routes.get("/school/dossiers/{dossier_id}/inzagelog")
async def view_log(request: web.Request) -> web.Response:
    """Who looked at the dossier or changed it, when and why (the counsellor only: a mentor gets 404)."""
    backend.logged_in(request, "counsellor")
    dossier_id = valid_id(request.match_info["dossier_id"])
    number = page_number(request)
    size = request.app[SETTINGS].page_size
    entries = await api_dossier.audit(request, dossier_id)
    items, page = paged(list(reversed(entries)), number, size)  # newest first
    return await render(request, "view_log.html", {"title": "Inzagelog", "items": items, "page": page,
                                                   "dossier_id": dossier_id})


@routes.get("/school/dossiers/{dossier_id}/pdf/{part}")
async def pdf(request: web.Request) -> web.StreamResponse:
    _staff(request)
    return await pdf_response(request)


# -- deel B early, for a student (manual 3.4) ------------------------------------------------------

@routes.get("/school/leerlingen/{student_id}/begeleiding")
async def early_part_b(request: web.Request) -> web.Response:
    _staff(request)
    student_id = valid_id(request.match_info["student_id"])
    raw = await api_dossier.student_part_b(request, student_id)
    return await _early_page(request, student_id, raw, None, {})


def _early_view(raw: dict) -> DossierView:
    return DossierView.of({"part_b_student": raw.get("part_b_student") or {}, "versions": raw.get("versions"),
                           "school_year": raw.get("form_version"),
                           "student": {"name": raw.get("name"), "class_name": raw.get("class_name")}})


async def _early_page(request, student_id, raw, answers, errors, status=200):
    view = _early_view(raw)
    section = view.part_b.sections_of("part_b_student")[0]
    answers = answers if answers is not None else view.answers_b.get(section.id, {})
    return await render(request, "early_part_b.html", {
        "title": "Deel B alvast invullen", "view": view, "section": section, "student_id": student_id,
        "fields": fields_for(view.part_b, section.id, answers, errors), "errors": errors,
        "labels": {f.id: f.label for f in section.fields}}, status=status)


@routes.post("/school/leerlingen/{student_id}/begeleiding")
async def save_early_part_b(request: web.Request) -> web.Response:
    _staff(request)
    student_id = valid_id(request.match_info["student_id"])
    raw = await api_dossier.student_part_b(request, student_id)
    view = _early_view(raw)
    section = view.part_b.sections_of("part_b_student")[0]
    post = await request.post()
    answers = parse_section(view.part_b, section.id, post)
    try:
        await api_dossier.save_student_part_b(request, student_id, section.id, answers,
                                              posted_version(post, view.section_version(section.id)))
    except ApiError as err:
        if err.status == 422 and err.errors:
            return await _early_page(request, student_id, raw, answers, err.field_errors(), 422)
        raise
    flash(request, "Het leerling-specifieke deel is opgeslagen.", "success")
    raise redirect("/school/leerlingen")


# -- herinneringen -----------------------------------------------------------------------------------

@routes.get("/school/herinneringen")
async def reminders(request: web.Request) -> web.Response:
    _staff(request)
    number = page_number(request)
    data = await api_dossier.reminders(request, _params(request, number))
    items, page = paged(data, number, request.app[SETTINGS].page_size, "dossiers")
    return await render(request, "reminders.html", {"title": "Herinneringen", "items": items, "page": page})


# -- activatiecodes ----------------------------------------------------------------------------------

@routes.get("/school/activatiecodes")
async def codes_page(request: web.Request) -> web.Response:
    _staff(request)
    return await _codes_form(request, {}, {})


async def _codes_form(request, values, errors, status=200, result=None):
    try:
        classes = await api_identity.classes(request)
    except (ApiError, backend.BackendDown):
        classes = []
    years = sorted({str(c.get("school_year")) for c in classes if c.get("school_year")})
    return await render(request, "codes_issue.html", {
        "title": "Activatiecodes verstrekken", "classes": classes, "years": years, "values": values,
        "errors": errors, "result": result, "request_id": str(uuid.uuid4())}, status=status)


@routes.post("/school/activatiecodes")
async def issue_codes(request: web.Request) -> web.Response:
    _staff(request)
    post = await request.post()
    scope = str(post.get("scope", ""))
    channel = str(post.get("channel", ""))
    values = {k: str(post.get(k, "")) for k in ("scope", "channel", "school_year", "class_id", "student_id")}
    errors = {}
    body: dict = {"channel": channel}
    key = str(post.get("request_id", ""))[:100] or str(uuid.uuid4())
    if channel not in ("email", "letter"):
        errors["channel"] = "Kies hoe de leerlingen de code krijgen: per e-mail of per brief."
    if scope == "school_year" and values["school_year"].isdigit():
        body["school_year"] = int(values["school_year"])
    elif scope == "class" and values["class_id"]:
        body["class_id"] = valid_id(values["class_id"])
    elif scope == "student" and values["student_id"]:
        body["student_id"] = valid_id(values["student_id"])
    else:
        errors["scope"] = "Kies een leerjaar, een klas of een leerling."
    if errors:
        return await _codes_form(request, values, errors, 400)
    try:
        result = await api_identity.issue_codes(request, body, key)
    except ApiError as err:
        if err.status in (409, 422):
            return await _codes_form(request, values, err.field_errors() or {"scope": err.detail}, 400)
        raise
    batch = result.get("batch_id")
    if channel == "letter" and batch:
        raise redirect(f"/school/brieven/{valid_id(str(batch))}")
    return await _codes_form(request, {}, {}, result=result)


@routes.get("/school/activatiecodes/status")
async def code_status(request: web.Request) -> web.Response:
    _staff(request)
    number = page_number(request)
    class_id = request.query.get("klas", "")
    q = sessions.current(request).get("codes_q", "")
    size = request.app[SETTINGS].page_size
    # identity searches and pages; the term travels in the session and a request body, never in a URL
    data = await api_identity.search_students(request, q=q, class_id=valid_id(class_id) if class_id else None,
                                              page=number, page_size=size)
    items, page = paged(data, number, size, "students")
    try:
        classes = await api_identity.classes(request)
    except (ApiError, backend.BackendDown):
        classes = []
    return await render(request, "codes_status.html", {
        "title": "Status activatiecodes", "items": items, "page": page, "classes": classes,
        "class_id": class_id, "q": q, "base": "/school/activatiecodes/status" + (f"?klas={class_id}" if class_id else "")})


@routes.post("/school/activatiecodes/status")
async def search_code_status(request: web.Request) -> web.Response:
    _staff(request)
    await sessions.remember_search(request, "codes_q")
    klas = str((await request.post()).get("klas", ""))
    raise redirect("/school/activatiecodes/status" + (f"?klas={valid_id(klas)}" if klas else ""))


FINISHED = ("done", "failed")


def _progress(job: dict | None, page: str) -> dict:
    """What the letters page's script needs to show progress (and when to reload)."""
    if not job:
        return {"state": "queued", "label": "In de wachtrij", "done": 0, "total": 0, "finished": False, "page": page}
    return {"state": job.get("state"), "label": job.get("state_label"), "done": job.get("pages_done", 0),
            "total": job.get("pages_total", 0), "finished": job.get("state") in FINISHED, "page": page}


@routes.get("/school/brieven/{batch_id}")
async def letters(request: web.Request) -> web.Response:
    """Right after issuing by letter: the print job may not exist yet (it follows identity's event)."""
    _staff(request)
    batch_id = valid_id(request.match_info["batch_id"])
    jobs = await api_document.jobs_of_batch(request, batch_id)
    if jobs:
        raise redirect(f"/afdrukopdrachten/{valid_id(str(jobs[0]['id']))}")
    return await render(request, "letters.html", {"title": "Brieven met activatiecodes", "job": {"state": "queued"},
                                                  "job_id": None, "poll": f"/school/brieven/{batch_id}/voortgang"})


@routes.get("/school/brieven/{batch_id}/voortgang")
async def letters_progress(request: web.Request) -> web.Response:
    _staff(request)
    batch_id = valid_id(request.match_info["batch_id"])
    jobs = await api_document.jobs_of_batch(request, batch_id)
    page = f"/afdrukopdrachten/{valid_id(str(jobs[0]['id']))}" if jobs else f"/school/brieven/{batch_id}"
    return web.json_response(_progress(jobs[0] if jobs else None, page))


@routes.get("/afdrukopdrachten/{job_id}")
async def print_job(request: web.Request) -> web.Response:
    _staff(request)
    job_id = valid_id(request.match_info["job_id"])
    job = await api_document.job(request, job_id)
    return await render(request, "letters.html", {"title": "Brieven met activatiecodes", "job": job,
                                                  "job_id": job_id, "poll": f"/afdrukopdrachten/{job_id}/voortgang"})


@routes.get("/afdrukopdrachten/{job_id}/voortgang")
async def print_job_progress(request: web.Request) -> web.Response:
    _staff(request)
    job_id = valid_id(request.match_info["job_id"])
    return web.json_response(_progress(await api_document.job(request, job_id), f"/afdrukopdrachten/{job_id}"))


@routes.get("/afdrukopdrachten/{job_id}/pdf")
async def print_job_pdf(request: web.Request) -> web.Response:
    _staff(request)
    reply = await api_document.job_pdf(request, valid_id(request.match_info["job_id"]))
    return web.Response(body=reply.body, content_type="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="activatiebrieven.pdf"'})
