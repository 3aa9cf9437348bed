"""Document's HTTP API as the portal uses it: PDFs of a dossier and activation-letter print jobs."""
from __future__ import annotations

from aiohttp import web

from services.portal.backend import Reply, call, get_json

PARTS = {"a": "a", "b": "b", "alles": "all"}


async def dossier_pdf(request: web.Request, dossier_id: str, part: str) -> Reply:
    return await call(request, "document", "GET", f"/v1/dossiers/{dossier_id}/pdf", params={"part": PARTS[part]})


async def jobs_of_batch(request: web.Request, batch_id: str) -> list[dict]:
    return (await get_json(request, "document", "/v1/print-jobs", params={"batch_id": batch_id})).get("items", [])


async def job(request: web.Request, job_id: str) -> dict:
    return await get_json(request, "document", f"/v1/print-jobs/{job_id}")


async def job_pdf(request: web.Request, job_id: str) -> Reply:
    return await call(request, "document", "GET", f"/v1/print-jobs/{job_id}/pdf")
