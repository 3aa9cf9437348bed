"""Mails for the document service's events: the activation letters are ready (or could not be made)."""
from __future__ import annotations

import asyncpg

from services.notification.deliveries import create_delivery
from services.notification.templates import SIGNATURE, Mail, template, when
from shared.consumer import Subscription
from shared.events.document_events import PrintJobCompleted, PrintJobFailed
from shared.events.envelope import Envelope


@template("print_job_completed")
def print_job_completed(ctx: dict) -> Mail:
    pages = int(ctx["pages"])
    count = "1 brief" if pages == 1 else f"{pages} brieven"
    return Mail(
        subject="De activatiebrieven staan klaar",
        body=("Beste decaan of mentor,\n\n"
              f"De activatiebrieven die u heeft aangevraagd zijn klaar: {count}, één leerling per pagina, "
              "gesorteerd op klas en naam. U kunt de PDF downloaden en printen via:\n\n"
              f"{ctx['download_url']}\n\n"
              f"De PDF staat klaar tot {when(ctx['expires_at'])}; daarna wordt hij verwijderd. "
              "De brieven bevatten persoonlijke activatiecodes: deel ze alleen uit aan de leerlingen zelf."
              + SIGNATURE))


@template("print_job_failed")
def print_job_failed(ctx: dict) -> Mail:
    return Mail(
        subject="De activatiebrieven konden niet worden gemaakt",
        body=("Beste decaan of mentor,\n\n"
              f"{ctx['reason']}\n\n"
              "Op deze pagina ziet u de opdracht en kunt u het opnieuw proberen:\n\n"
              f"{ctx['page_url']}" + SIGNATURE))


async def on_print_job_completed(conn: asyncpg.Connection, env: Envelope, data: PrintJobCompleted) -> None:
    await create_delivery(conn, event_id=env.id, template="print_job_completed",
                          recipient=str(data.requested_by_email),
                          context={"pages": data.pages, "download_url": data.download_url,
                                   "expires_at": data.expires_at.isoformat()})


async def on_print_job_failed(conn: asyncpg.Connection, env: Envelope, data: PrintJobFailed) -> None:
    await create_delivery(conn, event_id=env.id, template="print_job_failed",
                          recipient=str(data.requested_by_email),
                          context={"reason": data.reason, "page_url": data.page_url})


SUBSCRIPTIONS = [
    Subscription("document.print_job_completed", on_print_job_completed),
    Subscription("document.print_job_failed", on_print_job_failed),
]
