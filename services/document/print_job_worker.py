"""The print job worker: claims a job (FOR UPDATE SKIP LOCKED, with a lease), renders its letters
piece by piece in the render pool, keeps each piece in the database as it is done (progress, and
a job taken over after a crash goes on where it was), then merges the pieces into one PDF, stores
it and publishes ``document.print_job_completed`` in one transaction.

Exactly once: every write of a worker checks its claim token, so a worker that lost its lease
(it was too slow, or presumed dead) changes nothing; a job is completed, and its event
published, by one claim only.

The letters' codes are opened (``shared.sealing``) only to render them; the rendered pieces are
kept sealed, like the merged file (``files``).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from services.document import files
from services.document.print_jobs import chunk_count, page_url
from services.document.render_pool import RenderPool
from services.document.rendering.letters import render_letters
from services.document.rendering.merge import merge_files
from services.document.settings import DocumentSettings
from shared.events.document_events import PrintJobCompleted, PrintJobFailed
from shared import metrics
from shared.claims import ClaimTable, LeaseKeeper
from shared.logs import describe_error, log_fields
from shared.loops import NotifyWakeup, Worker
from shared.outbox import Outbox
from shared.sealing import Sealed

log = logging.getLogger(__name__)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
RETRY_LATER = "Het maken van de brieven is even niet gelukt. We proberen het automatisch opnieuw."
GAVE_UP = "Het maken van de brieven is niet gelukt. Probeer het opnieuw of neem contact op met de helpdesk."

PRINT_JOBS = ClaimTable(
    table="print_jobs",
    due="state = 'queued' AND next_attempt_at <= now()",
    claimed="state = 'rendering'",
    on_claim="state = 'rendering', attempts = attempts + 1, started_at = coalesce(started_at, now())",
    order="next_attempt_at, created_at")


class LeaseLost(Exception):
    """Another worker holds the job now; this one stops without writing."""


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(600.0, 5.0 * 2 ** max(0, attempts - 1)))


class PrintJobWorker(Worker):
    name = "print-job-worker"

    def __init__(self, pool: asyncpg.Pool, render: RenderPool, settings: DocumentSettings, outbox: Outbox,
                 dsn: str) -> None:
        super().__init__(poll_seconds=settings.print_job_poll_seconds, wakeup=NotifyWakeup(dsn, "print_jobs"))
        self.pool, self.render, self.settings, self.outbox, self.dsn = pool, render, settings, outbox, dsn
        self.lease = timedelta(seconds=settings.print_job_lease_seconds)
        self.keeper = LeaseKeeper(pool, PRINT_JOBS, self.lease)
        self.ttl = timedelta(hours=settings.file_ttl_hours)

    async def step(self) -> bool:
        return await self.run_once()

    async def close(self) -> None:
        await self.keeper.close()
        await super().close()

    async def run_once(self) -> bool:
        """Claim and work one job; False when there was none."""
        job = await self.claim()
        if job is None:
            return False
        if job["attempts"] > self.settings.print_job_max_attempts:
            # it was claimed that often without finishing: the render keeps crashing the worker
            await self._give_up(job, GAVE_UP)
            return True
        await self.process(job)
        return True

    async def claim(self) -> asyncpg.Record | None:
        """The next due job (or one whose worker was not heard of within the lease), now ours."""
        rows = await self.keeper.claim(uuid.uuid4(), 1)
        return rows[0] if rows else None

    # ------------------------------------------------------------------ one job

    async def process(self, job: asyncpg.Record) -> None:
        fields = log_fields(job_id=str(job["id"]), attempt=job["attempts"], pages=job["pages_total"])
        log.info("print job claimed", extra=fields)
        async with self.keeper.hold(job["claim_token"]):  # the lease is renewed while we work
            await self._work(job, fields)

    async def _work(self, job: asyncpg.Record, fields: dict) -> None:
        try:
            async with self.pool.acquire(timeout=10) as conn:
                existing = await files.find(conn, job["content_hash"], self.ttl)
            if existing is not None:
                await self._complete(job, file_id=existing["id"], expires_at=existing["expires_at"],
                                     pages=existing["pages"], reused=True)
                return
            finished = await self._render_pieces(job)
            if not finished:
                await self._release(job)
                log.info("print job handed back (stopping)", extra=fields)
                return
            pdf, pages = await self._assemble(job)
            await self._complete(job, pdf=pdf, pages=pages)
            log.info("print job done", extra=fields)
        except LeaseLost:
            log.warning("print job lease lost; another worker has it", extra=fields)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("print job failed", extra=log_fields(job_id=str(job["id"]), error=describe_error(exc)[:300]))
            await self._retry_or_give_up(job)

    async def _render_pieces(self, job: asyncpg.Record) -> bool:
        """Render the pieces not yet kept; False when stopping interrupted it."""
        async with self.pool.acquire(timeout=10) as conn:
            kept = {r["chunk_no"] for r in await conn.fetch(
                "SELECT chunk_no FROM print_job_chunks WHERE job_id = $1", job["id"])}
        todo = iter([n for n in range(chunk_count(job["pages_total"], job["chunk_size"])) if n not in kept])

        async def lane() -> None:
            for chunk_no in todo:  # the lanes share the iterator: each piece is taken once
                if self.stopping:
                    return
                await self.render_piece(job, chunk_no)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.render.processes):
                    group.create_task(lane())
        except ExceptionGroup as failed:  # the first failure is the one to handle (LeaseLost, a render error)
            raise failed.exceptions[0] from None
        if await self._all_kept(job):
            return True
        if self.stopping:
            return False
        raise RuntimeError(f"pieces of print job {job['id']} are missing")

    async def _all_kept(self, job: asyncpg.Record) -> bool:
        async with self.pool.acquire(timeout=10) as conn:
            kept = await conn.fetchval("SELECT count(*) FROM print_job_chunks WHERE job_id = $1", job["id"])
        return kept == chunk_count(job["pages_total"], job["chunk_size"])

    async def render_piece(self, job: asyncpg.Record, chunk_no: int) -> None:
        """Render piece ``chunk_no`` of a job we hold and keep it (raises LeaseLost otherwise)."""
        size = job["chunk_size"]
        async with self.pool.acquire(timeout=10) as conn:
            letters = [{**r, "code": Sealed.of(r["code"]).reveal()} for r in await conn.fetch(
                """SELECT student_name, class_name, code FROM print_job_letters
                   WHERE job_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq""",
                job["id"], chunk_no * size, (chunk_no + 1) * size)]
        with metrics.PRINT_RENDER.time():
            pdf = await self.render.run(
                render_letters, school_name=job["school_name"], register_url=job["register_url"],
                expires_on=job["code_expires_on"], letters=letters,
                printed_on=job["created_at"].astimezone(AMSTERDAM).date())
        async with self.pool.acquire(timeout=10) as conn, conn.transaction():
            held = await conn.fetchval(
                "SELECT true FROM print_jobs WHERE id = $1 AND claim_token = $2 AND state = 'rendering' FOR UPDATE",
                job["id"], job["claim_token"])
            if not held:
                raise LeaseLost
            await conn.execute(
                """INSERT INTO print_job_chunks (job_id, chunk_no, pages, pdf) VALUES ($1, $2, $3, $4)
                   ON CONFLICT DO NOTHING""", job["id"], chunk_no, len(letters), files.seal(pdf, files.CHUNK_PURPOSE))
            await conn.execute(
                """UPDATE print_jobs SET chunks_rendered = chunks_rendered + 1,
                          pages_done = (SELECT coalesce(sum(pages), 0) FROM print_job_chunks WHERE job_id = $1)
                   WHERE id = $1""", job["id"])

    async def _assemble(self, job: asyncpg.Record) -> tuple[bytes, int]:
        """The pieces, written one by one to scratch files, merged by a render process."""
        count = chunk_count(job["pages_total"], job["chunk_size"])
        if count == 1:
            async with self.pool.acquire(timeout=10) as conn:
                return files.unseal(await conn.fetchval(
                    "SELECT pdf FROM print_job_chunks WHERE job_id = $1 AND chunk_no = 0", job["id"]),
                    files.CHUNK_PURPOSE), job["pages_total"]
        with tempfile.TemporaryDirectory(prefix="print-job-", dir=self.settings.scratch_dir) as scratch:
            paths = []
            for chunk_no in range(count):
                async with self.pool.acquire(timeout=10) as conn:
                    piece = files.unseal(await conn.fetchval(
                        "SELECT pdf FROM print_job_chunks WHERE job_id = $1 AND chunk_no = $2", job["id"], chunk_no),
                        files.CHUNK_PURPOSE)
                if piece is None:
                    raise RuntimeError(f"piece {chunk_no} of print job {job['id']} is missing")
                path = Path(scratch) / f"{chunk_no:06d}.pdf"
                await asyncio.to_thread(path.write_bytes, piece)
                paths.append(str(path))
                del piece
            output = Path(scratch) / "merged.pdf"
            with metrics.PRINT_RENDER.time():
                pages = await self.render.run(
                    merge_files, paths, str(output),
                    title=f"Activatiecodes Digitaal Doorstroomdossier – {job['school_name']}")
            return await asyncio.to_thread(output.read_bytes), pages

    # ------------------------------------------------------------------ endings

    async def _complete(self, job: asyncpg.Record, *, pages: int, pdf: bytes | None = None,
                        file_id: uuid.UUID | None = None, expires_at=None, reused: bool = False) -> None:
        async with self.pool.acquire(timeout=10) as conn, conn.transaction():
            held = await conn.fetchrow(
                """UPDATE print_jobs SET state = 'done' WHERE id = $1 AND claim_token = $2 AND state = 'rendering'
                   RETURNING requested_by_email""", job["id"], job["claim_token"])
            if held is None:
                raise LeaseLost
            if pdf is not None:
                stored = await files.store(conn, content_hash=job["content_hash"], kind="activation_letters",
                                           pages=pages, data=pdf, ttl=self.ttl)
                file_id, expires_at = stored["id"], stored["expires_at"]
            await conn.execute(
                """UPDATE print_jobs SET file_id = $2, expires_at = $3, reused_file = $4, completed_at = now(),
                          pages_done = pages_total, claim_token = NULL, lease_until = NULL, error = NULL,
                          requested_by_email = NULL
                   WHERE id = $1""", job["id"], file_id, expires_at, reused)
            await conn.execute("DELETE FROM print_job_letters WHERE job_id = $1", job["id"])
            await conn.execute("DELETE FROM print_job_chunks WHERE job_id = $1", job["id"])
            await self.outbox.add(conn, PrintJobCompleted(
                job_id=job["id"], batch_id=job["batch_id"], school_id=job["school_id"],
                requested_by=job["requested_by"], requested_by_email=held["requested_by_email"], pages=pages,
                download_url=page_url(self.settings, job["id"]), expires_at=expires_at), subject=str(job["id"]))
        metrics.PRINT_JOBS.labels("done").inc()

    async def _release(self, job: asyncpg.Record) -> None:
        """Stopping: hand the job back at once, without counting this claim as an attempt."""
        async with self.pool.acquire(timeout=10) as conn:
            await conn.execute(
                """UPDATE print_jobs SET state = 'queued', claim_token = NULL, lease_until = NULL,
                          attempts = greatest(attempts - 1, 0), next_attempt_at = now()
                   WHERE id = $1 AND claim_token = $2 AND state = 'rendering'""", job["id"], job["claim_token"])

    async def _retry_or_give_up(self, job: asyncpg.Record) -> None:
        if job["attempts"] >= self.settings.print_job_max_attempts:
            await self._give_up(job, GAVE_UP)
            return
        metrics.PRINT_JOBS.labels("retried").inc()
        with contextlib.suppress(Exception):
            async with self.pool.acquire(timeout=10) as conn:
                await conn.execute(
                    """UPDATE print_jobs SET state = 'queued', claim_token = NULL, lease_until = NULL, error = $3,
                              next_attempt_at = now() + $4
                       WHERE id = $1 AND claim_token = $2 AND state = 'rendering'""",
                    job["id"], job["claim_token"], RETRY_LATER, retry_delay(job["attempts"]))

    async def _give_up(self, job: asyncpg.Record, reason: str) -> None:
        async with self.pool.acquire(timeout=10) as conn, conn.transaction():
            held = await conn.fetchrow(
                """UPDATE print_jobs SET state = 'failed', error = $3, claim_token = NULL, lease_until = NULL,
                          expires_at = now() + $4
                   WHERE id = $1 AND claim_token = $2 AND state = 'rendering' RETURNING requested_by_email""",
                job["id"], job["claim_token"], reason, self.ttl)
            if held is None:
                return
            await conn.execute("DELETE FROM print_job_chunks WHERE job_id = $1", job["id"])
            await self.outbox.add(conn, PrintJobFailed(
                job_id=job["id"], batch_id=job["batch_id"], school_id=job["school_id"],
                requested_by=job["requested_by"], requested_by_email=held["requested_by_email"], reason=reason,
                page_url=page_url(self.settings, job["id"])), subject=str(job["id"]))
        metrics.PRINT_JOBS.labels("failed").inc()
        log.error("print job failed for good", extra=log_fields(job_id=str(job["id"]), attempts=job["attempts"]))
