"""Roster imports as jobs: the upload is checked as a whole in the request (a file with any error
imports nothing and answers 422 with every bad row); a valid file's classes and mentors are
applied and its students stored as a job (202), which a background worker imports in chunks,
counting progress as it goes (``roster_import_worker.py``; the rules of an import:
``store/roster.py``).

- One unfinished import per school at a time (a second upload meanwhile: 409).
- ``?preview=true``: nothing changes yet. The checked file is kept (sealed) as a preview of what it
  would change, with the students it does not list (201, state ``preview``); the school admin
  confirms it (``POST .../{id}/confirm``) with those of them who left, and it becomes a job as above;
  or drops it (``DELETE``). A preview is kept a day.
"""
from __future__ import annotations

import asyncio
import functools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.identity.access import caller
from services.identity.context import VAULT, api, path_uuid, settings_of, today
from services.identity.domain.roster_csv import file_errors, parse_roster
from services.identity.roster_import_worker import ROSTER_WORKER
from services.identity.schemas import NewMentor
from services.identity.store.roster import (lock_roster, mark_left, prepare_import, preview_import, roster_problem,
                                            student_values)
from services.identity.store.roster_imports import (GAVE_UP, create_job, create_preview, load_job, lock_preview,
                                                    open_import, start_preview)
from shared.api import Query, QueryBool, json_response, read_body, read_query
from shared.app import DB, OUTBOX
from shared.auth import require
from shared.logs import request_id_var
from shared.problems import Problem
from shared.sealing import keyring

PREVIEW_PURPOSE = "identity-roster-preview"  # what the kept file is sealed for (its own AES key)
PREVIEW_HOURS = 24
CSV_TYPES = {"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel", "application/octet-stream"}
NO_IMPORT = "Deze inlezing bestaat niet."
STATE_LABELS = {"preview": "Wacht op bevestiging", "queued": "In de wachtrij", "running": "Bezig met inlezen", "done": "Klaar", "failed": "Mislukt"}


class LeavingCandidate(BaseModel):
    student_id: uuid.UUID
    student_number: str
    name: str
    class_name: str
    leerjaar: int


class ImportPreview(BaseModel):
    """What the file would change (state ``preview``); after the confirmation only the counts stay."""
    created: int
    updated: int
    unchanged: int
    returning: int = Field(description="students who had left and are in this file: active again")
    classes_created: list[str]
    new_mentors: list[str] = Field(description="addresses that would become mentors (not on staff yet)")
    parents: bool = Field(description="the file has parent columns: it replaces the parents of its students")
    not_in_file: list[LeavingCandidate] | None = Field(
        None, description="the school's active students the file does not list: confirm with those who left")


class ImportJobOut(BaseModel):
    import_id: uuid.UUID
    state: Literal["preview", "queued", "running", "done", "failed"]
    state_label: str = Field(description="Wacht op bevestiging | In de wachtrij | Bezig met inlezen | Klaar | Mislukt")
    detail: str
    rows_total: int
    rows_done: int
    created: int
    updated: int
    unchanged: int
    not_in_file: int = Field(description="students of the school that this file does not list (left unchanged)")
    left: int = Field(0, description="students marked as left at the confirmation (no longer active)")
    preview: ImportPreview | None = None
    classes_created: list[str]
    classes_with_changed_mentors: list[str]
    new_mentors: list[NewMentor] = Field(description="made from the file, not yet invited")
    error: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


def job_out(job: asyncpg.Record) -> ImportJobOut:
    state, total, done = job["state"], job["rows_total"], job["rows_done"]
    detail = {"preview": f"Het bestand is goedgekeurd: {total} leerlingen. Er is nog niets veranderd; bevestig het "
                         "inlezen.",
              "queued": f"Het bestand is goedgekeurd: {total} leerlingen worden ingelezen.",
              "running": f"{done} van {total} rijen ingelezen.",
              "done": f"Het bestand is ingelezen: {total} leerlingen.",
              "failed": job["error"] or GAVE_UP}[state]
    return ImportJobOut(
        import_id=job["id"], state=state, state_label=STATE_LABELS[state], detail=detail, rows_total=total,
        rows_done=done, created=job["created"], updated=job["updated"], unchanged=job["unchanged"],
        not_in_file=job["not_in_file"], left=job["left_students"],
        preview=ImportPreview(**job["preview"]) if job["preview"] else None, classes_created=job["classes_created"],
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


class ImportQuery(Query):
    preview: QueryBool = Field(False, description="true: only check the file and show what it would change (201); "
                                                  "confirm it with POST /v1/roster/imports/{id}/confirm")


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    leavers: list[uuid.UUID] = Field([], max_length=20000, description=(
        "the students of the preview's not_in_file who left the school: marked as left (no longer active, their "
        "unused activation codes void); the others stay as they are"))


@api.route("POST", "/v1/roster/imports", summary="Leerlingenbestand (CSV uit het administratiepakket) inlezen "
           "(schoolbeheerder). Stuur het bestand als body met Content-Type: text/csv. Een bestand met fouten: 422 "
           "met elke fout, er verandert niets; een goed bestand: 202 en een inlezing op de achtergrond (Location); "
           "met ?preview=true: 201 en eerst een voorbeeld van wat er verandert, dat je bevestigt",
           response=ImportJobOut, status=202, tags=("leerlingen",), auth=True, consumes="text/csv",
           query=ImportQuery, statuses=(201, 409, 422))
async def import_roster(request: web.Request) -> web.Response:
    settings, vault, outbox = settings_of(request), request.app[VAULT], request.app[OUTBOX]
    async with request.app[DB].acquire(timeout=10) as conn:
        who = await caller(request, conn, "school_admin")
        kind = await conn.fetchval("SELECT kind FROM schools WHERE id = $1", who.school_id)
    if kind != "vo":
        raise Problem(409, "Alleen een VO-school leest een leerlingenbestand in.", code="not-vo")
    preview = read_query(request, ImportQuery).preview
    if request.content_type not in CSV_TYPES:
        raise Problem(415, "Stuur het leerlingenbestand als CSV (Content-Type: text/csv).", code="not-csv")
    data = await _read_limited(request, settings.roster_max_bytes)
    rows = await _checked_rows(data, settings)
    job_id = uuid.uuid4()
    if preview:
        async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
            running = await open_import(conn, who.school_id)
            if running:  # what a file changes is only clear once the running import is done
                raise Problem(409, "Er wordt al een leerlingenbestand van deze school ingelezen. Wacht tot dat klaar "
                              "is en lees dit bestand daarna in.", code="import-running", import_id=str(running))
            changes = await preview_import(conn, vault, who.school_id, rows)
            job = await create_preview(conn, job_id, who.school_id, who.principal.account_id, request_id_var.get(),
                                       len(rows), changes, keyring().seal_bytes(data, PREVIEW_PURPOSE))
        return json_response(job_out(job), status=201, headers={"Location": f"/v1/roster/imports/{job_id}"})
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


async def _checked_rows(data: bytes, settings) -> list:
    """The rows of a roster file; a 422 with every error when it has any."""
    result = await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(parse_roster, data, max_rows=settings.roster_max_rows))
    errors = result.errors or file_errors(result.rows)
    if errors:
        raise roster_problem(errors)
    return result.rows


