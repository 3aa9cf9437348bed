"""Part A: the student saves sections (half-filled is fine), submits to a mentor of the class;
a mentor or the student puts it back to part A while part B has not been started."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
from aiohttp import web

from services.dossier import store
from services.dossier.catalogue import NO_CHOICE, ChoiceError, check_choice
from services.dossier.context import dossier_url, forms_for, now
from services.dossier.domain import workflow as wf
from services.dossier.domain.names import full_name
from services.dossier.domain.progress import Progress, step_progress
from services.dossier.routes.common import (
    STAFF_ROLES,
    answer_changed,
    answer_dossier,
    api,
    check_version,
    etag,
    locked_dossier,
    optimistic,
    require_student_link,
    run,
    uuid_param,
    workflow_role,
)
from services.dossier.schemas import DossierView, SectionAnswers, SectionSaved, SubmitPartA
from services.dossier.views import choice_info, choice_name
from shared.api import json_response, read_body
from shared.app import DB, OUTBOX
from shared.auth import require
from shared.events.dossier_events import DossierResetToPartA, PartASubmitted
from shared.forms.model import FieldType, Form, Section, UnknownSection, missing_required, validate_section
from shared.problems import Problem

TAGS = ("deel A",)
FIRST_CHOICE_FIELD = "first_choice"


def section_of(form: Form, section_id: str, part: str) -> Section:
    try:
        section = form.section(section_id)
    except UnknownSection:
        section = None
    if section is None or not section.part.startswith(part):
        raise Problem(404, f"Het onderdeel '{section_id}' bestaat niet in {'deel A' if part == 'part_a' else 'deel B'}.")
    return section


def invalid(errors: Mapping[str, str]) -> Problem:
    return Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input",
                   errors=[{"field": f"answers.{k}", "message": v} for k, v in errors.items()])


def clean_answers(form: Form, section_id: str, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to store (only the answered ones); 422 with a Dutch message per wrong field."""
    cleaned, errors = validate_section(form, section_id, answers)
    if errors:
        raise invalid(errors)
    return {k: v for k, v in cleaned.items() if v is not None}


def answers_of(rows, part_b_approved: bool) -> dict[str, dict]:
    """Every answer by section of the rows of ``store.all_sections``: part A, part B of this dossier,
    and the student-specific part B (the copy once sent, the student's living one before)."""
    answers = {r["section_id"]: r["answers"] for r in rows if not r["living"]}
    if not part_b_approved:
        answers.update((r["section_id"], r["answers"]) for r in rows if r["living"])
    return answers


async def dossier_answers(conn: asyncpg.Connection, row: Mapping[str, Any]) -> dict[str, dict]:
    """Every answer of the dossier by section (``answers_of``), as they are now: from the row when it
    was loaded with its sections and none changed since, else read in one statement."""
    return answers_of(await store.all_sections(conn, row), row["part_b_approved"])


def student_name(row: Mapping[str, Any]) -> str:
    if row["roepnaam"] is None:
        return "leerling"
    return full_name(row["roepnaam"], row["tussenvoegsel"], row["achternaam"])


