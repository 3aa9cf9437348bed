"""Dossiers: the student's home overview, a new dossier, reading one (audited), its history and
audit trail, archive and reactivate."""
from __future__ import annotations

import uuid

from aiohttp import web

from services.dossier import store
from services.dossier.catalogue import ChoiceError, check_choice
from services.dossier.context import current_school_year, forms_for, now
from services.dossier.domain import workflow as wf
from services.dossier.domain.progress import step_progress
from services.dossier.routes.common import (
    STAFF_ROLES,
    VIEW_ROLES,
    Actor,
    answer_dossier,
    api,
    locked_dossier,
    PURPOSE_HEADER,
    purpose_of,
    require_student_link,
    check_version,
    run,
    uuid_param,
    workflow_role,
)
from services.dossier.schemas import CreateDossier, DossierList, DossierView, PurposeQuery
from services.dossier.views import SUMMARY_SELECT, dossier_view, summary
from shared.api import json_response, read_body
from shared.app import DB, OUTBOX
from shared.auth import require
from shared.events.dossier_events import DossierArchived, DossierCreated, DossierReactivated
from shared.forms.model import FieldType, InvalidValue, clean_programme, section_progress
from shared.problems import Problem

TAGS = ("dossiers",)

HISTORY_LABELS = {
    "created": "Dossier aangemaakt",
    "part_a_saved": "Deel A opgeslagen",
    "part_a_submitted": "Deel A verstuurd naar de mentor",
    "reset_to_part_a": "Teruggezet naar deel A",
    "part_b_started": "Deel B gestart",
    "part_b_saved": "Deel B opgeslagen",
    "part_b_sent": "Deel B verstuurd naar de leerling",
    "agreement_saved": "Akkoordverklaring opgeslagen",
    "parent_review_requested": "Link gestuurd aan ouder of verzorger",
    "parent_consented": "Ouder of verzorger gaf toestemming",
    "parent_objected": "Ouder of verzorger maakte bezwaar",
    "returned_to_part_a": "Terug naar deel A (de ronde begint opnieuw)",
    "completed": "Dossier afgerond",
    "archived": "Dossier gearchiveerd",
    "reactivated": "Dossier opnieuw geactiveerd",
    "reminder_sent": "Herinnering gestuurd",
    "handled": "Afgehandeld door de vervolgschool",
}


# what the view log says of a look at a dossier (audit_log.what of kind 'view')
VIEW_LABELS = {
    "dossier:part_a,part_b": "Dossier bekeken (deel A en deel B)",
    "dossier:part_a": "Dossier bekeken (deel A)",
    "dossier:part_b": "Dossier bekeken (deel B)",
    "dossier:status": "Status van het dossier bekeken",
    "history": "Historie bekeken",
    "audit": "Inzagelog bekeken",
    "feed:dossier": "Dossier opgehaald door een koppeling (studentadministratie)",
    "dossier:oso": "Dossier gedownload als OSO-bestand (XML)",
}
PURPOSE_LABELS = {"view": "bekijken", "pdf": "pdf maken (afdrukken of opslaan)", "print": "afdrukken",
                  "export": "download van al zijn of haar gegevens"}


def audit_label(kind: str, what: str) -> str:
    if kind == "change":
        return HISTORY_LABELS.get(what, what)
    return VIEW_LABELS.get(what, what)


@api.route("GET", "/v1/dossiers", summary="Mijn dossiers (home-overzicht van de leerling)", response=DossierList,
           tags=TAGS, auth=True)
async def list_own(request: web.Request) -> web.Response:
    principal = await require(request, "student")
    student_id = require_student_link(principal)
    async with request.app[DB].acquire(timeout=10) as conn:
        rows = await conn.fetch(SUMMARY_SELECT + " WHERE d.student_id = $1 ORDER BY d.archived, d.created_at DESC",
                                student_id)
        await store.audit(conn, Actor.of(principal), "view", "dossier_list", student_id=student_id)
    return json_response(DossierList(dossiers=[summary(r) for r in rows]))


# the dossier, its first sections, its history, audit and outbox rows: one statement
CREATE = """
WITH d AS (INSERT INTO dossiers (id, student_id, school_id, school_year, form_version, part_b_form_version,
                                 created_by, updated_by, progress, choice_kind, institution_id, programme_id,
                                 other_school_name, other_school_city)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, $13)),
     s AS (INSERT INTO dossier_sections (dossier_id, section_id, part, answers, progress, version, updated_by)
           SELECT $1, x.section_id, 'part_a', x.answers, x.progress, 1, $7
           FROM unnest($14::text[], $15::jsonb[], $16::int[]) AS x(section_id, answers, progress)),
     h AS (INSERT INTO history (dossier_id, action, actor_role, actor_account_id, actor_name, from_state, to_state)
           VALUES ($1, 'created', $17, $7, $18, NULL, 'part_a')),
     o AS (INSERT INTO outbox (event_id, event_type, envelope) VALUES ($20, $21, $22::jsonb))
INSERT INTO audit_log (kind, actor_role, actor_account_id, actor_ref, dossier_id, student_id, what)
VALUES ('change', $17, $7, $19, $1, $2, 'created')"""


