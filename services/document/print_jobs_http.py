"""HTTP: the state of a print job (queued / rendering with progress / done / failed) and its PDF,
for the counsellor or mentor who asked for it and the counsellors of the same school."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field

from services.document import files
from services.document.api import api, pdf_response
from services.document.print_jobs import STATE_LABELS, get_job, list_jobs, may_see, requeue_failed
from shared.api import Query, json_response, read_query
from shared.app import DB
from shared.auth import Principal, require
from shared.problems import Problem

STAFF = ("counsellor", "mentor")
NOT_FOUND = "Deze afdrukopdracht bestaat niet (meer) of is niet van jou."


class PrintJob(BaseModel):
    id: uuid.UUID
    kind: Literal["activation_letters"]
    batch_id: uuid.UUID
    state: Literal["queued", "rendering", "done", "failed"]
    state_label: str = Field(description="de toestand in het Nederlands")
    pages_total: int
    pages_done: int
    progress: int = Field(description="procent gereed, 0-100")
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime | None = Field(description="tot wanneer de PDF te downloaden is")
    error: str | None
    download_path: str | None = Field(description="waar de PDF te downloaden is, zodra hij klaar is")


class PrintJobList(BaseModel):
    items: list[PrintJob]


class PrintJobQuery(Query):
    batch_id: uuid.UUID | None = Field(None, description="only the jobs of this batch (from the activation codes' answer)")


def as_model(job: asyncpg.Record) -> PrintJob:
    total, done = job["pages_total"], job["pages_done"]
    ready = job["state"] == "done" and job["file_id"] is not None
    return PrintJob(
        id=job["id"], kind=job["kind"], batch_id=job["batch_id"], state=job["state"],
        state_label=STATE_LABELS[job["state"]], pages_total=total, pages_done=done,
        progress=100 if job["state"] == "done" else (done * 100 // total if total else 0),
        created_at=job["created_at"], started_at=job["started_at"], completed_at=job["completed_at"],
        expires_at=job["expires_at"], error=job["error"],
        download_path=f"/v1/print-jobs/{job['id']}/pdf" if ready else None)


def _uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise Problem(404, NOT_FOUND) from None


async def _visible_job(request: web.Request) -> tuple[Principal, asyncpg.Record]:
    principal = await require(request, *STAFF)
    job_id = _uuid(request.match_info["job_id"])
    async with request.app[DB].acquire(timeout=10) as conn:
        job = await get_job(conn, job_id)
    if job is None or not may_see(principal, job):
        raise Problem(404, NOT_FOUND)
    return principal, job


@api.route("GET", "/v1/print-jobs", summary="Mijn afdrukopdrachten (nieuwste eerst); ?batch_id= voor één batch",
           response=PrintJobList, auth=True, tags=("afdrukopdrachten",), query=PrintJobQuery)
async def list_print_jobs(request: web.Request) -> web.Response:
    principal = await require(request, *STAFF)
    query = read_query(request, PrintJobQuery)
    async with request.app[DB].acquire(timeout=10) as conn:
        rows = await list_jobs(conn, principal, batch_id=query.batch_id)
    return json_response(PrintJobList(items=[as_model(r) for r in rows]))


@api.route("GET", "/v1/print-jobs/{job_id}", summary="De toestand van een afdrukopdracht, met voortgang",
           response=PrintJob, auth=True, tags=("afdrukopdrachten",))
async def get_print_job(request: web.Request) -> web.Response:
    _, job = await _visible_job(request)
    return json_response(as_model(job))


@api.route("GET", "/v1/print-jobs/{job_id}/pdf", summary="De PDF met de brieven (alleen voor wie hem aanvroeg)",
           auth=True, tags=("afdrukopdrachten",), produces="application/pdf", statuses=(409, 410))
async def download_print_job(request: web.Request) -> web.Response:
    _, job = await _visible_job(request)
    if job["state"] != "done":
        raise Problem(409, "De brieven zijn nog niet klaar. Probeer het straks opnieuw.", code="not-ready",
                      state=job["state"])
    async with request.app[DB].acquire(timeout=10) as conn:
        data = await files.read(conn, job["file_id"]) if job["file_id"] else None
    if data is None:
        raise Problem(410, "Deze PDF is verlopen en verwijderd. Vraag de brieven opnieuw aan.", code="expired")
    return pdf_response(data, "activatiebrieven.pdf", attachment=True)


@api.route("POST", "/v1/print-jobs/{job_id}/retry", summary="Een mislukte afdrukopdracht opnieuw proberen",
           response=PrintJob, status=202, auth=True, tags=("afdrukopdrachten",), statuses=(409,))
async def retry_print_job(request: web.Request) -> web.Response:
    _, job = await _visible_job(request)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        requeued = await requeue_failed(conn, job["id"])
        fresh = await get_job(conn, job["id"])
    if not requeued:
        raise Problem(409, "Alleen een mislukte afdrukopdracht kan opnieuw worden geprobeerd.", code="not-failed",
                      state=job["state"])
    return json_response(as_model(fresh), status=202)
