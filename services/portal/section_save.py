"""Saving one section of part A (the student) or part B (the mentor) from a posted page: parse the
answers by the form definition, save them with the section version the page was made from
(If-Match), show the service's messages beside the fields (422), tell of a change in between (412),
and go where the person asked: back to the overview, the next section or the same page."""
from __future__ import annotations

from typing import Awaitable, Callable

from aiohttp import web

from services.portal import api_dossier
from services.portal.backend import ApiError
from services.portal.formview import DossierView, parse_section
from services.portal.render import flash, redirect

ShowErrors = Callable[[dict, dict], Awaitable[web.Response]]  # (answers, field errors) -> the page again


def posted_version(post, current: int) -> int:
    """The section version the page was made from (so a change in between is noticed: 412)."""
    raw = str(post.get("version", ""))
    return int(raw) if raw.isdigit() else current


async def save_section(request: web.Request, view: DossierView, part: str, show_errors: ShowErrors, *,
                       close_url: str, close_message: str, section_url: Callable[[str], str]) -> web.Response:
    section_id = request.match_info["section"]
    form = view.part_a if part == "part_a" else view.part_b
    try:
        form.section(section_id)
    except LookupError:
        raise web.HTTPNotFound() from None
    post = await request.post()
    answers = parse_section(form, section_id, post)
    try:
        await api_dossier.save_section(request, view.id, part, section_id, answers,
                                       posted_version(post, view.section_version(section_id)))
    except ApiError as err:
        if err.status == 422 and err.errors:
            return await show_errors(answers, err.field_errors())
        if err.status == 412:
            flash(request, "Iemand anders heeft dit dossier net veranderd. Bekijk de gegevens en sla "
                           "opnieuw op.", "warning")
            raise redirect(request.path) from None
        raise
    after = str(post.get("after", ""))
    if after == "close":
        flash(request, close_message, "success")
        raise redirect(close_url)
    flash(request, "Opgeslagen.", "success")
    ids = [s.id for s in form.sections_of(part)]
    if after == "next" and section_id in ids and ids.index(section_id) + 1 < len(ids):
        raise redirect(section_url(ids[ids.index(section_id) + 1]))
    raise redirect(request.path)