@api.route("PUT", "/v1/dossiers/{dossier_id}/part-a/{section_id}",
           summary="Een onderdeel van deel A opslaan (half ingevuld mag); If-Match: versie van het onderdeel",
           body=SectionAnswers, response=SectionSaved, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def save_section(request: web.Request) -> web.Response:
    principal = await require(request, "student")
    require_student_link(principal)
    dossier_id = uuid_param(request, "dossier_id")
    section_id = request.match_info["section_id"]
    body = await read_body(request, SectionAnswers)
    # optimistic first (``optimistic``): read, then write only if the dossier is still at the
    # version read; should someone else change it in between, read again, the last try under the lock

    async def attempt(conn: asyncpg.Connection, row: Mapping[str, Any], if_version: int | None) -> web.Response | None:
        saved = await _save_part_a(request, conn, principal, row, section_id, body, if_version=if_version)
        return None if saved is None else json_response(saved, headers={"ETag": etag(saved.version)})

    return await optimistic(request, principal, dossier_id, attempt, part_a_save=True)


async def _save_part_a(request: web.Request, conn: asyncpg.Connection, principal, row: Mapping[str, Any],
                       section_id: str, body: SectionAnswers, *, if_version: int | None = None) -> SectionSaved | None:
    """Check and write one part A section of the loaded dossier ``row``; None when ``if_version``
    found the dossier changed since it was read (nothing written then)."""
    part_a, part_b = forms_for(row["form_version"], row["part_b_form_version"])
    section = section_of(part_a, section_id, "part_a")
    saved = {r["section_id"]: r for r in await store.all_sections(conn, row) if not r["living"]}
    current = saved[section_id]["version"] if section_id in saved else 0
    check_version(request, current, "Dit onderdeel")
    run(wf.save_part_a, store.status_of(row), wf.Role.STUDENT)
    answers = clean_answers(part_a, section_id, body.answers)
    sets: dict[str, Any] = {}
    programme = next((f for f in section.fields if f.type == FieldType.PROGRAMME), None)
    if programme is not None:
        sets = {**NO_CHOICE, "first_choice": bool(answers.get(FIRST_CHOICE_FIELD, False))}
        if programme.id in answers:
            try:
                sets.update(await check_choice(conn, answers[programme.id]))
            except ChoiceError as exc:
                raise invalid({programme.id: str(exc)}) from None
    actor = await store.actor_of(conn, principal, row)
    part_a_answers = {k: r["answers"] for k, r in saved.items() if r["part"] == "part_a"} | {section_id: answers}
    counted = Progress(part_a, part_b, part_a_answers)
    progress = counted.section(part_a, section_id)
    sets["progress"] = counted.step("part_a")
    updated = await store.change(conn, row, actor, "part_a_saved", sets=sets, detail={"section": section_id},
                                 section=(section_id, "part_a", answers, progress, current), if_version=if_version)
    if updated is None:
        return None
    return SectionSaved(section_id=section_id, version=updated["section_version"], progress=progress,
                        answers=answers, dossier_version=updated["version"], step_progress=sets["progress"])


@api.route("GET", "/v1/me/mentors", summary="De mentoren van mijn klas (om deel A naar te versturen)",
           tags=TAGS, auth=True)
async def my_mentors(request: web.Request) -> web.Response:
    principal = await require(request, "student")
    student_id = require_student_link(principal)
    async with request.app[DB].acquire(timeout=10) as conn:
        rows = await conn.fetch(
            """SELECT cm.staff_id, cm.name FROM students s JOIN class_mentors cm ON cm.class_id = s.class_id
               WHERE s.student_id = $1 ORDER BY cm.name""", student_id)
    return json_response({"mentors": [{"staff_id": str(r["staff_id"]), "name": r["name"]} for r in rows]})


@api.route("POST", "/v1/dossiers/{dossier_id}/submit",
           summary="Deel A versturen naar een mentor van de klas (alle verplichte onderdelen 100%); If-Match",
           body=SubmitPartA, response=DossierView, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def submit(request: web.Request) -> web.Response:
    principal = await require(request, "student")
    require_student_link(principal)
    dossier_id = uuid_param(request, "dossier_id")
    body = await read_body(request, SubmitPartA)
    return await optimistic(request, principal, dossier_id, lambda conn, row, if_version: _submit(
        request, conn, principal, row, body, if_version=if_version))


async def _submit(request: web.Request, conn: asyncpg.Connection, principal, row: Mapping[str, Any],
                  body: SubmitPartA, *, if_version: int | None = None) -> web.Response | None:
    """Check and submit part A of the loaded dossier ``row`` (with its sections, as they are at its
    version); None when ``if_version`` found the dossier changed since it was read (nothing written)."""
    dossier_id = row["id"]
    check_version(request, row["version"])
    part_a, part_b = forms_for(row["form_version"], row["part_b_form_version"])
    row = store.with_sections(row, await store.all_sections(conn, row))  # kept for the answer
    answers = await dossier_answers(conn, row)
    mentors = {str(m["staff_id"]): m for m in await conn.fetch(
        "SELECT staff_id, name, email FROM class_mentors WHERE class_id = $1", row["class_id"])}
    new = run(wf.submit_part_a, store.status_of(row), wf.Role.STUDENT,
              missing=missing_required(part_a, "part_a", answers),
              mentor_id=str(body.mentor_id) if body.mentor_id else None, class_mentor_ids=set(mentors))
    mentor = mentors[new.mentor_id]
    actor = await store.actor_of(conn, principal, row)
    event = store.outbox_row(request.app[OUTBOX], PartASubmitted(
        dossier_id=dossier_id, student_id=row["student_id"], school_id=row["school_id"],
        mentor_staff_id=mentor["staff_id"], mentor_name=mentor["name"], mentor_email=mentor["email"],
        student_name=student_name(row), class_name=row["class_name"], choice_name=choice_name(choice_info(row)),
        dossier_url=dossier_url(request.app, dossier_id)), subject=str(dossier_id))
    updated = await store.change(conn, row, actor, "part_a_submitted", status=new, sets={
        "mentor_id": mentor["staff_id"], "mentor_name": mentor["name"], "submitted_at": now(),
        "progress": step_progress("part_b", part_a, part_b, answers)}, detail={"mentor": mentor["name"]},
        if_version=if_version, event=event)
    if updated is None:
        return None
    return await answer_changed(conn, row, updated, "student", same_sections=True)


@api.route("POST", "/v1/dossiers/{dossier_id}/reset-to-part-a",
           summary="Terugzetten naar deel A (leerling, mentor, decaan; alleen zolang deel B niet is gestart); If-Match",
           response=DossierView, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def reset(request: web.Request) -> web.Response:
    principal = await require(request, "student", *STAFF_ROLES)
    dossier_id = uuid_param(request, "dossier_id")
    async with locked_dossier(request, principal, dossier_id) as (conn, row):
        check_version(request, row["version"])
        new = run(wf.reset_to_part_a, store.status_of(row), workflow_role(principal))
        part_a, part_b = forms_for(row["form_version"], row["part_b_form_version"])
        answers = await dossier_answers(conn, row)
        actor = await store.actor_of(conn, principal, row)
        await store.change_dossier(conn, row, actor, "reset_to_part_a", status=new,
                                   sets={"progress": step_progress("part_a", part_a, part_b, answers)})
        await request.app[OUTBOX].add(conn, DossierResetToPartA(
            dossier_id=dossier_id, student_id=row["student_id"], by_role=principal.role,
            student_email=row["student_email"], student_name=row["roepnaam"] or "leerling",
            dossier_url=dossier_url(request.app, dossier_id)), subject=str(dossier_id))
        return await answer_dossier(conn, dossier_id, principal.role)
