"""From identity's event to the counsellor's mail: the letters are rendered, the completed event
goes through the outbox and the broker to notification, which mails a Dutch message with the
link to the portal's download page (and no activation codes)."""
from __future__ import annotations

import asyncio
import uuid

from services.document.app import make_app as make_document
from services.document.settings import DocumentSettings
from services.notification.app import make_app as make_notification
from services.notification.settings import NotificationSettings
from shared.devtools.smtp_sink import SmtpSink
from tests.integration.document.letters import envelope, job_of_batch, letters_batch
from tests.support import env
from tests.support.apps import serve, settings
from tests.support.auth import token_issuer
from tests.support.events import broker


async def test_the_requester_gets_a_dutch_mail_with_the_download_link(unique):
    exchange = env.run_exchange(f"docmail{unique}")
    async with SmtpSink() as sink, token_issuer() as issuer, broker(exchange) as bus:
        notification = make_notification(settings(NotificationSettings, f"docmail_no_{unique}", smtp_port=sink.port,
                                                  event_exchange=exchange, delivery_poll_seconds=0.2))
        document = make_document(settings(DocumentSettings, f"docmail_do_{unique}", event_exchange=exchange,
                                          auth_jwks_url=issuer.jwks_url, render_processes=1,
                                          public_base_url="https://portaal.example.nl/"))
        async with serve(notification), serve(document) as client:
            counsellor = uuid.uuid4()
            email = f"decaan-{unique}@school.example.nl"
            data = letters_batch(3, requested_by=counsellor, email=email)
            event = envelope(data)
            await bus.publish(event.type, event.model_dump_json().encode(), message_id=str(event.id))
            [mail] = await sink.wait_for(1, timeout=30)
            job = await job_of_batch(client, "", issuer.headers("counsellor", account_id=counsellor), data.batch_id)
            assert mail["To"] == email
            assert mail["Subject"] == "De activatiebrieven staan klaar"
            body = mail.get_body().get_content()
            assert f"https://portaal.example.nl/afdrukopdrachten/{job['id']}" in body
            assert "3 brieven" in body and "gesorteerd op klas en naam" in body
            assert not any(letter.code.reveal() in body for letter in data.letters)
            await asyncio.sleep(0.5)
            assert len(sink.messages) == 1
