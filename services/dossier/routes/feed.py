"""The pull API for machine clients (issue 12): an MBO's student administration lists the
dossiers completed for its institution since a cursor, fetches one as JSON (answers with the form's
labels, the intake fields) and marks it handled. Its PDF: the document service,
``GET /v1/dossiers/{id}/pdf`` with the same token.

Who: a machine client (role ``client``, a token from identity's ``POST /oauth/token``) of the
institution, scope ``dossiers:read`` (handled: ``dossiers:handle``). The rules of MBO staff: a
dossier of another institution, or one not completed, does not exist (404). Every list and every
fetch is in the dossier's view log under the client's name; marking handled is in the history as
done by the client.

The feed (``GET /v1/feed/completed?after=<cursor>&limit=``) is ordered by a position handed out
after the completion committed, by one writer at a time (``feed_store``): paging on with the
``next_cursor`` of each answer never skips and never repeats a dossier, also while others complete.
Start with ``after=0`` (or without it); store ``next_cursor`` with what you imported."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from services.dossier import feed_store, store
from services.dossier.context import forms_for
from services.dossier.routes.common import Actor, PURPOSE_HEADER, api, purpose_of, uuid_param
from services.dossier.routes.mbo import handle, load_for_mbo
from services.dossier.schemas import ChoiceInfo, DossierView, ParentInfo, PurposeQuery
from services.dossier.views import dossier_view
from shared.api import Header, Query, QueryInt, json_response, read_query
from shared.app import DB
from shared.auth import Principal, require_scope
from shared.forms.model import FieldType, Form, is_answered, is_visible

TAGS = ("koppelingen",)


class FeedQuery(Query):
    after: QueryInt = Field(0, ge=0, le=2_147_483_647, description="the cursor: next_cursor of the previous page (0: from "
                                                            "the start)")
    limit: QueryInt = Field(50, ge=1, le=200, description="at most this many dossiers")


class FeedStudent(BaseModel):
    name: str | None = None
    roepnaam: str | None = None
    voornamen: str | None = None
    tussenvoegsel: str | None = None
    achternaam: str | None = None
    date_of_birth: str | None = None
    student_number: str | None = None


class FeedItem(BaseModel):
    position: int = Field(description="the dossier's place in the feed; the cursor after it")
    dossier_id: uuid.UUID
    version: int
    completed_at: datetime
    student: FeedStudent
    school_name: str | None = None
    programme_name: str | None = None
    crebo: str | None = None
    warm_handover: bool
    contact_wanted: bool
    handled_at: datetime | None = None
    handled_by: str | None = None
    href: str = Field(description="the dossier as JSON")
    pdf_href: str = Field(description="the dossier as PDF (the document service)")
    oso_href: str = Field(description="the dossier as OSO XML (this service; valid against OSO_gegevensset.xsd)")


class FeedPage(BaseModel):
    dossiers: list[FeedItem]
    next_cursor: str = Field(description="pass as ?after= for the next page (the same when nothing new came)")
    has_more: bool = Field(description="more dossiers wait after this page")


class FeedField(BaseModel):
    field_id: str
    label: str
    type: str
    value: Any = Field(description="the answer as stored (true/false, an option's value, text, a date)")
    text: str = Field(description="the answer in words, as the form and the PDF show it (Ja/Nee, an option's label)")


class FeedSection(BaseModel):
    part: str = Field(description="part_a, part_b_student or part_b_dossier")
    section_id: str
    title: str
    fields: list[FeedField]


class Intake(FeedStudent):
    """What the intake takes over: the fields the MBO page shows above the dossier (the student's
    names, date of birth and number as in the feed, and more)."""
    email: str | None = None
    school_name: str | None = None
    school_brin: str | None = None
    school_city: str | None = None
    programme: ChoiceInfo | None = None
    warm_handover: bool | None = None
    contact_wanted: bool | None = None
    agreement_remark: str | None = None
    parents: ParentInfo | None = Field(None, description="the parents' view: the school's rule and their reaction")


class FeedDossier(BaseModel):
    dossier_id: uuid.UUID
    version: int
    position: int | None = None
    completed_at: datetime | None = None
    handled_at: datetime | None = None
    handled_by: str | None = None
    form_version: str
    part_b_form_version: str
    intake: Intake
    sections: list[FeedSection] = Field(description="every answered field with the form's label, in form order")
    dossier: DossierView = Field(description="the dossier as the institution's MBO staff see it")
    pdf_href: str
    oso_href: str


def _text(field, value: Any, choice: ChoiceInfo | None) -> str:
    match field.type:
        case FieldType.YES_NO:
            return "Ja" if value is True else "Nee" if value is False else str(value)
        case FieldType.CHOICE:
            return next((o.label for o in field.options if o.value == value), str(value))
        case FieldType.PROGRAMME:
            if choice is not None:
                return ", ".join(p for p in (choice.programme_name, choice.institution_name) if p)
    return value if isinstance(value, str) else str(value)


def sections_of(view: DossierView, part_a_form: Form, part_b_form: Form) -> list[FeedSection]:
    """The answers with the form definition's labels: what the PDF shows, as data."""
    by_part = {"part_a": view.part_a or {}, "part_b_student": view.part_b_student or {},
               "part_b_dossier": view.part_b_dossier or {}}
    out = []
    for form in (part_a_form, part_b_form):
        for section in form.sections:
            answers = by_part.get(section.part, {}).get(section.id) or {}
            fields = [FeedField(field_id=f.id, label=f.label, type=f.type.value, value=answers[f.id],
                                  text=_text(f, answers[f.id], view.choice))
                      for f in section.fields
                      if f.id in answers and is_answered(answers[f.id]) and is_visible(f, answers)]
            if fields:
                out.append(FeedSection(part=section.part, section_id=section.id, title=section.title,
                                          fields=fields))
    return out


