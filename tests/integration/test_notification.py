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
            worker.pause()  # drive the worker by hand in this test
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
        app[WORKER].pause()
        await app[CONSUMER].process(_envelope(f"x-{unique}@example.nl"))
        assert await app[WORKER].run_once() == 1
        row = await _delivery(app[DB], f"x-{unique}@example.nl")
        assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"]


async def test_every_kind_of_failure_ends_failed_with_its_kind_and_reason(unique):
    """A mail that cannot be made fails at once; one whose sending keeps killing the process (its
    claims keep running out) fails after as many claims as attempts; 5xx at once; all visible in
    the stats (kinds only) and, for the platform administrator, in the listing (addresses masked)."""
    from services.notification.deliveries import create_delivery
    from tests.support.auth import token_issuer

    async with SmtpSink() as sink, token_issuer() as issuer:
        app = make_app(settings(NotificationSettings, f"notif_kinds_{unique}", smtp_port=sink.port,
                                delivery_max_attempts=3, delivery_poll_seconds=60, auth_jwks_url=issuer.jwks_url,
                                event_exchange=f"ex.{unique}"))
        async with serve(app) as client:
            worker = app[WORKER]
            worker.pause()
            pool = app[DB]
            async with pool.acquire() as conn, conn.transaction():
                # a header-unsafe address (a newline) and a template whose context lacks a field
                await create_delivery(conn, event_id=uuid.uuid4(), template="verification",
                                      recipient=f"bad\nBcc: x@evil.example-{unique}@example.nl", context={})
                await create_delivery(conn, event_id=uuid.uuid4(), template="verification",
                                      recipient=f"leeg-{unique}@example.nl", context={})
                await create_delivery(conn, event_id=uuid.uuid4(), template="verification",
                                      recipient=f"reject-{unique}@example.nl",
                                      context=_envelope("x@example.nl").data)
                await create_delivery(conn, event_id=uuid.uuid4(), template="verification",
                                      recipient=f"crash-{unique}@example.nl",
                                      context=_envelope("x@example.nl").data)
                # as if three processes died while sending it: claimed three times, never recorded
                await conn.execute("""UPDATE deliveries SET status = 'sending', attempts = 3,
                                      lease_until = now() - interval '1 second', claim_token = gen_random_uuid()
                                      WHERE recipient = $1""", f"crash-{unique}@example.nl")
            while await worker.run_once():
                pass
            rows = {r["recipient"].split("-")[0]: r for r in await pool.fetch("SELECT * FROM deliveries")}
            assert all(r["status"] == "failed" for r in rows.values()), rows
            assert rows["bad\nbcc: x@evil.example"]["error_kind"] == "unbuildable"
            assert rows["leeg"]["error_kind"] == "unbuildable" and "sjabloon" in rows["leeg"]["last_error"]
            assert rows["reject"]["error_kind"] == "smtp_rejected" and rows["reject"]["attempts"] == 1
            assert rows["crash"]["error_kind"] == "crashed" and "brak steeds af" in rows["crash"]["last_error"]
            assert sink.messages == [], "nothing was sent, least of all with an injected header"

            assert (await client.get("/v1/deliveries/stats")).status == 401
            assert (await client.get("/v1/deliveries/stats", headers=issuer.headers("counsellor"))).status == 403
            stats = await (await client.get("/v1/deliveries/stats", headers=issuer.headers("admin"))).json()
            assert stats["counts"]["failed"] == 4
            assert stats["failed_by_kind"] == {"unbuildable": 2, "smtp_rejected": 1, "crashed": 1}
            assert "@" not in str(stats)

            assert (await client.get("/v1/deliveries/failed")).status == 401
            assert (await client.get("/v1/deliveries/failed", headers=issuer.headers("mentor"))).status == 403
            r = await client.get("/v1/deliveries/failed", headers=issuer.headers("admin"))
            items = (await r.json())["items"]
            assert r.status == 200 and len(items) == 4
            assert {i["recipient"] for i in items} >= {"l***@example.nl", "r***@example.nl", "c***@example.nl"}
            assert all(i["error"] and i["error_kind_label"] for i in items)
            r = await client.get("/v1/deliveries/failed?limit=0", headers=issuer.headers("admin"))
            assert r.status == 422


