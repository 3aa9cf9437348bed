"""The retention rule as the school sees it (schoolbeheerder, decaan): what the rule will erase and
from when (the plan of the daily run: ``services/dossier/retention.py``), and what it erased (the
audit line afterwards, counts only)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from services.dossier import store
from services.dossier.context import settings_of
from services.dossier.domain.names import full_name
from services.dossier.routes.common import Actor, api
from shared.api import json_response
from shared.app import DB
from shared.auth import require

TAGS = ("privacy",)


class PlannedErasure(BaseModel):
    kind: Literal["student", "dossier"] = Field(description="student: a student who left, with everything of "
                                                            "theirs; dossier: one completed dossier")
    student_name: str | None = None
    class_name: str | None = None
    choice: str | None = Field(None, description="a dossier's institution and programme")
    basis_on: date = Field(description="the day the student left or the dossier was completed")
    due_on: date
    noticed_on: date | None = None
    erase_from: date | None = Field(None, description="the first day it may be erased (after the notice period)")


class ErasureLine(BaseModel):
    erased_at: datetime
    run_on: date
    retention_years: int
    dossiers: int
    students: int
    student_dossiers: int
    noticed_on: date | None = None


class RetentionOverview(BaseModel):
    retention_years: int
    notice_days: int
    planned: list[PlannedErasure]
    erased: list[ErasureLine]


@api.route("GET", "/v1/retention", summary="Bewaartermijn: wat binnenkort definitief wordt verwijderd en wat al is "
           "verwijderd (schoolbeheerder, decaan van de school)", response=RetentionOverview, tags=TAGS, auth=True)
async def overview(request: web.Request) -> web.Response:
    principal = await require(request, "school_admin", "counsellor")
    notice = settings_of(request.app).retention_notice_days
    async with request.app[DB].acquire(timeout=10) as conn:
        years = await conn.fetchval("SELECT retention_years FROM schools WHERE school_id = $1", principal.school_id)
        planned = await conn.fetch(
            """SELECT p.*, s.roepnaam, s.tussenvoegsel, s.achternaam, s.class_name,
                      coalesce(d.final #>> '{choice,institution_name}', inst.name) AS institution_name,
                      coalesce(d.final #>> '{choice,programme_name}', pr.name) AS programme_name
               FROM retention_plan p LEFT JOIN students s ON s.student_id = p.student_id
               LEFT JOIN dossiers d ON p.kind = 'dossier' AND d.id = p.subject_id
               LEFT JOIN schools inst ON inst.school_id = d.institution_id
               LEFT JOIN programmes pr ON pr.programme_id = d.programme_id
               WHERE p.school_id = $1 ORDER BY p.due_on, s.sort_name, p.subject_id""", principal.school_id)
        erased = await conn.fetch("SELECT * FROM retention_log WHERE school_id = $1 ORDER BY erased_at DESC LIMIT 100",
                                  principal.school_id)
        await store.audit(conn, Actor.of(principal), "view", "overview:retention")
    return json_response(RetentionOverview(
        retention_years=years or 2, notice_days=notice,
        planned=[PlannedErasure(
            kind=p["kind"], student_name=full_name(p["roepnaam"], p["tussenvoegsel"], p["achternaam"])
            if p["roepnaam"] else None, class_name=p["class_name"],
            choice=" – ".join(x for x in (p["institution_name"], p["programme_name"]) if x) or None,
            basis_on=p["basis_on"], due_on=p["due_on"], noticed_on=p["noticed_on"],
            erase_from=max(p["due_on"], p["noticed_on"] + timedelta(days=notice)) if p["noticed_on"] else None)
            for p in planned],
        erased=[ErasureLine(**{k: r[k] for k in ErasureLine.model_fields}) for r in erased]))
