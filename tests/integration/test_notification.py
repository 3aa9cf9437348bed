"""Notification: events become deliveries once; SMTP 4xx is retried, 5xx recorded as failed."""
from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from services.notification.app import WORKER, make_app
from services.notification.settings import NotificationSettings
from shared.app import CONSUMER, DB
from shared.devtools.smtp_sink import SmtpSink
from shared.events.envelope import Envelope
from tests.support.apps import serve, settings
from tests.support.events import sample_event


def _envelope(email: str) -> Envelope:
    data = sample_event().model_copy(update={"email": email})
    return Envelope(source="/test", type="identity.verification_requested", data=data.model_dump(mode="json"))


async def _delivery(pool, email):
    async with pool.acquire() as conn:
        return await conn.fetchrow("SELECT * FROM deliveries WHERE recipient = $1", email)


async def test_event_handled_twice_makes_one_mail_with_dutch_text(unique):
    async with SmtpSink() as sink:
        app = make_app(settings(NotificationSettings, f"notif_dup_{unique}", smtp_port=sink.port,
                                event_exchange=f"ex.{unique}"))
        async with serve(app):
            consumer = app[CONSUMER]
            env = _envelope(f"dubbel-{unique}@example.nl")
            assert await consumer.process(env) is True
            assert await consumer.process(env) is False  # redelivered: no second delivery
            [mail] = await sink.wait_for(1)
            await asyncio.sleep(0.5)
            assert len(sink.messages) == 1
            assert mail["Subject"] == "Bevestig je e-mailadres voor Doorstroom"
            body = mail.get_body().get_content()
            assert "http://localhost/v" in body and "Met vriendelijke groet" in body
            row = await _delivery(app[DB], f"dubbel-{unique}@example.nl")
            assert row["status"] == "sent" and row["sent_at"] is not None
            assert row["context"] == {}, "what the mail said (links, codes) is not kept once it is sent"


async def test_smtp_4xx_is_retried_and_5xx_is_recorded_as_failed(unique):
    async with SmtpSink() as sink:
        app = make_app(settings(NotificationSettings, f"notif_fail_{unique}", smtp_port=sink.port,
                                delivery_max_attempts=3, delivery_poll_seconds=60,
                                event_exchange=f"ex.{unique}"))
        async with serve(app):
            worker = app[WORKER]
            worker.stop()  # drive the worker by hand in this test
            pool = app[DB]
            temp, perm, good = (f"tempfail-{unique}@example.nl", f"reject-{unique}@example.nl",
                                f"goed-{unique}@example.nl")
            for email in (temp, perm, good):
                await app[CONSUMER].process(_envelope(email))
            while await worker.run_once():
                pass
            t, p, g = [await _delivery(pool, e) for e in (temp, perm, good)]
            assert g["status"] == "sent"
            assert p["status"] == "failed" and p["last_error"].startswith("550") and p["attempts"] == 1
            assert t["status"] == "pending" and t["last_error"].startswith("451") and t["attempts"] == 1
            assert t["next_attempt_at"] - t["created_at"] >= timedelta(seconds=50), "retried later, not at once"

            async with pool.acquire() as conn:  # time passes
                await conn.execute("UPDATE deliveries SET next_attempt_at = now() WHERE status = 'pending'")
            assert await worker.run_once() == 1
            t = await _delivery(pool, temp)
            assert t["status"] == "pending" and t["attempts"] == 2

            async with pool.acquire() as conn:
                await conn.execute("UPDATE deliveries SET next_attempt_at = now() WHERE status = 'pending'")
            assert await worker.run_once() == 1
            t = await _delivery(pool, temp)
            assert t["status"] == "failed" and t["attempts"] == 3 and "opgegeven" in t["last_error"]
            assert await worker.run_once() == 0, "failed deliveries are not retried forever"
            assert [m["To"] for m in sink.messages] == [good]
            assert t["context"] == {} and (await _delivery(pool, perm))["context"] == {}

            # after the retention, sent and failed rows go; a pending one stays
            async with pool.acquire() as conn:
                await conn.execute("UPDATE deliveries SET created_at = now() - interval '31 days'")
                await conn.execute("UPDATE deliveries SET status = 'pending' WHERE recipient = $1", temp)
            assert await worker.housekeeping() == 2
            assert [r["recipient"] for r in await pool.fetch("SELECT recipient FROM deliveries")] == [temp]


async def test_smtp_server_down_is_a_temporary_failure(unique):
    from tests.support.apps import free_port
    app = make_app(settings(NotificationSettings, f"notif_down_{unique}", smtp_port=free_port(),
                            delivery_poll_seconds=60, event_exchange=f"ex.{unique}"))
    async with serve(app):
        app[WORKER].stop()
        await app[CONSUMER].process(_envelope(f"x-{unique}@example.nl"))
        assert await app[WORKER].run_once() == 1
        row = await _delivery(app[DB], f"x-{unique}@example.nl")
        assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"]
