"""The roster import worker: works the import jobs that uploads made (``routes/roster_imports.py``),
one after another, a chunk of students per transaction, counting progress as it goes.

- The job's rows live in ``roster_import_rows`` with the BSN encrypted and hashed exactly as in
  ``students`` (never plain, never logged); each chunk's rows are deleted in the transaction that
  imports them, so nothing of the file is left once the job is done (or has failed).
- A chunk, its events (through the outbox) and the job's progress commit together: a process that
  stops half-way leaves a job that the next worker resumes where it was, without importing or
  announcing a row twice (and a row imported twice would change nothing: the upsert by student
  number only writes, and announces, what differs).
- Each process runs one worker; a worker holds a session advisory lock on the job it works, so
  two replicas never work the same job; the lock ends with the session if a process dies.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import AsyncIterator

import asyncpg
from aiohttp import web

from services.identity.settings import IdentitySettings
from services.identity.store.roster import upsert_students
from services.identity.store.roster_imports import (count_attempt, due_jobs, fail_job, lock_due_job, record_chunk,
                                                    retry_later, rows_left, take_chunk, try_lock_job, unlock_job)
from shared.app import DB, OUTBOX
from shared.db import init_connection
from shared.logs import log_fields, request_id_var
from shared.loops import Worker, stop_task
from shared.outbox import Outbox

log = logging.getLogger(__name__)


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(300.0, 2.0 ** attempts))


class RosterImportWorker(Worker):
    """Works the unfinished imports one after another, a chunk per transaction."""

    name = "roster-import-worker"

    def __init__(self, pool: asyncpg.Pool, outbox: Outbox, settings: IdentitySettings) -> None:
        super().__init__(poll_seconds=settings.roster_import_poll_seconds)
        self.pool, self.outbox = pool, outbox
        # A connection of its own, not the pool's: it holds a session advisory lock for as long as a
        # job runs, and requests should not lose a pooled connection for that long.
        self.dsn = settings.effective_database_url()
        self._conn: asyncpg.Connection | None = None
        self.chunk_size = settings.roster_import_chunk_size
        self.max_attempts = settings.roster_import_max_attempts
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def step(self) -> bool:
        return await self.run_once()

    async def stop_and_wait(self, timeout: float = 15) -> None:
        """The chunk in hand is finished (it is one transaction); the job stays open for the next
        worker. After ``timeout`` the worker is cancelled: the chunk's transaction rolls back and
        is done again later."""
        self.stop()
        task, self._task = self._task, None
        try:
            if task is not None:
                await stop_task(task, grace=timeout)
        finally:
            self._drop_connection()  # the worker's session ends, and any lock with it

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
        for job_id in await due_jobs(conn):
            if not await try_lock_job(conn, job_id):
                continue  # another worker has it
            try:
                while not self.stopping and await self.chunk(conn, job_id):
                    pass
            finally:
                try:
                    await unlock_job(conn, job_id)
                except BaseException:
                    self._drop_connection()  # the session ends, and the lock with it
            return True
        return False

    async def chunk(self, conn: asyncpg.Connection, job_id: uuid.UUID) -> bool:
        """Import the next chunk of a job this worker holds; True when there is more to do now."""
        try:
            async with conn.transaction():
                job = await lock_due_job(conn, job_id)
                if job is None:  # finished meanwhile, or to be tried again later
                    return False
                token = request_id_var.set(job["request_id"])  # the events say which upload made them
                try:
                    rows = await take_chunk(conn, job_id, self.chunk_size)
                    created, updated = await upsert_students(conn, self.outbox, job["school_id"], rows) if rows \
                        else (0, 0)
                finally:
                    request_id_var.reset(token)
                more = await rows_left(conn, job_id)
                await record_chunk(conn, job_id, len(rows), created, updated, more)
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
            attempts = await count_attempt(conn, job_id)
            if attempts < self.max_attempts:
                await retry_later(conn, job_id, retry_delay(attempts))
                return
            await fail_job(conn, job_id)
        log.error("roster import failed", extra=log_fields(import_id=str(job_id), attempts=attempts))


ROSTER_WORKER = web.AppKey("roster_import_worker", RosterImportWorker)


def worker_context(settings: IdentitySettings):
    """The app's worker: resumes unfinished imports at start-up, stops between chunks."""

    async def roster_import_worker(app: web.Application) -> AsyncIterator[None]:
        worker = RosterImportWorker(app[DB], app[OUTBOX], settings)
        app[ROSTER_WORKER] = worker
        worker.start()
        yield
        await worker.stop_and_wait()

    return roster_import_worker