@api.route("POST", "/v1/roster/imports/{import_id}/confirm", summary="Een voorbeeld (?preview=true) bevestigen: "
           "het bestand wordt ingelezen en de gekozen leerlingen die er niet in staan (leavers) gaan uit de school "
           "(schoolbeheerder)", body=ConfirmIn, response=ImportJobOut, status=202, tags=("leerlingen",), auth=True,
           statuses=(409, 410, 422))
async def confirm_import(request: web.Request) -> web.Response:
    await require(request, "school_admin")  # who may ask is checked before what is asked
    import_id = path_uuid(request, "import_id", NO_IMPORT)
    body = await read_body(request, ConfirmIn)
    settings, vault, outbox = settings_of(request), request.app[VAULT], request.app[OUTBOX]
    async with request.app[DB].acquire(timeout=10) as conn:
        who = await caller(request, conn, "school_admin")
        job = await load_job(conn, import_id, who.school_id)
    if job is None:
        raise Problem(404, NO_IMPORT)
    if job["state"] != "preview" or job["file_sealed"] is None:
        raise Problem(409, "Dit bestand is al bevestigd.", code="already-confirmed")
    if job["created_at"] < datetime.now(UTC) - timedelta(hours=PREVIEW_HOURS):
        raise Problem(410, "Dit voorbeeld is te oud. Lees het bestand opnieuw in.", code="preview-expired")
    rows = await _checked_rows(keyring().open_bytes(job["file_sealed"], PREVIEW_PURPOSE), settings)
    candidates = {uuid.UUID(s["student_id"]) for s in job["preview"]["not_in_file"]}
    strangers = [str(i) for i in body.leavers if i not in candidates]
    if strangers:
        raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input", errors=[
            {"field": "leavers", "message": "Kies alleen leerlingen die niet in het bestand staan."}])
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        await lock_roster(conn, who.school_id)
        job = await lock_preview(conn, import_id, who.school_id)
        if job is None or job["state"] != "preview":
            raise Problem(409, "Dit bestand is al bevestigd.", code="already-confirmed")
        running = await open_import(conn, who.school_id)
        if running:
            raise Problem(409, "Er wordt al een leerlingenbestand van deze school ingelezen. Wacht tot dat klaar "
                          "is en bevestig dit bestand daarna.", code="import-running", import_id=str(running))
        prepared = await prepare_import(conn, outbox, who.school_id, rows)
        in_file = {r.student_number for r in rows}
        leavers = [r["id"] for r in await conn.fetch(
            "SELECT id FROM students WHERE id = ANY($1::uuid[]) AND NOT student_number = ANY($2::text[])",
            list(set(body.leavers)), list(in_file))]
        left = await mark_left(conn, outbox, who.school_id, leavers, today())
        job = await start_preview(conn, import_id, prepared, [student_values(r, prepared.class_id, vault) for r in rows],
                                  left)
    request.app[ROSTER_WORKER].wake()
    return json_response(job_out(job), status=202, headers={"Location": f"/v1/roster/imports/{import_id}"})


@api.route("DELETE", "/v1/roster/imports/{import_id}", summary="Een voorbeeld (?preview=true) niet inlezen: het "
           "bestand wordt weggegooid (schoolbeheerder)", status=204, tags=("leerlingen",), auth=True, statuses=(409,))
async def drop_preview(request: web.Request) -> web.Response:
    who = await require(request, "school_admin")
    import_id = path_uuid(request, "import_id", NO_IMPORT)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        job = await lock_preview(conn, import_id, who.school_id)
        if job is None:
            raise Problem(404, NO_IMPORT)
        if job["state"] != "preview":
            raise Problem(409, "Dit bestand is al bevestigd en wordt ingelezen.", code="already-confirmed")
        await conn.execute("DELETE FROM roster_imports WHERE id = $1", import_id)
    return web.Response(status=204)


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
