"""Part B (mentor, counsellor): the student-specific part, kept per student and reused in each of
their dossiers (also fillable early, manual 3.4), and the dossier-specific part, once part A was
submitted; approving and sending it to the student ("opsturen naar leerling")."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg
from aiohttp import web

from services.dossier import store
from services.dossier.context import current_school_year, dossier_url, forms_for, now
from services.dossier.domain import workflow as wf
from services.dossier.domain.names import full_name
from services.dossier.domain.progress import step_progress
from services.dossier.routes.common import (
    STAFF_ROLES,
    STUDENT_NOT_FOUND,
    Actor,
    answer_changed,
    answer_dossier,
    api,
    check_version,
    etag,
    locked_dossier,
    run,
    uuid_param,
    workflow_role,
)
from services.dossier.routes.part_a import answers_of, clean_answers, dossier_answers, section_of
from services.dossier.schemas import DossierView, SectionAnswers, SectionSaved
from shared.api import json_response, read_body
from shared.app import DB, OUTBOX
from shared.auth import Principal, require
from shared.events.dossier_events import PartBSent, PartBStarted
from shared.forms.model import Form, get_form, missing_required, section_progress

TAGS = ("deel B",)
WARM_HANDOVER_FIELD, CONTACT_FIELD = "opp", "contactnodig"


async def _save_student_part(request: web.Request, conn: asyncpg.Connection, principal: Principal,
                             student_id: uuid.UUID, form: Form, section_id: str, raw: Mapping[str, Any],
                             actor: Actor, *, current: int | None = None,
                             progress_set_after: uuid.UUID | None = None) -> tuple[int, int, dict]:
    """Save a section of the student-specific part B (the student is locked by the caller) and
    bring the progress of the student's dossiers in part B up to date. ``current``: its version as
    read under the student lock, when the caller has it; ``progress_set_after``: a dossier whose
    progress the caller sets itself right after."""
    if current is None:
        current = await conn.fetchval("SELECT version FROM student_part_b WHERE student_id = $1 AND section_id = $2",
                                      student_id, section_id) or 0
    check_version(request, current, "Dit onderdeel")
    run(wf.save_part_b_student, workflow_role(principal))
    answers = clean_answers(form, section_id, raw)
    progress = section_progress(form, section_id, answers)
    version = await store.save_student_section(conn, student_id, section_id, form.school_year, answers, progress,
                                               current, actor, audit_what="part_b_student_saved:" + section_id)
    if version is None:  # cannot happen under the student lock; never overwrite silently
        check_version(request, current + 1, "Dit onderdeel")
    for dossier in await conn.fetch(
            "SELECT * FROM dossiers WHERE student_id = $1 AND state = 'part_b' AND id IS DISTINCT FROM $2 ORDER BY id",
            student_id, progress_set_after):
        part_a, part_b = forms_for(dossier["form_version"], dossier["part_b_form_version"])
        answers_all = await dossier_answers(conn, dossier)
        await conn.execute("UPDATE dossiers SET progress = $2 WHERE id = $1", dossier["id"],
                           step_progress("part_b", part_a, part_b, answers_all))
    return version, progress, answers


@api.route("GET", "/v1/students/{student_id}/part-b",
           summary="Het leerling-specifieke deel van deel B van een leerling (mentor van de klas, decaan)",
           tags=TAGS, auth=True)
async def read_student_part(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    student_id = uuid_param(request, "student_id", STUDENT_NOT_FOUND)
    form = get_form("part_b", current_school_year(request.app))
    async with request.app[DB].acquire(timeout=10) as conn:
        student = await store.load_student(conn, principal, student_id)
        rows = {r["section_id"]: r for r in await store.student_part_b(conn, student_id)}
        await store.audit(conn, Actor.of(principal), "view", "part_b_student", student_id=student_id)
    sections = form.sections_of("part_b_student")
    return json_response({
        "student_id": str(student_id),
        "name": full_name(student["roepnaam"], student["tussenvoegsel"], student["achternaam"]),
        "class_name": student["class_name"], "form_version": form.school_year,
        "part_b_student": {s.id: rows[s.id]["answers"] if s.id in rows else {} for s in sections},
        "progress": {s.id: section_progress(form, s.id, rows[s.id]["answers"] if s.id in rows else {})
                     for s in sections},
        "versions": {s.id: rows[s.id]["version"] if s.id in rows else 0 for s in sections},
        "updated_at": {s.id: rows[s.id]["updated_at"].isoformat() for s in sections if s.id in rows},
    })


@api.route("PUT", "/v1/students/{student_id}/part-b/{section_id}",
           summary="Het leerling-specifieke deel van deel B opslaan, ook vóór er een dossier is; If-Match",
           body=SectionAnswers, response=SectionSaved, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def save_student_part(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    student_id = uuid_param(request, "student_id", STUDENT_NOT_FOUND)
    section_id = request.match_info["section_id"]
    body = await read_body(request, SectionAnswers)
    form = get_form("part_b", current_school_year(request.app))
    section_of(form, section_id, "part_b_student")
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        await store.load_student(conn, principal, student_id)
        await store.lock_student(conn, student_id)
        actor = Actor.of(principal, await store.actor_name(conn, principal))
        version, progress, answers = await _save_student_part(request, conn, principal, student_id, form, section_id,
                                                              body.answers, actor)
    return json_response(SectionSaved(section_id=section_id, version=version, progress=progress, answers=answers),
                         headers={"ETag": etag(version)})


async def _start(request: web.Request, conn: asyncpg.Connection, row: Mapping[str, Any], actor: Actor,
                 principal: Principal, new: wf.DossierStatus, action: str, sets: dict, detail: dict | None,
                 section: tuple | None = None) -> asyncpg.Record:
    event = None
    if new.part_b_started and not row["part_b_started"]:
        event = store.outbox_row(request.app[OUTBOX], PartBStarted(
            dossier_id=row["id"], student_id=row["student_id"], by_staff_id=principal.staff_id), subject=str(row["id"]))
    return await store.change(conn, row, actor, action, status=new, sets=sets, detail=detail, section=section,
                              event=event)


@api.route("POST", "/v1/dossiers/{dossier_id}/part-b/start",
           summary="Deel B starten (daarna kan het dossier niet meer terug naar deel A); If-Match",
           response=DossierView, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def start(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    dossier_id = uuid_param(request, "dossier_id")
    async with locked_dossier(request, principal, dossier_id) as (conn, row):
        check_version(request, row["version"])
        new = run(wf.start_part_b, store.status_of(row), workflow_role(principal))
        if not row["part_b_started"]:
            actor = await store.actor_of(conn, principal, row)
            updated = await _start(request, conn, row, actor, principal, new, "part_b_started", {}, None)
            return await answer_changed(conn, row, updated, principal.role)
        return await answer_dossier(conn, dossier_id, principal.role, row=row)


@api.route("PUT", "/v1/dossiers/{dossier_id}/part-b/{section_id}",
           summary="Een onderdeel van deel B opslaan (leerling-specifiek: voor de leerling; dossier-specifiek: "
                   "na deel A); If-Match: versie van het onderdeel",
           body=SectionAnswers, response=SectionSaved, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def save_section(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    dossier_id = uuid_param(request, "dossier_id")
    section_id = request.match_info["section_id"]
    body = await read_body(request, SectionAnswers)
    async with locked_dossier(request, principal, dossier_id, student_lock=True, with_sections=True) as (conn, row):
        part_a, part_b = forms_for(row["form_version"], row["part_b_form_version"])
        section = section_of(part_b, section_id, "part_b")
        status = store.status_of(row)
        actor = await store.actor_of(conn, principal, row)
        dossier_version = step = None
        if section.part == "part_b_student":
            # the student's part B as loaded under the student lock (while part B was not sent)
            living = None if row["part_b_approved"] else store.loaded_sections(row)
            current = None if living is None else next(
                (r["version"] for r in living if r["living"] and r["section_id"] == section_id), 0)
            starts = status.state == wf.State.PART_B and not status.archived
            version, progress, answers = await _save_student_part(
                request, conn, principal, row["student_id"], part_b, section_id, body.answers, actor,
                current=current, progress_set_after=row["id"] if starts else None)
            if starts:
                new = run(wf.start_part_b, status, workflow_role(principal))
                answers_all = (await dossier_answers(conn, store.without_sections(row)) if living is None
                               else answers_of(living, False) | {section_id: answers})
                step = step_progress("part_b", part_a, part_b, answers_all)
                dossier_version = (await _start(request, conn, row, actor, principal, new, "part_b_saved",
                                                {"progress": step}, {"section": section_id}))["version"]
        else:
            sections = await store.all_sections(conn, row)
            current = next((r["version"] for r in sections if not r["living"] and r["section_id"] == section_id), 0)
            check_version(request, current, "Dit onderdeel")
            new = run(wf.save_part_b_dossier, status, workflow_role(principal))
            answers = clean_answers(part_b, section_id, body.answers)
            progress = section_progress(part_b, section_id, answers)
            answers_all = answers_of(sections, row["part_b_approved"]) | {section_id: answers}
            step = step_progress("part_b", part_a, part_b, answers_all)
            updated = await _start(request, conn, row, actor, principal, new, "part_b_saved", {"progress": step},
                                   {"section": section_id}, (section_id, section.part, answers, progress, current))
            version, dossier_version = updated["section_version"], updated["version"]
        if step is None:
            step = await conn.fetchval("SELECT progress FROM dossiers WHERE id = $1", dossier_id)
    return json_response(SectionSaved(section_id=section_id, version=version, progress=progress, answers=answers,
                                      dossier_version=dossier_version, step_progress=step),
                         headers={"ETag": etag(version)})


@api.route("POST", "/v1/dossiers/{dossier_id}/send-part-b",
           summary="Deel B goedkeuren en opsturen naar de leerling (alles 100%); If-Match",
           response=DossierView, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def send(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    dossier_id = uuid_param(request, "dossier_id")
    async with locked_dossier(request, principal, dossier_id, student_lock=True, with_sections=True) as (conn, row):
        check_version(request, row["version"])
        _, part_b = forms_for(row["form_version"], row["part_b_form_version"])
        sections = await store.all_sections(conn, row)  # read under the student lock
        answers = answers_of(sections, row["part_b_approved"])
        new = run(wf.send_part_b, store.status_of(row), workflow_role(principal),
                  missing=missing_required(part_b, "part_b", answers))
        # the student-specific part as sent: a copy in the dossier, so the sent dossier stays as it was
        await conn.execute("DELETE FROM dossier_sections WHERE dossier_id = $1 AND part = 'part_b_student'", dossier_id)
        await conn.execute(
            """INSERT INTO dossier_sections (dossier_id, section_id, part, answers, progress, version, updated_at, updated_by)
               SELECT $1, section_id, 'part_b_student', answers, progress, version, updated_at, updated_by
               FROM student_part_b WHERE student_id = $2""", dossier_id, row["student_id"])
        assessment: dict = {}
        for section in part_b.sections_of("part_b_dossier"):
            assessment.update(answers.get(section.id, {}))
        actor = await store.actor_of(conn, principal, row)
        event = store.outbox_row(request.app[OUTBOX], PartBSent(
            dossier_id=dossier_id, student_id=row["student_id"], student_email=row["student_email"],
            student_name=row["roepnaam"] or "leerling", mentor_name=actor.name,
            dossier_url=dossier_url(request.app, dossier_id)), subject=str(dossier_id))
        updated = await store.change(conn, row, actor, "part_b_sent", status=new, sets={
            "part_b_sent_at": now(), "progress": 0,
            "warm_handover": assessment.get(WARM_HANDOVER_FIELD) is True,
            "contact_wanted": assessment.get(CONTACT_FIELD) is True}, event=event)
        # the answer with the sections as they are now, without reading them again: the copy just
        # made of the student-specific part (as read under the student lock) instead of the living one
        sent = store.changed(row, updated)
        if sent is not None:
            sent = store.with_sections(sent, [
                {**dict(r.items()), "part": "part_b_student", "living": False} if r["living"] else r
                for r in sections if r["living"] or r["part"] != "part_b_student"])
        return await answer_dossier(conn, dossier_id, principal.role, row=sent)
