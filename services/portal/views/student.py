"""The student: Home with every dossier, Nieuw dossier with the activation code, Deel A per section,
Versturen naar mentor, the Akkoordverklaring, reactivation and "download al mijn gegevens"."""
from __future__ import annotations

import json

from aiohttp import web

from services.portal import api_document, api_dossier, api_identity, backend, sessions
from services.portal.backend import ApiError
from services.portal.formview import Catalogue, DossierView, fields_for, readable
from services.portal.render import flash, redirect, render
from services.portal.section_save import save_section
from services.portal.views.common import valid_id
from shared.auth import Principal

routes = web.RouteTableDef()
PDF_NAMES = {"a": "deel-a", "b": "deel-b", "alles": "dossier"}


def _student(request: web.Request) -> Principal:
    return backend.logged_in(request, "student").principal


async def catalogue(request: web.Request) -> Catalogue:
    try:
        return Catalogue.from_institutions(await api_identity.institutions(request))
    except (ApiError, backend.BackendDown):
        return Catalogue()


async def _load(request: web.Request) -> DossierView:
    raw, etag = await api_dossier.dossier(request, request.match_info["dossier_id"])
    return DossierView.of(raw, etag)


def _check_id(request: web.Request) -> str:
    return valid_id(request.match_info["dossier_id"])


@routes.get("/leerling")
async def home(request: web.Request) -> web.Response:
    principal = _student(request)
    # before the activation code is redeemed the account is not linked to a student: no dossiers yet
    dossiers = await api_dossier.my_dossiers(request) if principal.student_id else []
    return await render(request, "student_home.html", {"title": "Home", "rows": dossiers,
                                                       "needs_code": principal.student_id is None})


@routes.get("/leerling/dossiers/nieuw")
async def new_page(request: web.Request) -> web.Response:
    principal = _student(request)
    return await render(request, "new_dossier.html", {"title": "Nieuw dossier", "errors": {},
                                                      "needs_code": principal.student_id is None})


RELEASED_OTHERS = ("Met jouw BSN waren nog andere accounts gemaakt. Die horen nu niet meer bij jouw BSN: alleen dit "
                   "account hoort bij jou als leerling. Heb jij die andere accounts niet gemaakt? Vertel het je "
                   "mentor of decaan.")


@routes.post("/leerling/dossiers/nieuw")
async def new(request: web.Request) -> web.Response:
    principal = _student(request)
    form = await request.post()
    code = str(form.get("code", "")).strip()[:64]
    if principal.student_id is None or code:
        if not code:
            return await render(request, "new_dossier.html", {
                "title": "Nieuw dossier", "needs_code": True,
                "errors": {"code": "Vul de activatiecode in die je van je mentor of decaan hebt gekregen."}},
                status=400)
        try:
            redeemed = await api_identity.redeem_code(request, code)
        except ApiError as err:
            if err.status in (400, 404, 409, 410, 422, 429):
                message = err.field_errors().get("code") or err.detail
                return await render(request, "new_dossier.html", {
                    "title": "Nieuw dossier", "needs_code": True, "errors": {"code": message}}, status=400)
            raise
        if redeemed.get("released_claims"):  # other accounts had claimed this BSN: say what happened
            flash(request, RELEASED_OTHERS, "info")
        # the new access token names the student; the refresh token stays
        session = sessions.current(request)
        if redeemed.get("access_token"):
            await sessions.store_tokens(request, session, await backend.principal_from(
                request, redeemed["access_token"]), {"access_token": redeemed["access_token"], "expires_in": 900})
        else:
            await backend.refresh(request, session)
    created = await api_dossier.create(request)
    dossier_id = valid_id(str(created.get("id")))
    flash(request, "Je nieuwe dossier is gemaakt. Begin met deel A.", "success")
    raise redirect(f"/leerling/dossiers/{dossier_id}")


@routes.get("/leerling/dossiers/{dossier_id}")
async def open_dossier(request: web.Request) -> web.Response:
    _student(request)
    _check_id(request)
    view = await _load(request)
    if view.state == "agreement" and not view.archived:
        raise redirect(f"/leerling/dossiers/{view.id}/akkoordverklaring")
    if view.state == "part_a" and not view.archived:
        first = view.part_a.sections_of("part_a")[0].id
        raise redirect(f"/leerling/dossiers/{view.id}/deel-a/{first}")
    return await render(request, "student_dossier.html", {
        "title": "Mijn dossier", "view": view, "programme": view.choice_label()})


