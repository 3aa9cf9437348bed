"""From events to deliveries: which mail each event asks for."""
from __future__ import annotations

import asyncpg

from services.notification.deliveries import create_delivery
from shared.consumer import Subscription
from shared.events.catalog import VerificationRequested
from shared.events.envelope import Envelope


async def on_verification_requested(conn: asyncpg.Connection, env: Envelope, data: VerificationRequested) -> None:
    await create_delivery(conn, event_id=env.id, template="verification", recipient=str(data.email),
                          context={"verify_url": data.verify_url, "expires_at": data.expires_at.isoformat()})


SUBSCRIPTIONS = [
    Subscription("identity.verification_requested", on_verification_requested),
]
