"""The agreement ("akkoordverklaring"): a remark on part B, a link for a parent, back to part A
(the round repeats), completing ("afronden"); and reminders for students who wait too long."""
from __future__ import annotations

import uuid
from datetime import timedelta

from aiohttp import web

from services.dossier import store
from services.dossier.context import PARENT_SECRET, forms_for, now, settings_of, today
from services.dossier.domain import parent_links
from services.dossier.domain import workflow as wf
from services.dossier.domain.progress import step_progress
from services.dossier.reminders import issue_reminder
from services.dossier.routes.common import (
    STAFF_ROLES,
    answer_changed,
    answer_dossier,
    api,
    check_version,
    locked_dossier,
    optimistic,
    require_student_link,
    run,
    uuid_param,
    workflow_role,
)
from services.dossier.routes.part_a import dossier_answers, student_name
from services.dossier.schemas import AgreementBody, DossierView, ParentLinkBody
from services.dossier.views import choice_info, hands_over, known_parents, student_info
from shared.api import json_response, read_body
from shared.app import OUTBOX
from shared.auth import require
from shared.events.dossier_events import (
    CompletedProgramme,
    CompletedSchool,
    CompletedStudent,
    DossierCompleted,
    DossierReturnedToPartA,
    ParentReviewRequested,
)
from shared.problems import Problem

TAGS = ("akkoordverklaring",)


def _birth_date(row):
    if row["date_of_birth"] is None:
        raise Problem(409, "Je leerlinggegevens zijn nog niet bij ons bekend. Probeer het later opnieuw of vraag je "
                           "mentor om hulp.", code="student-unknown")
    return row["date_of_birth"]


def parent_address(row, asked: str | None) -> str:
    """Where the link goes: a parent the school's roster knows (the one asked for, or the first), so the
    school knows who can answer; only when the roster knows none, the address the student gives."""
    known = [p["email"].lower() for p in known_parents(row)]
    asked = str(asked).lower() if asked else None
    if known:
        if asked is None:
            return known[0]
        if asked not in known:
            raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=[
                {"field": "parent_email", "message": "De link gaat naar een ouder of verzorger die de school kent: "
                 "kies een van die adressen. Klopt het adres niet? Vraag de school om het aan te passen."}])
        return asked
    if asked is None:
        raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=[
            {"field": "parent_email", "message": "Vul het e-mailadres van je ouder of verzorger in."}])
    return asked


async def revoke_parent_links(conn, dossier_id: uuid.UUID) -> None:
    await conn.execute("UPDATE parent_links SET revoked_at = now() WHERE dossier_id = $1 AND revoked_at IS NULL",
                       dossier_id)