async def _section_page(request: web.Request, view: DossierView, section_id: str, *, answers=None,
                        errors=None, status: int = 200) -> web.Response:
    try:
        section = view.part_a.section(section_id)
    except LookupError:
        raise web.HTTPNotFound() from None
    cat = await catalogue(request)
    answers = answers if answers is not None else view.answers_a.get(section_id, {})
    ids = [s.id for s in view.part_a.sections_of("part_a")]
    index = ids.index(section_id)
    labels = {f.id: f.label for f in section.fields}
    return await render(request, "section_form.html", {
        "title": f"Deel A – {section.title}", "view": view, "section": section,
        "fields": fields_for(view.part_a, section_id, answers, errors or {}, cat), "catalogue": cat,
        "errors": errors or {}, "labels": labels, "menu": view.menu("part_a"), "part_label": "Deel A",
        "programme": view.choice_label(),
        "base": f"/leerling/dossiers/{view.id}/deel-a", "next": ids[index + 1] if index + 1 < len(ids) else None,
        "complete": view.part_percent("part_a") == 100,
        "submit_url": f"/leerling/dossiers/{view.id}/versturen",
        "submit_label": "Versturen naar mentor"}, status=status)


@routes.get("/leerling/dossiers/{dossier_id}/deel-a/{section}")
async def part_a_section(request: web.Request) -> web.Response:
    _student(request)
    _check_id(request)
    view = await _load(request)
    if view.state != "part_a" or view.archived:
        raise redirect(f"/leerling/dossiers/{view.id}")
    return await _section_page(request, view, request.match_info["section"])


@routes.post("/leerling/dossiers/{dossier_id}/deel-a/{section}")
async def save_part_a_section(request: web.Request) -> web.Response:
    _student(request)
    _check_id(request)
    view = await _load(request)

    async def show_errors(answers: dict, errors: dict) -> web.Response:
        return await _section_page(request, view, request.match_info["section"], answers=answers, errors=errors,
                                   status=422)

    return await save_section(request, view, "part_a", show_errors, close_url="/leerling",
                              close_message="Je antwoorden zijn opgeslagen. Je kunt later verdergaan.",
                              section_url=lambda section: f"/leerling/dossiers/{view.id}/deel-a/{section}")


@routes.get("/leerling/dossiers/{dossier_id}/versturen")
async def submit_page(request: web.Request) -> web.Response:
    _student(request)
    _check_id(request)
    view = await _load(request)
    mentors = await api_dossier.mentors(request)
    missing = [item for item in view.menu("part_a") if item["percent"] is not None and item["percent"] < 100]
    return await render(request, "submit.html", {"title": "Versturen naar mentor", "view": view,
                                                 "mentors": mentors, "missing": missing, "errors": {}})


@routes.post("/leerling/dossiers/{dossier_id}/versturen")
async def submit(request: web.Request) -> web.Response:
    _student(request)
    _check_id(request)
    view = await _load(request)
    post = await request.post()
    mentor = str(post.get("mentor_id", ""))
    if not mentor:
        mentors = await api_dossier.mentors(request)
        return await render(request, "submit.html", {
            "title": "Versturen naar mentor", "view": view, "mentors": mentors, "missing": [],
            "errors": {"mentor_id": "Kies de mentor die deel B invult."}}, status=400)
    try:
        await api_dossier.action(request, view.id, "submit", view.version, {"mentor_id": valid_id(mentor)})
    except ApiError as err:
        if err.status in (409, 422):
            mentors = await api_dossier.mentors(request)
            missing = [i for i in view.menu("part_a") if i["percent"] is not None and i["percent"] < 100]
            return await render(request, "submit.html", {
                "title": "Versturen naar mentor", "view": view, "mentors": mentors, "missing": missing,
                "errors": {"mentor_id": err.field_errors().get("mentor_id", err.detail)}}, status=err.status)
        raise
    flash(request, "Je dossier is verstuurd naar je mentor. Je krijgt een e-mail als deel B klaar is.",
          "success")
    raise redirect("/leerling")


@routes.get("/leerling/dossiers/{dossier_id}/akkoordverklaring")
async def agreement_page(request: web.Request) -> web.Response:
    _student(request)
    _check_id(request)
    view = await _load(request)
    if view.state != "agreement":
        raise redirect(f"/leerling/dossiers/{view.id}")
    cat = await catalogue(request)
    agreement = view.raw.get("agreement") or {}
    return await render(request, "agreement.html", {
        "title": "Akkoordverklaring", "view": view, "programme": view.choice_label(),
        "part_a": readable(view.part_a, "part_a", view.answers_a, cat),
        "part_b": readable(view.part_b, "part_b", view.answers_b, cat),
        "remark": agreement.get("remark") or "", "errors": {}})


