"""HTTP: part A, part B or the whole dossier as a PDF.

Who may see what is decided in one place, the dossier service: the caller's Authorization header
goes along unchanged to ``GET {DOSSIER_URL}/v1/dossiers/{id}?purpose=pdf`` (which also counts the
rendering as a view in the dossier's audit). Its 401 stays 401; 403 and 404 both become 404, so
nothing tells whether a dossier exists. Identical content is rendered once (content hash).
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, AsyncIterator, Literal

import aiohttp
from aiohttp import web
from pydantic import Field

from services.document import files
from services.document.api import api, pdf_response
from services.document.render_pool import RenderPool, RenderUnavailable
from services.document.rendering.dossier_layout import (FormNotFound, PartNotAvailable, content_hash,
                                                        dossier_document, render_document)
from services.document.settings import DocumentSettings
from shared.api import Query, read_query
from shared.app import DB, SETTINGS
from shared.auth import require
from shared.logs import log_fields, request_id_var
from shared.problems import Problem

log = logging.getLogger(__name__)

NOT_FOUND = "Dit dossier bestaat niet of je hebt er geen toegang toe."
UNAVAILABLE = "Het dossier kan nu niet worden opgehaald. Probeer het zo opnieuw."
FILENAMES = {"a": "doorstroomdossier-deel-a.pdf", "b": "doorstroomdossier-deel-b.pdf", "all": "doorstroomdossier.pdf"}


class DossierClient:
    """Fetches a dossier from the dossier service on behalf of the caller."""

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_seconds))

    async def close(self) -> None:
        await self._session.close()

    async def fetch(self, dossier_id: uuid.UUID, authorization: str) -> dict[str, Any]:
        headers = {"Authorization": authorization, "Accept": "application/json"}
        if rid := request_id_var.get():
            headers["X-Request-ID"] = rid
        try:
            async with self._session.get(f"{self.base_url}/v1/dossiers/{dossier_id}", params={"purpose": "pdf"},
                                         headers=headers) as response:
                if response.status == 200:
                    body = await response.json(content_type=None)
                    if isinstance(body, dict):
                        return body
                    raise Problem(503, UNAVAILABLE)
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            log.warning("dossier service not reachable", extra=log_fields(error=repr(exc)[:200]))
            raise Problem(503, UNAVAILABLE) from None
        if status == 401:
            raise Problem(401, "Je bent niet (meer) ingelogd. Log opnieuw in.", code="not-authenticated",
                          headers={"WWW-Authenticate": "Bearer"})
        if status in (400, 403, 404, 410, 422):
            raise Problem(404, NOT_FOUND)
        log.warning("dossier service answered unexpectedly", extra=log_fields(status=status))
        raise Problem(503, UNAVAILABLE)


class PdfQuery(Query):
    part: Literal["a", "b", "all"] = Field("all", description="a: deel A, b: deel B, all: het hele dossier")


DOSSIER_CLIENT = web.AppKey("dossier_client", DossierClient)
# "client": a machine client of an MBO institution (issue 12); the dossier service lets it see its
# institution's completed dossiers with scope dossiers:read, as the institution's MBO staff
DOSSIER_READERS = ("student", "mentor", "counsellor", "mbo_staff", "client")
RENDER_POOL = web.AppKey("render_pool", RenderPool)


async def dossier_client_context(app: web.Application) -> AsyncIterator[None]:
    settings: DocumentSettings = app[SETTINGS]  # type: ignore[assignment]
    client = DossierClient(settings.dossier_url, settings.dossier_timeout_seconds)
    app[DOSSIER_CLIENT] = client
    yield
    await client.close()


@api.route("GET", "/v1/dossiers/{dossier_id}/pdf",
           summary="Deel A (?part=a), deel B (?part=b) of het hele dossier (?part=all) als PDF",
           auth=True, tags=("dossiers",), query=PdfQuery, produces="application/pdf", statuses=(409,))
async def dossier_pdf(request: web.Request) -> web.Response:
    # 401 for a missing or bad token, 403 for a role that never sees dossiers; the dossier service
    # decides the rest (which dossiers this caller may see)
    await require(request, *DOSSIER_READERS)
    part = read_query(request, PdfQuery).part
    try:
        dossier_id = uuid.UUID(request.match_info["dossier_id"])
    except ValueError:
        raise Problem(404, NOT_FOUND) from None
    dossier = await request.app[DOSSIER_CLIENT].fetch(dossier_id, request.headers["Authorization"])
    try:
        document = dossier_document(dossier, part)  # type: ignore[arg-type]
    except PartNotAvailable as exc:
        raise Problem(409, exc.message, code="part-not-available") from None
    except FormNotFound as exc:
        raise Problem(409, str(exc), code="form-not-found") from None
    settings: DocumentSettings = request.app[SETTINGS]  # type: ignore[assignment]
    ttl = timedelta(hours=settings.file_ttl_hours)
    digest = content_hash(document)
    async with request.app[DB].acquire(timeout=10) as conn:
        existing = await files.find(conn, digest, ttl)
        data = await files.read(conn, existing["id"]) if existing else None
    if data is None:
        try:
            data = await request.app[RENDER_POOL].run(render_document, document, datetime.now(UTC))
        except RenderUnavailable:
            raise Problem(503, "De PDF kan nu niet worden gemaakt. Probeer het zo opnieuw.") from None
        async with request.app[DB].acquire(timeout=10) as conn:
            await files.store(conn, content_hash=digest, kind="dossier", pages=None, data=data, ttl=ttl,
                              dossier_id=dossier_id)
    return pdf_response(data, FILENAMES[part], attachment=False)