@api.route("POST", "/v1/dossiers", summary="Nieuw dossier starten (één per aanmelding)", body=CreateDossier,
           response=DossierView, status=201, tags=TAGS, auth=True, statuses=(409,))
async def create(request: web.Request) -> web.Response:
    principal = await require(request, "student")
    student_id = require_student_link(principal)
    body = await read_body(request, CreateDossier)
    run(wf.create_dossier, wf.Role.STUDENT)
    school_year = current_school_year(request.app)
    part_a, part_b = forms_for(school_year)
    dossier_id = uuid.uuid4()
    # no transaction: the reads take no locks, and the dossier with its first sections, history,
    # audit and outbox rows is one statement (read back as ``load_dossier`` reads it)
    async with request.app[DB].acquire(timeout=10) as conn:
        student = await conn.fetchrow(
            "SELECT *, concat_ws(' ', roepnaam, nullif(tussenvoegsel, ''), achternaam) AS full_name FROM students "
            "WHERE student_id = $1", student_id)
        if student is None or not student["active"]:
            raise Problem(409, "Je leerlinggegevens zijn nog niet bij ons bekend. Probeer het over een paar minuten "
                               "opnieuw of vraag je mentor om hulp.", code="student-unknown")
        sections: dict[str, dict] = {"personal_details": {
            k: v for k, v in (("roepnaam", student["roepnaam"]), ("voornaam", student["voornamen"]),
                              ("tussenvoegsel", student["tussenvoegsel"]), ("achternaam", student["achternaam"]))
            if v}}
        sets: dict = {}
        if body.choice is not None:
            programme_field = next(f for s in part_a.sections_of("part_a") for f in s.fields
                                   if f.type == FieldType.PROGRAMME)
            try:
                cleaned = clean_programme(body.choice)
                sets = await check_choice(conn, cleaned)
            except (InvalidValue, ChoiceError) as exc:
                raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input",
                              errors=[{"field": "choice", "message": str(exc)}]) from None
            section = next(s for s in part_a.sections if programme_field in s.fields)
            sections[section.id] = {programme_field.id: cleaned}
        progress = step_progress("part_a", part_a, part_b, sections)
        actor = Actor.of(principal, principal.name or student["full_name"])
        event = store.outbox_row(request.app[OUTBOX], DossierCreated(
            dossier_id=dossier_id, student_id=student_id, school_id=student["school_id"], school_year=school_year),
            subject=str(dossier_id))
        await conn.execute(
            CREATE, dossier_id, student_id, student["school_id"], school_year, part_a.school_year, part_b.school_year,
            principal.account_id, progress, sets.get("choice_kind"), sets.get("institution_id"),
            sets.get("programme_id"), sets.get("other_school_name"), sets.get("other_school_city"),
            list(sections), list(sections.values()),
            [section_progress(part_a, section_id, answers) for section_id, answers in sections.items()],
            actor.role, actor.name, actor.ref, *event)
        row = await store.load_dossier(conn, None, dossier_id, with_sections=True)
        response = await answer_dossier(conn, dossier_id, "student", status=201, row=row)
    response.headers["Location"] = f"/v1/dossiers/{dossier_id}"
    return response


@api.route("GET", "/v1/dossiers/{dossier_id}", summary="Een dossier lezen (wordt vastgelegd; ?purpose=pdf bij afdrukken)",
           response=DossierView, tags=TAGS, auth=True, query=PurposeQuery, headers=(PURPOSE_HEADER,))
async def read(request: web.Request) -> web.Response:
    principal = await require(request, *VIEW_ROLES, "client")
    dossier_id = uuid_param(request, "dossier_id")
    purpose = purpose_of(request)
    async with request.app[DB].acquire(timeout=10) as conn:
        row = await store.load_dossier(conn, principal, dossier_id)
        # a machine client of the institution (issue 12; the document service asks here for its PDF)
        # sees what the institution's MBO staff see
        view = await dossier_view(conn, row, "mbo_staff" if principal.role == "client" else principal.role)
        parts = (["part_a"] if view.part_a_visible else []) + (["part_b"] if view.part_b_visible else [])
        await store.audit(conn, Actor.of(principal), "view", "dossier:" + (",".join(parts) or "status"),
                          dossier_id=dossier_id,
                          student_id=row["student_id"], purpose=purpose)
    return json_response(view, headers={"ETag": view.etag})


@api.route("GET", "/v1/dossiers/{dossier_id}/history", summary="Historie: aangemaakt, gewijzigd, door wie",
           tags=TAGS, auth=True)