@routes.post("/leerling/dossiers/{dossier_id}/akkoordverklaring")
async def agreement(request: web.Request) -> web.Response:
    _student(request)
    _check_id(request)
    view = await _load(request)
    post = await request.post()
    remark = str(post.get("remark", "")).strip()[:2000]
    choice = str(post.get("action", "save"))
    try:
        version = view.version
        if remark != ((view.raw.get("agreement") or {}).get("remark") or ""):
            saved = await api_dossier.save_agreement(request, view.id, remark, version)
            version = saved.get("version", version)
        if choice == "complete":
            await api_dossier.action(request, view.id, "complete", version)
    except ApiError as err:
        if err.status in (409, 422):
            flash(request, err.field_errors().get("remark") or err.detail, "error")
            raise redirect(request.path) from None
        raise
    if choice == "complete":
        flash(request, "Je dossier is afgerond en wordt verstuurd naar je nieuwe school.", "success")
        raise redirect("/leerling")
    flash(request, "Je opmerking is opgeslagen.", "success")
    raise redirect(request.path)


async def _simple_action(request: web.Request, name: str, done: str, target: str | None = None) -> web.Response:
    _student(request)
    _check_id(request)
    view = await _load(request)
    try:
        await api_dossier.action(request, view.id, name, view.version)
    except ApiError as err:
        if err.status in (409, 412):
            flash(request, err.detail, "error")
            raise redirect(f"/leerling/dossiers/{view.id}") from None
        raise
    flash(request, done, "success")
    raise redirect(target or f"/leerling/dossiers/{view.id}")


@routes.post("/leerling/dossiers/{dossier_id}/ouder")
async def parent_link(request: web.Request) -> web.Response:
    """Under 18: the student sends their parent or guardian a link to read (and consent)."""
    _student(request)
    _check_id(request)
    view = await _load(request)
    post = await request.post()
    email = str(post.get("parent_email", "")).strip()[:254]
    try:
        sent = await api_dossier.parent_link(request, view.id, email, view.version)
    except ApiError as err:
        if err.status in (409, 412, 422):
            flash(request, err.field_errors().get("parent_email") or err.detail, "error")
            raise redirect(f"/leerling/dossiers/{view.id}/akkoordverklaring#ouder") from None
        raise
    to = ((sent.get("agreement") or {}).get("parent") or {}).get("email")
    flash(request, f"Je ouder of verzorger krijgt een e-mail{f' op {to}' if to else ''} met een link naar je dossier.",
          "success")
    raise redirect(f"/leerling/dossiers/{view.id}/akkoordverklaring")


@routes.post("/leerling/dossiers/{dossier_id}/terug-naar-deel-a")
async def back_to_part_a(request: web.Request) -> web.Response:
    return await _simple_action(request, "back-to-part-a",
                                "Je dossier staat weer in deel A. Pas aan wat je wilt en verstuur het opnieuw.")


@routes.post("/leerling/dossiers/{dossier_id}/terugzetten")
async def reset(request: web.Request) -> web.Response:
    return await _simple_action(request, "reset", "Je dossier staat weer in deel A.")


@routes.post("/leerling/dossiers/{dossier_id}/heractiveren")
async def reactivate(request: web.Request) -> web.Response:
    return await _simple_action(request, "reactivate", "Je dossier is weer actief.", "/leerling")


@routes.get("/leerling/dossiers/{dossier_id}/pdf/{part}")
async def pdf(request: web.Request) -> web.StreamResponse:
    _student(request)
    return await pdf_response(request)


async def pdf_response(request: web.Request) -> web.Response:
    dossier_id = _check_id(request)
    part = request.match_info["part"]
    if part not in PDF_NAMES:
        raise web.HTTPNotFound()
    reply = await api_document.dossier_pdf(request, dossier_id, part)
    name = PDF_NAMES[part]
    # ?afgeven=1: a file to save and hand over to a school that does not take part in Doorstroom
    disposition = "attachment" if request.query.get("afgeven") == "1" else "inline"
    return web.Response(body=reply.body, content_type="application/pdf", headers={
        "Content-Disposition": f'{disposition}; filename="doorstroomdossier-{name}.pdf"'})


@routes.get("/leerling/mijn-gegevens")
async def my_data(request: web.Request) -> web.Response:
    _student(request)
    # one download with both services' parts: a part missing would leave the student a wrong picture
    data = {"about": "Alle gegevens die Doorstroom over jou bewaart. 'identity': je account, je gegevens uit "
                     "de leerlingadministratie van je school (je BSN alleen gemaskeerd), je activatiecodes en je "
                     "sessies. 'dossier': je dossiers, met alles wat jij, je mentor en je ouders erin zetten.",
            "identity": await api_identity.my_data(request),
            "dossier": await api_dossier.my_data(request)}
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return web.Response(text=body, content_type="application/json", headers={
        "Content-Disposition": 'attachment; filename="mijn-gegevens-doorstroom.json"'})