def intake_of(view: DossierView) -> Intake:
    s = view.student
    return Intake(
        name=s.full_name if s else None, roepnaam=s.roepnaam if s else None, voornamen=s.voornamen if s else None,
        tussenvoegsel=s.tussenvoegsel if s else None, achternaam=s.achternaam if s else None,
        date_of_birth=s.date_of_birth.isoformat() if s and s.date_of_birth else None,
        student_number=s.student_number if s else None, email=s.email if s else None,
        school_name=s.school_name if s else None, school_brin=s.school_brin if s else None,
        school_city=s.school_city if s else None, programme=view.choice, warm_handover=view.warm_handover,
        contact_wanted=view.contact_wanted, agreement_remark=view.agreement.remark if view.agreement else None,
        parents=view.agreement.parent if view.agreement else None)


def _pdf_href(dossier_id) -> str:
    return f"/v1/dossiers/{dossier_id}/pdf?part=all"


def _oso_href(dossier_id) -> str:
    return f"/v1/mbo/dossiers/{dossier_id}/oso"


def _item(r) -> FeedItem:
    student = (r["final"] or {}).get("student", {})
    choice = (r["final"] or {}).get("choice", {})
    return FeedItem(
        position=r["position"], dossier_id=r["dossier_id"], version=r["version"], completed_at=r["completed_at"],
        student=FeedStudent(name=student.get("full_name"), roepnaam=student.get("roepnaam"),
                            voornamen=student.get("voornamen"), tussenvoegsel=student.get("tussenvoegsel"),
                            achternaam=student.get("achternaam"), date_of_birth=student.get("date_of_birth"),
                            student_number=student.get("student_number")),
        school_name=student.get("school_name"), programme_name=choice.get("programme_name"), crebo=choice.get("crebo"),
        warm_handover=r["warm_handover"], contact_wanted=r["contact_wanted"], handled_at=r["handled_at"],
        handled_by=r["handled_by_name"], href=f"/v1/feed/dossiers/{r['dossier_id']}",
        pdf_href=_pdf_href(r["dossier_id"]), oso_href=_oso_href(r["dossier_id"]))


