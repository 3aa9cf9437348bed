"""The document service: PDFs of part A, part B and the whole dossier, and batches of activation
letters (print jobs). Rendering runs in a process pool; print jobs survive restarts."""
from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator

from aiohttp import web

from services.document import dossier_pdfs, files, print_jobs_http  # noqa: F401  (routes register on import)
from services.document.api import api
from services.document.dossier_pdfs import RENDER_POOL, dossier_client_context
from services.document.print_job_worker import PrintJobWorker
from services.document.print_jobs import record_letters_job
from services.document.render_pool import RenderPool
from services.document.settings import DocumentSettings
from shared import revocations
from shared.app import DB, ServiceSpec, create_app
from shared.consumer import Subscription
from shared.events.envelope import Envelope
from shared.events.dossier_events import DossierErased
from shared.events.identity_events import ActivationLettersRequested
from shared.logs import log_fields
from shared.loops import stop_task
from shared.outbox import Outbox
from shared.periodic import periodic

WORKER = web.AppKey("print_job_worker", PrintJobWorker)
log = logging.getLogger(__name__)


def make_app(settings: DocumentSettings | None = None) -> web.Application:
    settings = settings or DocumentSettings()
    outbox = Outbox("document")

    async def on_letters_requested(conn, env: Envelope, data: ActivationLettersRequested) -> None:
        await record_letters_job(conn, env, data, settings=settings, outbox=outbox)

    async def render_pool(app: web.Application) -> AsyncIterator[None]:
        pool = RenderPool(settings.render_processes)
        await pool.start()
        app[RENDER_POOL] = pool
        yield
        await asyncio.to_thread(pool.close)

    async def print_job_worker(app: web.Application) -> AsyncIterator[None]:
        worker = PrintJobWorker(app[DB], app[RENDER_POOL], settings, outbox, settings.effective_database_url())
        app[WORKER] = worker
        task = asyncio.create_task(worker.run(), name=worker.name)
        yield
        worker.stop()  # the pieces in hand are finished and kept, the job handed back
        await stop_task(task, grace=20)
        await worker.close()

    async def on_dossier_erased(conn, env: Envelope, data: DossierErased) -> None:
        gone = await files.erase_dossier(conn, data.dossier_id)
        log.info("erased dossier's files deleted", extra=log_fields(files=gone))

    async def remove_expired(app: web.Application) -> None:
        await files.remove_expired(app[DB])

    cleanup = periodic("document-cleanup", settings.cleanup_interval_seconds, remove_expired)

    spec = ServiceSpec(
        name="document", api=api, migrations="services.document.migrations",
        subscriptions=[Subscription("identity.activation_letters_requested", on_letters_requested),
                       Subscription("dossier.erased", on_dossier_erased), *revocations.SUBSCRIPTIONS],
        resources=[revocations.honour_access_ended, render_pool, dossier_client_context, print_job_worker, cleanup])
    return create_app(spec, settings)
