"""Roster imports as jobs: the upload is checked as a whole in the request (a file with any error
imports nothing and answers 422 with every bad row); a valid file's classes and mentors are
applied and its students stored as a job (202), which a background worker imports in chunks,
counting progress as it goes.

- The job's rows live in ``roster_import_rows`` with the BSN encrypted and hashed exactly as in
  ``students`` (never plain, never logged); each chunk's rows are deleted in the transaction that
  imports them, so nothing of the file is left once the job is done (or has failed).
- A chunk, its events (through the outbox) and the job's progress commit together: a process that
  stops half-way leaves a job that the next worker resumes where it was, without importing or
  announcing a row twice (and a row imported twice would change nothing: the upsert by student
  number only writes, and announces, what differs).
- Each process runs one worker; a worker holds a session advisory lock on the job it works, so
  two replicas never work the same job; the lock ends with the session if a process dies.
- One unfinished import per school at a time (a second upload meanwhile: 409).
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from datetime import datetime, timedelta
from typing import AsyncIterator, Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field

from services.identity.access import caller
from services.identity.context import VAULT, api, path_uuid, settings_of
from services.identity.domain.roster_csv import RosterError, RosterRow, parse_roster
from services.identity.roster import (STUDENT_COLUMNS, NewMentor, lock_roster, prepare_import, roster_problem,
                                      student_values, upsert_students)
from services.identity.settings import IdentitySettings
from shared.api import json_response
from shared.app import DB, OUTBOX
from shared.db import init_connection
from shared.auth import require
from shared.logs import log_fields, request_id_var
from shared.outbox import Outbox
from shared.problems import Problem

log = logging.getLogger(__name__)

JOB_LOCK = 7_316_103  # per job, for as long as a worker works it
CSV_TYPES = {"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel", "application/octet-stream"}
NO_IMPORT = "Deze inlezing bestaat niet."
OPEN = "state IN ('queued', 'running')"
STATE_LABELS = {"queued": "In de wachtrij", "running": "Bezig met inlezen", "done": "Klaar", "failed": "Mislukt"}
GAVE_UP = ("Het inlezen is halverwege mislukt; de leerlingen tot dan zijn ingelezen. Lees het bestand opnieuw "
           "in (wat al is ingelezen verandert daardoor niet) of neem contact op met de helpdesk.")


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


def _file_errors(rows: list[RosterRow]) -> list[RosterError]:
    """Checks over rows that the parser does not do: the same BSN twice."""
    seen: dict[str, int] = {}
    errors = []
    for row in rows:
        if row.bsn is None:
            continue
        if row.bsn in seen:
            errors.append(RosterError(row.line, "BSN", f"Dit BSN staat ook op regel {seen[row.bsn]}."))
        else:
            seen[row.bsn] = row.line
    return errors


@api.route("POST", "/v1/roster/imports", summary="Leerlingenbestand (CSV uit het administratiepakket) inlezen "
           "(schoolbeheerder). Stuur het bestand als body met Content-Type: text/csv. Een bestand met fouten: 422 "
           "met elke fout, er verandert niets; een goed bestand: 202 en een inlezing op de achtergrond (Location)",
           response=ImportJobOut, status=202, tags=("leerlingen",), auth=True)
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
    errors = result.errors or _file_errors(result.rows)
    if errors:
        raise roster_problem(errors)
    rows = result.rows
    job_id = uuid.uuid4()
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        await lock_roster(conn, who.school_id)
        running = await conn.fetchval(f"SELECT id FROM roster_imports WHERE school_id = $1 AND {OPEN}",
                                      who.school_id)
        if running:
            raise Problem(409, "Er wordt al een leerlingenbestand van deze school ingelezen. Wacht tot dat klaar "
                          "is en lees dit bestand daarna in.", code="import-running", import_id=str(running))
        prepared = await prepare_import(conn, outbox, who.school_id, rows)
        job = await conn.fetchrow(
            """INSERT INTO roster_imports (id, school_id, requested_by, request_id, rows_total, not_in_file,
                                           classes_created, classes_with_changed_mentors, new_mentors)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *""",
            job_id, who.school_id, who.principal.account_id, request_id_var.get(), len(rows), prepared.not_in_file,
            prepared.classes_created, prepared.classes_with_changed_mentors,
            [m.model_dump(mode="json") for m in prepared.new_mentors])
        await conn.copy_records_to_table("roster_import_rows", columns=("import_id", "seq", *STUDENT_COLUMNS),
                                         records=[(job_id, seq, *student_values(r, prepared.class_id, vault).values())
                                                  for seq, r in enumerate(rows)])
    request.app[ROSTER_WORKER].wake()
    return json_response(job_out(job), status=202, headers={"Location": f"/v1/roster/imports/{job_id}"})


@api.route("GET", "/v1/roster/imports/{import_id}", summary="De stand van een inlezing: state (queued, running, "
           "done, failed), rows_done van rows_total, de aantallen (schoolbeheerder van de school)",
           response=ImportJobOut, tags=("leerlingen",), auth=True)
async def get_import(request: web.Request) -> web.Response:
    who = await require(request, "school_admin")
    import_id = path_uuid(request, "import_id", NO_IMPORT)
    async with request.app[DB].acquire(timeout=10) as conn:
        job = await conn.fetchrow("SELECT * FROM roster_imports WHERE id = $1 AND school_id = $2",
                                  import_id, who.school_id)
    if job is None:
        raise Problem(404, NO_IMPORT)
    return json_response(job_out(job))


# --- the worker ----------------------------------------------------------------------------------


CHUNK = """DELETE FROM roster_import_rows WHERE import_id = $1 AND seq IN (
               SELECT seq FROM roster_import_rows WHERE import_id = $1 ORDER BY seq LIMIT $2)
           RETURNING *"""


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(300.0, 2.0 ** attempts))


class RosterImportWorker:
    """Works the unfinished imports one after another, a chunk per transaction."""

    def __init__(self, pool: asyncpg.Pool, outbox: Outbox, settings: IdentitySettings) -> None:
        self.pool, self.outbox = pool, outbox
        # A connection of its own, not the pool's: it holds a session advisory lock for as long as a
        # job runs, and requests should not lose a pooled connection for that long.
        self.dsn = settings.effective_database_url()
        self._conn: asyncpg.Connection | None = None
        self.chunk_size = settings.roster_import_chunk_size
        self.poll_seconds = settings.roster_import_poll_seconds
        self.max_attempts = settings.roster_import_max_attempts
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="roster-import-worker")

    async def run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                while not self._stopping and await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away, say: try again in a while
                log.warning("roster import worker failed, retrying", extra=log_fields(error=type(exc).__name__))
                if not self._stopping:
                    await asyncio.sleep(1)
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def stop(self, timeout: float = 15) -> None:
        """The chunk in hand is finished (it is one transaction); the job stays open for the next worker."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except asyncio.TimeoutError:
            task.cancel()  # the chunk's transaction rolls back; it is done again later
        except asyncio.CancelledError:
            if not task.cancelled():  # it is this call that is cancelled: end the worker's session too
                self._drop_connection()
                raise
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._drop_connection()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self.dsn, timeout=10)
            await init_connection(self._conn)
        return self._conn

    def _drop_connection(self) -> None:
        """End the worker's session (and with it any lock it holds) at once."""
        if self._conn is not None and not self._conn.is_closed():
            self._conn.terminate()
        self._conn = None

    async def run_once(self) -> bool:
        """Work one due job that no other worker holds; False when there was none."""
        conn = await self._connection()
        due = await conn.fetch(f"""SELECT id FROM roster_imports WHERE {OPEN} AND next_attempt_at <= now()
                                   ORDER BY created_at LIMIT 20""")
        for job in due:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1, hashtext($2))", JOB_LOCK, str(job["id"])):
                continue  # another worker has it
            try:
                while not self._stopping and await self.chunk(conn, job["id"]):
                    pass
            finally:
                try:
                    await conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))", JOB_LOCK, str(job["id"]))
                except BaseException:
                    self._drop_connection()  # the session ends, and the lock with it
            return True
        return False

    async def chunk(self, conn: asyncpg.Connection, job_id: uuid.UUID) -> bool:
        """Import the next chunk of a job this worker holds; True when there is more to do now."""
        try:
            async with conn.transaction():
                job = await conn.fetchrow(f"""SELECT * FROM roster_imports WHERE id = $1 AND {OPEN}
                                              AND next_attempt_at <= now() FOR UPDATE""", job_id)
                if job is None:  # finished meanwhile, or to be tried again later
                    return False
                token = request_id_var.set(job["request_id"])  # the events say which upload made them
                try:
                    rows = sorted(await conn.fetch(CHUNK, job_id, self.chunk_size), key=lambda r: r["seq"])
                    created, updated = await upsert_students(conn, self.outbox, job["school_id"], rows) if rows \
                        else (0, 0)
                finally:
                    request_id_var.reset(token)
                more = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM roster_import_rows WHERE import_id = $1)",
                                           job_id)
                await conn.execute(
                    """UPDATE roster_imports SET rows_done = rows_done + $2, created = created + $3,
                              updated = updated + $4, unchanged = unchanged + $5,
                              state = CASE WHEN $6 THEN 'running' ELSE 'done' END,
                              finished_at = CASE WHEN $6 THEN NULL ELSE now() END,
                              started_at = coalesce(started_at, now()), attempts = 0, error = NULL, updated_at = now()
                       WHERE id = $1""", job_id, len(rows), created, updated, len(rows) - created - updated, more)
            if not more:
                log.info("roster import done", extra=log_fields(import_id=str(job_id), rows=job["rows_total"]))
            return more
        except (asyncio.CancelledError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
                asyncpg.exceptions.OperatorInterventionError, OSError):
            raise  # not the rows' fault (the connection or the server went away): the job stays as it was
        except Exception as exc:
            # only the kind of error: a message could quote a row, and rows are personal data
            log.warning("roster import chunk failed", extra=log_fields(
                import_id=str(job_id), error=type(exc).__name__, sqlstate=getattr(exc, "sqlstate", None)))
            await self._failed(conn, job_id)
            return False

    async def _failed(self, conn: asyncpg.Connection, job_id: uuid.UUID) -> None:
        """Try again later, with growing delays; after the last try the job fails and its rows go."""
        async with conn.transaction():
            attempts = await conn.fetchval(
                "UPDATE roster_imports SET attempts = attempts + 1, updated_at = now() WHERE id = $1 RETURNING attempts",
                job_id)
            if attempts < self.max_attempts:
                await conn.execute("UPDATE roster_imports SET next_attempt_at = now() + $2 WHERE id = $1",
                                   job_id, retry_delay(attempts))
                return
            await conn.execute("""UPDATE roster_imports SET state = 'failed', error = $2, finished_at = now()
                                  WHERE id = $1""", job_id, GAVE_UP)
            await conn.execute("DELETE FROM roster_import_rows WHERE import_id = $1", job_id)
        log.error("roster import failed", extra=log_fields(import_id=str(job_id), attempts=attempts))


ROSTER_WORKER = web.AppKey("roster_import_worker", RosterImportWorker)


def worker_context(settings: IdentitySettings):
    """The app's worker: resumes unfinished imports at start-up, stops between chunks."""

    async def roster_import_worker(app: web.Application) -> AsyncIterator[None]:
        worker = RosterImportWorker(app[DB], app[OUTBOX], settings)
        app[ROSTER_WORKER] = worker
        worker.start()
        yield
        await worker.stop()

    return roster_import_worker
