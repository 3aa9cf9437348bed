"""A student's right of access: everything this service holds about them, as JSON."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiohttp import web

from services.dossier import store
from services.dossier.routes.common import Actor, api, require_student_link
from shared.api import json_response
from shared.app import DB
from shared.auth import require

TAGS = ("privacy",)


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _rows(rows) -> list[dict]:
    return [_plain(dict(r)) for r in rows]


@api.route("GET", "/v1/me/data", summary="Al mijn gegevens in deze dienst, als JSON (recht op inzage)",
           tags=TAGS, auth=True)
async def export(request: web.Request) -> web.Response:
    """All of it, also what the workflow does not show the student yet (a part B the mentor is
    still writing): the right of access covers every piece of personal data held."""
    principal = await require(request, "student")
    student_id = require_student_link(principal)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        roster = await conn.fetchrow(
            """SELECT student_id, school_id, student_number, roepnaam, voornamen, tussenvoegsel, achternaam,
                      date_of_birth, class_name, leerjaar, email, account_email, active
               FROM students WHERE student_id = $1""",
            student_id)
        dossiers = await conn.fetch("SELECT * FROM dossiers WHERE student_id = $1 ORDER BY created_at", student_id)
        ids = [d["id"] for d in dossiers]
        sections = await conn.fetch(
            """SELECT dossier_id, section_id, part, answers, progress, version, updated_at FROM dossier_sections
               WHERE dossier_id = ANY($1::uuid[]) ORDER BY dossier_id, part, section_id""", ids)
        history = await conn.fetch(
            """SELECT dossier_id, at, action, actor_role, actor_name, from_state, to_state, detail FROM history
               WHERE dossier_id = ANY($1::uuid[]) ORDER BY id""", ids)
        links = await conn.fetch(
            "SELECT dossier_id, email, created_at, expires_at, revoked_at FROM parent_links "
            "WHERE dossier_id = ANY($1::uuid[]) ORDER BY created_at", ids)
        reminders = await conn.fetch(
            "SELECT dossier_id, day, automatic, created_at FROM reminders WHERE dossier_id = ANY($1::uuid[]) ORDER BY day",
            ids)
        part_b = await conn.fetch(
            "SELECT section_id, form_version, answers, progress, version, updated_at FROM student_part_b "
            "WHERE student_id = $1 ORDER BY section_id", student_id)
        audit = await conn.fetch(
            """SELECT at, kind, actor_role, what, purpose, dossier_id FROM audit_log
               WHERE student_id = $1 OR dossier_id = ANY($2::uuid[]) ORDER BY id""", student_id, ids)
    async with request.app[DB].acquire(timeout=10) as conn:
        await store.audit(conn, Actor.of(principal), "view", "export", student_id=student_id, purpose="export")
    by_dossier: dict[str, dict] = {}
    for d in dossiers:
        item = _plain({k: v for k, v in dict(d).items()})
        item["sections"] = [s for s in _rows(sections) if s["dossier_id"] == str(d["id"])]
        item["history"] = [h for h in _rows(history) if h["dossier_id"] == str(d["id"])]
        item["parent_links"] = [p for p in _rows(links) if p["dossier_id"] == str(d["id"])]
        item["reminders"] = [r for r in _rows(reminders) if r["dossier_id"] == str(d["id"])]
        by_dossier[str(d["id"])] = item
    body = {
        "about": "Alle gegevens die de dossierdienst van Doorstroom over jou bewaart.",
        "exported_at": datetime.now().astimezone().isoformat(),
        "student": _plain(dict(roster)) if roster else None,
        "part_b_student": _rows(part_b),
        "dossiers": list(by_dossier.values()),
        "access_log": _rows(audit),
    }
    response = json_response(body)
    response.headers["Content-Disposition"] = 'attachment; filename="mijn-doorstroomdossier.json"'
    return response
