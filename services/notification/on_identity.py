"""Mails for identity's events."""
from __future__ import annotations

import asyncpg

from services.notification.deliveries import create_delivery
from services.notification.templates import SIGNATURE, Mail, template, when
from shared.consumer import Subscription
from shared.events.envelope import Envelope
from shared.events.identity_events import VerificationRequested


@template("verification")
def verification(ctx: dict) -> Mail:
    return Mail(
        subject="Bevestig je e-mailadres voor Doorstroom",
        body=("Hallo,\n\nJe hebt een account aangemaakt voor het digitaal doorstroomdossier. "
              "Klik op de link hieronder om je e-mailadres te bevestigen en een wachtwoord te kiezen:\n\n"
              f"{ctx['verify_url']}\n\n"
              f"De link werkt één keer en is geldig tot {when(ctx['expires_at'])}. "
              "Heb je dit niet zelf aangevraagd? Dan kun je deze e-mail negeren." + SIGNATURE))


async def on_verification_requested(conn: asyncpg.Connection, env: Envelope, data: VerificationRequested) -> None:
    await create_delivery(conn, event_id=env.id, template="verification", recipient=str(data.email),
                          context={"verify_url": data.verify_url, "expires_at": data.expires_at.isoformat()})


SUBSCRIPTIONS = [
    Subscription("identity.verification_requested", on_verification_requested),
]