async def read_history(request: web.Request) -> web.Response:
    principal = await require(request, "student", *STAFF_ROLES)
    dossier_id = uuid_param(request, "dossier_id")
    async with request.app[DB].acquire(timeout=10) as conn:
        row = await store.load_dossier(conn, principal, dossier_id)
        entries = await conn.fetch(
            "SELECT at, action, actor_role, actor_name, from_state, to_state, detail FROM history "
            "WHERE dossier_id = $1 ORDER BY id", dossier_id)
        await store.audit(conn, Actor.of(principal), "view", "history", dossier_id=dossier_id,
                          student_id=row["student_id"])
    return json_response({
        "dossier_id": str(dossier_id), "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
        "entries": [{"at": e["at"].isoformat(), "action": e["action"],
                     "label": HISTORY_LABELS.get(e["action"], e["action"]), "by_role": e["actor_role"],
                     "by": e["actor_name"], "from_state": e["from_state"], "to_state": e["to_state"],
                     "detail": e["detail"]} for e in entries]})


@api.route("GET", "/v1/dossiers/{dossier_id}/audit", summary="Inzagelog: wie heeft dit dossier bekeken of gewijzigd, "
           "wanneer en waarom (decaan), met naam en Nederlandse omschrijving",
           tags=TAGS, auth=True)
async def read_audit(request: web.Request) -> web.Response:
    principal = await require(request, "counsellor")
    dossier_id = uuid_param(request, "dossier_id")
    async with request.app[DB].acquire(timeout=10) as conn:
        row = await store.load_dossier(conn, principal, dossier_id)
        # the name from the read model as it is now (staff and students); a parent has none
        entries = await conn.fetch(
            """SELECT a.at, a.kind, a.actor_role, a.actor_ref, a.what, a.purpose,
                      coalesce(st.name, nullif(concat_ws(' ', s.roepnaam, nullif(s.tussenvoegsel, ''), s.achternaam),
                                                   ''), a.actor_name) AS actor_name
               FROM audit_log a
               LEFT JOIN staff st ON a.actor_role NOT IN ('student', 'parent') AND st.staff_id::text = a.actor_ref
               LEFT JOIN students s ON a.actor_role = 'student' AND s.student_id::text = a.actor_ref
               WHERE a.dossier_id = $1 ORDER BY a.id""", dossier_id)
        await store.audit(conn, Actor.of(principal), "view", "audit", dossier_id=dossier_id,
                          student_id=row["student_id"])
    return json_response({"dossier_id": str(dossier_id), "entries": [
        {"at": e["at"].isoformat(), "kind": e["kind"], "by_role": e["actor_role"], "by": e["actor_ref"],
         "by_name": e["actor_name"] or None, "what": e["what"], "label": audit_label(e["kind"], e["what"]),
         "purpose": e["purpose"],
         "purpose_label": PURPOSE_LABELS.get(e["purpose"], e["purpose"]) if e["purpose"] else None}
        for e in entries]})


@api.route("POST", "/v1/dossiers/{dossier_id}/archive", summary="Archiveren (mentor, decaan); If-Match nodig",
           response=DossierView, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def archive(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF_ROLES)
    dossier_id = uuid_param(request, "dossier_id")
    async with locked_dossier(request, principal, dossier_id) as (conn, row):
        check_version(request, row["version"])
        new = run(wf.archive, store.status_of(row), workflow_role(principal))
        actor = await store.actor_of(conn, principal, row)
        await store.change_dossier(conn, row, actor, "archived", status=new, sets={"archived_at": now()})
        await request.app[OUTBOX].add(conn, DossierArchived(
            dossier_id=dossier_id, student_id=row["student_id"], by_role=principal.role, school_id=row["school_id"],
            institution_id=row["institution_id"]), subject=str(dossier_id))
        return await answer_dossier(conn, dossier_id, principal.role)


@api.route("POST", "/v1/dossiers/{dossier_id}/reactivate", summary="Opnieuw activeren (leerling; ook mentor, decaan)",
           response=DossierView, tags=TAGS, auth=True, if_match=True, statuses=(409,))
async def reactivate(request: web.Request) -> web.Response:
    principal = await require(request, "student", *STAFF_ROLES)
    dossier_id = uuid_param(request, "dossier_id")
    async with locked_dossier(request, principal, dossier_id) as (conn, row):
        check_version(request, row["version"])
        new = run(wf.reactivate, store.status_of(row), workflow_role(principal))
        actor = await store.actor_of(conn, principal, row)
        await store.change_dossier(conn, row, actor, "reactivated", status=new, sets={"archived_at": None})
        await request.app[OUTBOX].add(conn, DossierReactivated(
            dossier_id=dossier_id, student_id=row["student_id"], by_role=principal.role, school_id=row["school_id"],
            institution_id=row["institution_id"]), subject=str(dossier_id))
        return await answer_dossier(conn, dossier_id, principal.role)