@api.route("PUT", "/v1/dossiers/{dossier_id}/agreement",
           summary="De akkoordverklaring opslaan (opmerking over deel B); If-Match", body=AgreementBody,
           response=DossierView, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def save(request: web.Request) -> web.Response:
    principal = await require(request, "student")
    require_student_link(principal)
    dossier_id = uuid_param(request, "dossier_id")
    body = await read_body(request, AgreementBody)
    return await optimistic(request, principal, dossier_id, lambda conn, row, if_version: _save(
        request, conn, principal, row, body, if_version=if_version))


async def _save(request: web.Request, conn, principal, row, body: AgreementBody, *,
                if_version: int | None = None) -> web.Response | None:
    check_version(request, row["version"])
    run(wf.save_agreement, store.status_of(row), wf.Role.STUDENT)
    remark = (body.remark or "").strip() or None
    actor = await store.actor_of(conn, principal, row)
    updated = await store.change(conn, row, actor, "agreement_saved", sets={"agreement_remark": remark},
                                 if_version=if_version)
    if updated is None:
        return None
    return await answer_changed(conn, row, updated, "student", same_sections=True)


@api.route("POST", "/v1/dossiers/{dossier_id}/parent-link",
           summary="Een ouder of verzorger een persoonlijke link sturen om het dossier te lezen en te reageren; If-Match",
           body=ParentLinkBody, response=DossierView, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def send_parent_link(request: web.Request) -> web.Response:
    principal = await require(request, "student")
    require_student_link(principal)
    dossier_id = uuid_param(request, "dossier_id")
    body = await read_body(request, ParentLinkBody)
    settings = settings_of(request.app)
    async with locked_dossier(request, principal, dossier_id) as (conn, row):
        check_version(request, row["version"])
        rule = wf.ParentRule(row["parent_rule"])
        run(wf.request_parent_review, store.status_of(row), wf.Role.STUDENT, parent_rule=rule,
            date_of_birth=_birth_date(row), today=today())
        parent_email = parent_address(row, body.parent_email)
        if row["student_email"] and parent_email == row["student_email"].lower():
            raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=[
                {"field": "parent_email", "message": "Vul het e-mailadres van je ouder of verzorger in, niet je eigen."}])
        await revoke_parent_links(conn, dossier_id)
        link_id, expires_at = uuid.uuid4(), now() + timedelta(days=settings.parent_link_days)
        await conn.execute("INSERT INTO parent_links (id, dossier_id, email, expires_at) VALUES ($1, $2, $3, $4)",
                           link_id, dossier_id, parent_email, expires_at)
        token = parent_links.sign(request.app[PARENT_SECRET], link_id, expires_at)
        actor = await store.actor_of(conn, principal, row)
        await store.change_dossier(conn, row, actor, "parent_review_requested",
                                   sets={"parent_email": parent_email, "parent_informed_at": now()})
        await request.app[OUTBOX].add(conn, ParentReviewRequested(
            dossier_id=dossier_id, parent_email=parent_email, student_name=student_name(row),
            school_name=row["school_name"] or "de school", parent_rule=rule.value,
            link_url=f"{settings.public_base_url.rstrip('/')}/ouder?token={token}",
            expires_at=expires_at), subject=str(dossier_id))
        # the token goes to the parent only: the student must not be able to answer for them
        return await answer_dossier(conn, dossier_id, "student")


@api.route("POST", "/v1/dossiers/{dossier_id}/back-to-part-a",
           summary="Terug naar deel A vanuit de akkoordverklaring (de ronde herhaalt zich); If-Match",
           response=DossierView, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def back_to_part_a(request: web.Request) -> web.Response:
    principal = await require(request, "student")
    require_student_link(principal)
    dossier_id = uuid_param(request, "dossier_id")
    async with locked_dossier(request, principal, dossier_id) as (conn, row):
        check_version(request, row["version"])
        new = run(wf.back_to_part_a, store.status_of(row), wf.Role.STUDENT)
        await revoke_parent_links(conn, dossier_id)
        # the copy of the student-specific part B belonged to the round that ends here
        await conn.execute("DELETE FROM dossier_sections WHERE dossier_id = $1 AND part = 'part_b_student'", dossier_id)
        part_a, part_b = forms_for(row["form_version"], row["part_b_form_version"])
        answers = await dossier_answers(conn, {**row, "part_b_approved": False})
        actor = await store.actor_of(conn, principal, row)
        await store.change_dossier(conn, row, actor, "returned_to_part_a", status=new, sets={
            "parent_remark": None, "parent_decided_at": None, "parent_informed_at": None,
            "agreement_remark": None, "warm_handover": False, "contact_wanted": False, "part_b_sent_at": None,
            "progress": step_progress("part_a", part_a, part_b, answers)})
        await request.app[OUTBOX].add(conn, DossierReturnedToPartA(
            dossier_id=dossier_id, student_id=row["student_id"], mentor_staff_id=row["mentor_id"]),
            subject=str(dossier_id))
        return await answer_dossier(conn, dossier_id, "student")


@api.route("POST", "/v1/dossiers/{dossier_id}/complete",
           summary="Afronden: definitief akkoord; het dossier gaat naar de vervolgschool; If-Match",
           response=DossierView, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def complete(request: web.Request) -> web.Response:
    principal = await require(request, "student")
    require_student_link(principal)
    dossier_id = uuid_param(request, "dossier_id")
    return await optimistic(request, principal, dossier_id, lambda conn, row, if_version: _complete(
        request, conn, principal, row, if_version=if_version))


async def _complete(request: web.Request, conn, principal, row, *, if_version: int | None = None) -> web.Response | None:
    dossier_id = row["id"]
    check_version(request, row["version"])
    new = run(wf.complete, store.status_of(row), wf.Role.STUDENT, parent_rule=wf.ParentRule(row["parent_rule"]),
              date_of_birth=_birth_date(row), today=today(), parent_informed=row["parent_informed_at"] is not None)
    student, choice = student_info(row), choice_info(row)
    if student is None or choice is None or (choice.institution_id is None and not choice.other_school):
        raise Problem(409, "Kies eerst in deel A de opleiding waarvoor je je aanmeldt.", code="choice-missing")
    completed_at = now()
    final = {"student": student.model_dump(mode="json"), "choice": choice.model_dump(mode="json")}
    actor = await store.actor_of(conn, principal, row)
    # the receiving school does not take part: nobody there gets it (no inbox, no event, no mail);
    # the student and the mentor hand the PDF over (issue 11, item 5)
    delivers = not (hands_over(choice) or choice.institution_id is None)
    event = feed_entry = None
    if delivers:
        feed_entry = (choice.institution_id, completed_at)  # the pull API (issue 12): ``feed_store.enter``
        event = store.outbox_row(request.app[OUTBOX], DossierCompleted(
            dossier_id=dossier_id, completed_at=completed_at, school_year=row["school_year"],
            institution_id=choice.institution_id,
            programme=CompletedProgramme(
                kind=choice.kind, institution_id=choice.institution_id, institution_name=choice.institution_name,
                programme_id=choice.programme_id, name=choice.programme_name, crebo=choice.crebo,
                level=choice.level, pathway=choice.pathway),
            student=CompletedStudent(student_id=student.student_id, roepnaam=student.roepnaam,
                                     tussenvoegsel=student.tussenvoegsel, achternaam=student.achternaam,
                                     date_of_birth=student.date_of_birth),
            school=CompletedSchool(school_id=row["school_id"], name=row["school_name"] or "", brin=row["school_brin"]),
            warm_handover=row["warm_handover"], contact_wanted=row["contact_wanted"]), subject=str(dossier_id))
    # the dossier, its parent links revoked, its feed entry and its event: one statement
    updated = await store.change(conn, row, actor, "completed", status=new,
                                 sets={"completed_at": completed_at, "progress": 100, "final": final},
                                 if_version=if_version, revoke_parent_links=True, feed_entry=feed_entry, event=event)
    if updated is None:
        return None
    return await answer_changed(conn, row, updated, "student", same_sections=True)


@api.route("POST", "/v1/dossiers/{dossier_id}/reminders",
           summary="De leerling herinneren aan de akkoordverklaring (mentor, decaan; één keer per dag)",
           status=202, tags=TAGS, auth=True, statuses=(409,))
async def remind(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    dossier_id = uuid_param(request, "dossier_id")
    async with locked_dossier(request, principal, dossier_id) as (conn, row):
        run(wf.send_reminder, store.status_of(row), workflow_role(principal))
        actor = await store.actor_of(conn, principal, row)
        if not await issue_reminder(request.app, conn, row, automatic=False, actor=actor, day=today()):
            raise Problem(409, "Deze leerling heeft vandaag al een herinnering gekregen.", code="already-reminded")
    return json_response({"dossier_id": str(dossier_id), "reminded": True}, status=202)
