"""Print jobs: a batch of activation letters becomes one job, recorded in the consumer's inbox
transaction (rendering happens later, in the worker), and who may see a job.

The codes are kept sealed, as they came in the event (``shared.sealing``), and opened only to
render; the job's content hash is keyed (HMAC), so it cannot be used to guess a letter's code."""
from __future__ import annotations

import uuid
from datetime import timedelta
from math import ceil

import asyncpg

from services.document.rendering import letters as letter_pdf
from services.document.settings import DocumentSettings
from shared.auth import Principal
from shared.events.document_events import PrintJobFailed
from shared.events.envelope import Envelope
from shared.events.identity_events import ActivationLettersRequested
from shared import metrics
from shared.outbox import Outbox
from shared.sealing import Sealed, keyring

STATE_LABELS = {"queued": "In de wachtrij", "rendering": "Bezig met maken", "done": "Klaar", "failed": "Mislukt"}
EMPTY_BATCH = "Deze opdracht bevat geen leerlingen; er is geen brief gemaakt."
PORTAL_PATH = "/afdrukopdrachten/{job_id}"
JOB_COLUMNS = """id, kind, batch_id, school_id, requested_by, state, pages_total, pages_done, chunk_size,
                 attempts, file_id, reused_file, error, created_at, started_at, completed_at, expires_at"""


def page_url(settings: DocumentSettings, job_id: uuid.UUID) -> str:
    """The portal page of a job (no personal data in it: only the job id)."""
    return settings.public_base_url.rstrip("/") + PORTAL_PATH.format(job_id=job_id)


def chunk_count(pages_total: int, chunk_size: int) -> int:
    return ceil(pages_total / chunk_size) if pages_total else 0


def may_see(principal: Principal, job: asyncpg.Record) -> bool:
    """The one who asked, or a counsellor of the same school."""
    if principal.account_id == job["requested_by"]:
        return True
    return principal.role == "counsellor" and principal.school_id is not None \
        and principal.school_id == job["school_id"]


async def record_letters_job(conn: asyncpg.Connection, env: Envelope, data: ActivationLettersRequested, *,
                             settings: DocumentSettings, outbox: Outbox) -> uuid.UUID | None:
    """One job per batch, with its letters in print order; the worker is woken at commit.

    Returns the new job's id, or None when this batch already has a job."""
    ordered = letter_pdf.print_order([l.model_dump(mode="json") for l in data.letters])  # codes sealed
    clear = [{**l, "code": Sealed.of(l["code"]).reveal()} for l in ordered]
    digest = "letters:" + keyring().mac(letter_pdf.content_hash(
        school_name=data.school_name, register_url=data.register_url, expires_on=data.expires_at,
        letters=clear).encode(), "document-content-hash")
    del clear
    job_id = uuid.uuid4()
    inserted = await conn.fetchval(
        """INSERT INTO print_jobs (id, batch_id, school_id, requested_by, requested_by_email, school_name,
                                   register_url, code_expires_on, content_hash, pages_total, chunk_size)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (batch_id) DO NOTHING RETURNING id""",
        job_id, data.batch_id, data.school_id, data.requested_by, str(data.requested_by_email), data.school_name,
        data.register_url, data.expires_at, digest, len(ordered), settings.letters_chunk_size)
    if inserted is None:
        return None
    metrics.PRINT_JOBS.labels("queued").inc()
    if not ordered:
        await conn.execute(
            """UPDATE print_jobs SET state = 'failed', error = $2, expires_at = now() + $3 WHERE id = $1""",
            job_id, EMPTY_BATCH, timedelta(hours=settings.file_ttl_hours))
        await outbox.add(conn, PrintJobFailed(
            job_id=job_id, batch_id=data.batch_id, school_id=data.school_id, requested_by=data.requested_by,
            requested_by_email=data.requested_by_email, reason=EMPTY_BATCH, page_url=page_url(settings, job_id)),
            subject=str(job_id))
        metrics.PRINT_JOBS.labels("failed").inc()
        return job_id
    await conn.copy_records_to_table(
        "print_job_letters", columns=["job_id", "seq", "student_id", "student_name", "class_name", "code"],
        records=[(job_id, seq, uuid.UUID(str(l["student_id"])), l["student_name"], l["class_name"], l["code"])
                 for seq, l in enumerate(ordered)])
    await conn.execute("NOTIFY print_jobs")
    return job_id


async def get_job(conn: asyncpg.Connection, job_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {JOB_COLUMNS} FROM print_jobs WHERE id = $1", job_id)


async def list_jobs(conn: asyncpg.Connection, principal: Principal, *, batch_id: uuid.UUID | None,
                    limit: int = 50) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {JOB_COLUMNS} FROM print_jobs
            WHERE (requested_by = $1 OR ($2 AND school_id = $3))
              AND ($4::uuid IS NULL OR batch_id = $4)
            ORDER BY created_at DESC LIMIT $5""",
        principal.account_id, principal.role == "counsellor", principal.school_id, batch_id, limit)


async def requeue_failed(conn: asyncpg.Connection, job_id: uuid.UUID) -> bool:
    """Try a failed job again (its letters are kept until it expires)."""
    requeued = await conn.fetchval(
        """UPDATE print_jobs SET state = 'queued', attempts = 0, error = NULL, next_attempt_at = now(),
                  expires_at = NULL
           WHERE id = $1 AND state = 'failed' AND pages_total > 0
             AND EXISTS (SELECT 1 FROM print_job_letters WHERE job_id = $1)
           RETURNING true""", job_id)
    if requeued:
        await conn.execute("NOTIFY print_jobs")
    return bool(requeued)