async def test_the_message_id_is_made_from_the_delivery_alone(unique):
    async with SmtpSink() as sink:
        app = make_app(settings(NotificationSettings, f"notif_mid_{unique}", smtp_port=sink.port,
                                smtp_from="Doorstroom <noreply@school.example>", event_exchange=f"ex.{unique}"))
        async with serve(app):
            await app[CONSUMER].process(_envelope(f"mid-{unique}@example.nl"))
            [mail] = await sink.wait_for(1)
            row = await _delivery(app[DB], f"mid-{unique}@example.nl")
            assert mail["Message-ID"] == f"<{row['id']}@school.example>"


async def test_a_subject_with_control_characters_never_reaches_a_header(unique):
    """A name with a newline that got into a mail's subject (older data, say) is flattened."""
    from services.notification.smtp import SmtpPool
    from services.notification.templates import Mail
    from email import message_from_bytes, policy
    pool = SmtpPool(NotificationSettings())
    subject = Mail(subject="Deel A van Roos\r\nBcc: x@evil.example", body="x")
    plain = pool.build("a@example.nl", subject, uuid.uuid4())  # written as bytes
    other = pool.build('"roos winter"@example.nl', subject, uuid.uuid4())  # through the email package
    assert plain.data is not None and other.message is not None
    for msg in (message_from_bytes(plain.data, policy=policy.default), other.message):
        assert msg["Subject"] == "Deel A van Roos Bcc: x@evil.example"
        assert "Bcc" not in msg.keys()


async def test_a_mail_written_as_bytes_reads_as_the_email_package_writes_it(unique):
    """Both ways of making a mail (bytes for a plain address, the email package for any other)
    give the same headers and text to a reader: non-ASCII subjects and bodies, long lines, dots."""
    from email import message_from_bytes, policy
    from services.notification.smtp import SmtpPool
    from services.notification.templates import Mail
    pool = SmtpPool(NotificationSettings(smtp_from="Doorstroom Zuid-Holland <noreply@school.example>"))
    mail = Mail(subject="Deel A van Roos Hoenderloo–de Vries is klaar: ga verder met deel B van het doorstroomdossier",
                body="Beste mentor,\n\nRoos (klas 4B) heeft deel A ingevuld. Café één.\n.\n" + "x" * 200 + "\n")
    delivery = uuid.uuid4()
    fast = message_from_bytes(pool.build("mentor@school.example", mail, delivery).data, policy=policy.default)
    slow = message_from_bytes(pool._build_message("mentor@school.example", mail, delivery).as_bytes(policy=policy.SMTP),
                              policy=policy.default)  # as it goes over the wire
    for name in ("From", "To", "Subject", "Message-ID", "Auto-Submitted"):
        assert fast[name] == slow[name], name
    assert fast.get_content_type() == "text/plain" and fast.get_content_charset() == "utf-8"
    assert fast.get_content() == slow.get_content() == mail.body.replace("\n", "\r\n")
    assert all(len(line) <= 78 for line in pool.build("mentor@school.example", mail, delivery).data.split(b"\r\n"))


async def test_the_owner_of_a_released_bsn_claim_gets_a_mail(unique):
    from datetime import UTC, datetime

    from shared.events.identity_events import BsnClaimReleased
    async with SmtpSink() as sink:
        app = make_app(settings(NotificationSettings, f"notif_released_{unique}", smtp_port=sink.port,
                                event_exchange=f"ex.{unique}"))
        async with serve(app):
            data = BsnClaimReleased(account_id=uuid.uuid4(), email=f"kaper-{unique}@example.nl",
                                    released_at=datetime(2026, 11, 30, 13, 5, tzinfo=UTC),
                                    login_url="https://portaal.example.nl/inloggen")
            await app[CONSUMER].process(Envelope(source="/doorstroom/identity", type="identity.bsn_claim_released",
                                                 data=data.model_dump(mode="json")))
            [mail] = await sink.wait_for(1)
            body = mail.get_body().get_content()
            assert mail["Subject"] == "Je account bij Doorstroom is niet meer aan een leerling gekoppeld"
            assert "30-11-2026 om 14:05" in body and "https://portaal.example.nl/inloggen" in body
            assert "mentor of decaan" in body
