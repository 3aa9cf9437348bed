"""Roster imports as jobs: the upload is checked as a whole in the request (a file with any error
imports nothing and answers 422 with every bad row); a valid file's classes and mentors are
applied and its students stored as a job (202), which a background worker imports in chunks,
counting progress as it goes (``roster_import_worker.py``; the rules of an import:
``store/roster.py``).

- One unfinished import per school at a time (a second upload meanwhile: 409).
"""
from __future__ import annotations

import asyncio
import functools
import uuid
from datetime import datetime
from typing import Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field

from services.identity.access import caller
from services.identity.context import VAULT, api, path_uuid, settings_of
from services.identity.domain.roster_csv import file_errors, parse_roster
from services.identity.roster_import_worker import ROSTER_WORKER
from services.identity.schemas import NewMentor
from services.identity.store.roster import lock_roster, prepare_import, roster_problem, student_values
from services.identity.store.roster_imports import GAVE_UP, create_job, load_job, open_import
from shared.api import json_response
from shared.app import DB, OUTBOX
from shared.auth import require
from shared.logs import request_id_var
from shared.problems import Problem

CSV_TYPES = {"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel", "application/octet-stream"}
NO_IMPORT = "Deze inlezing bestaat niet."
STATE_LABELS = {"queued": "In de wachtrij", "running": "Bezig met inlezen", "done": "Klaar", "failed": "Mislukt"}


class ImportJobOut(BaseModel):
    import_id: uuid.UUID
    state: Literal["queued", "running", "done", "failed"]
    state_label: str = Field(description="In de wachtrij | Bezig met inlezen | Klaar | Mislukt")
    detail: str
    rows_total: int
    rows_done: int
    created: int
    updated: int
    unchanged: int
    not_in_file: int = Field(description="students of the school that this file does not list (left unchanged)")
    classes_created: list[str]
    classes_with_changed_mentors: list[str]
    new_mentors: list[NewMentor] = Field(description="made from the file, not yet invited")
    error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


def job_out(job: asyncpg.Record) -> ImportJobOut:
    state, total, done = job["state"], job["rows_total"], job["rows_done"]
    detail = {"queued": f"Het bestand is goedgekeurd: {total} leerlingen worden ingelezen.",
              "running": f"{done} van {total} rijen ingelezen.",
              "done": f"Het bestand is ingelezen: {total} leerlingen.",
              "failed": job["error"] or GAVE_UP}[state]
    return ImportJobOut(
        import_id=job["id"], state=state, state_label=STATE_LABELS[state], detail=detail, rows_total=total,
        rows_done=done, created=job["created"], updated=job["updated"], unchanged=job["unchanged"],
        not_in_file=job["not_in_file"], classes_created=job["classes_created"],
        classes_with_changed_mentors=job["classes_with_changed_mentors"],
        new_mentors=[NewMentor(**m) for m in job["new_mentors"]], error=job["error"],
        created_at=job["created_at"], finished_at=job["finished_at"])


# --- the upload ----------------------------------------------------------------------------------


async def _read_limited(request: web.Request, limit: int) -> bytes:
    too_big = Problem(413, f"Het bestand is te groot (maximaal {limit // (1024 * 1024) or 1} MB). "
                      "Splits het op, bijvoorbeeld per leerjaar.", code="file-too-large")
    if request.content_length is not None and request.content_length > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


@api.route("POST", "/v1/roster/imports", summary="Leerlingenbestand (CSV uit het administratiepakket) inlezen "
           "(schoolbeheerder). Stuur het bestand als body met Content-Type: text/csv. Een bestand met fouten: 422 "
           "met elke fout, er verandert niets; een goed bestand: 202 en een inlezing op de achtergrond (Location)",
           response=ImportJobOut, status=202, tags=("leerlingen",), auth=True, consumes="text/csv",
           statuses=(409, 422))
async def import_roster(request: web.Request) -> web.Response:
    settings, vault, outbox = settings_of(request), request.app[VAULT], request.app[OUTBOX]
    async with request.app[DB].acquire(timeout=10) as conn:
        who = await caller(request, conn, "school_admin")
        kind = await conn.fetchval("SELECT kind FROM schools WHERE id = $1", who.school_id)
    if kind != "vo":
        raise Problem(409, "Alleen een VO-school leest een leerlingenbestand in.", code="not-vo")
    if request.content_type not in CSV_TYPES:
        raise Problem(415, "Stuur het leerlingenbestand als CSV (Content-Type: text/csv).", code="not-csv")
    data = await _read_limited(request, settings.roster_max_bytes)
    result = await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(parse_roster, data, max_rows=settings.roster_max_rows))
    errors = result.errors or file_errors(result.rows)
    if errors:
        raise roster_problem(errors)
    rows = result.rows
    job_id = uuid.uuid4()
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        await lock_roster(conn, who.school_id)
        running = await open_import(conn, who.school_id)
        if running:
            raise Problem(409, "Er wordt al een leerlingenbestand van deze school ingelezen. Wacht tot dat klaar "
                          "is en lees dit bestand daarna in.", code="import-running", import_id=str(running))
        prepared = await prepare_import(conn, outbox, who.school_id, rows)
        job = await create_job(conn, job_id, who.school_id, who.principal.account_id, request_id_var.get(), prepared,
                               [student_values(r, prepared.class_id, vault) for r in rows])
    request.app[ROSTER_WORKER].wake()
    return json_response(job_out(job), status=202, headers={"Location": f"/v1/roster/imports/{job_id}"})


@api.route("GET", "/v1/roster/imports/{import_id}", summary="De stand van een inlezing: state (queued, running, "
           "done, failed), rows_done van rows_total, de aantallen (schoolbeheerder van de school)",
           response=ImportJobOut, tags=("leerlingen",), auth=True)
async def get_import(request: web.Request) -> web.Response:
    who = await require(request, "school_admin")
    import_id = path_uuid(request, "import_id", NO_IMPORT)
    async with request.app[DB].acquire(timeout=10) as conn:
        job = await load_job(conn, import_id, who.school_id)
    if job is None:
        raise Problem(404, NO_IMPORT)
    return json_response(job_out(job))