@api.route("GET", "/v1/feed/completed",
           summary="Koppeling: afgeronde dossiers voor mijn instelling sinds een cursor (?after=, ?limit=); "
                   "scope dossiers:read", response=FeedPage, tags=TAGS, auth=True, query=FeedQuery)
async def completed(request: web.Request) -> web.Response:
    principal = await require_scope(request, "dossiers:read")
    query = read_query(request, FeedQuery)
    async with request.app[DB].acquire(timeout=10) as conn:
        await feed_store.assign_positions(conn)
        rows = await feed_store.page(conn, principal.institution_id, query.after, query.limit)
        await store.audit(conn, Actor.of(principal), "view", "overview:feed")
    more = len(rows) > query.limit
    items = [_item(r) for r in rows[:query.limit]]
    cursor = items[-1].position if items else query.after
    return json_response(FeedPage(dossiers=items, next_cursor=str(cursor), has_more=more),
                         headers={"Cache-Control": "no-store"})


async def _client(request: web.Request, scope: str) -> tuple[Principal, uuid.UUID]:
    principal = await require_scope(request, scope)
    return principal, uuid_param(request, "dossier_id")


@api.route("GET", "/v1/feed/dossiers/{dossier_id}",
           summary="Koppeling: één afgerond dossier als JSON, met de labels van het formulier en de intakegegevens "
                   "(wordt vastgelegd in de inzagelog); scope dossiers:read",
           response=FeedDossier, tags=TAGS, auth=True, query=PurposeQuery, headers=(PURPOSE_HEADER,))
async def dossier(request: web.Request) -> web.Response:
    principal, dossier_id = await _client(request, "dossiers:read")
    purpose = purpose_of(request)
    async with request.app[DB].acquire(timeout=10) as conn:
        row = await load_for_mbo(conn, principal, dossier_id)
        view = await dossier_view(conn, row, "mbo_staff")
        position = await feed_store.position_of(conn, dossier_id)
        await store.audit(conn, Actor.of(principal), "view", "feed:dossier", dossier_id=dossier_id,
                          student_id=row["student_id"], purpose=purpose)
    part_a_form, part_b_form = forms_for(row["form_version"], row["part_b_form_version"])
    out = FeedDossier(dossier_id=dossier_id, version=view.version, position=position,
                      completed_at=row["completed_at"], handled_at=view.handled_at, handled_by=view.handled_by,
                      form_version=row["form_version"], part_b_form_version=row["part_b_form_version"],
                      intake=intake_of(view), sections=sections_of(view, part_a_form, part_b_form), dossier=view,
                      pdf_href=_pdf_href(dossier_id), oso_href=_oso_href(dossier_id))
    return json_response(out, headers={"ETag": view.etag, "Cache-Control": "no-store"})


IF_MATCH_OPTIONAL = Header("If-Match", "optioneel: de versie die je las; een andere versie: 412", max_length=100)


@api.route("POST", "/v1/feed/dossiers/{dossier_id}/handled",
           summary="Koppeling: een afgerond dossier als afgehandeld markeren, zoals in de MBO-inbox (de historie "
                   "noemt de koppeling); nogmaals: hetzelfde antwoord; scope dossiers:handle",
           response=DossierView, tags=TAGS, auth=True, headers=(IF_MATCH_OPTIONAL,), statuses=(409, 412))
async def handled(request: web.Request) -> web.Response:
    principal, dossier_id = await _client(request, "dossiers:handle")
    # dossiers:handle without dossiers:read still sees only its institution's completed dossiers
    principal = principal.model_copy(update={"scope": (principal.scope or "") + " dossiers:read"})
    return await handle(request, principal, dossier_id, check_if_match="If-Match" in request.headers,
                        idempotent=True)
