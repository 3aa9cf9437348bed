"""Sealed event fields at rest (issue 10), against real PostgreSQL, RabbitMQ and an SMTP sink: the
outbox and the broker hold links only sealed and a published row is scrubbed; the notification
service keeps them sealed in a waiting mail and opens them only to build it, also after a key
rotation; the dossier service keeps its parent-link key sealed."""
from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

from services.notification.app import WORKER, make_app
from services.notification.settings import NotificationSettings
from shared import db
from shared.app import CONSUMER, DB
from shared.bus import QueueTopology
from shared.consumer import Consumer, Subscription
from shared.devtools.smtp_sink import SmtpSink
from shared.events.dossier_events import ParentReviewRequested
from shared.events.envelope import Envelope
from shared.events.identity_events import ActivationCodeIssued, StaffInvited, VerificationRequested
from shared.events.registry import event_type_of
from shared.outbox import Outbox, OutboxRelay
from shared.sealing import Keyring, SealError, using
from tests.support import env
from tests.support.apps import serve, settings
from tests.support.events import Probe, broker, database

TOKEN = "Vm9vcmJlZWxkLXRva2VuLWRhdC1uaWV0LW1hZy1ydXN0ZW4"


def _verification(email: str, token: str = TOKEN) -> VerificationRequested:
    return VerificationRequested(verification_id=uuid.uuid4(), email=email,
                                 verify_url=f"https://portaal.example.nl/account/verifieren?token={token}",
                                 expires_at=datetime.now(UTC) + timedelta(days=2))


def _envelope(payload) -> Envelope:
    et = event_type_of(payload)
    return Envelope(source="/test", type=et.name, data=payload.model_dump(mode="json"))


async def test_the_outbox_and_the_broker_hold_links_sealed_and_a_published_row_is_scrubbed(unique):
    async with database(f"seal_outbox_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        probe = await Probe.bind(b, "identity.#")
        outbox = Outbox("test")
        async with pool.acquire() as conn, conn.transaction():
            await outbox.add(conn, _verification("roos@example.nl"))
        async with pool.acquire() as conn:
            stored = json.dumps(await conn.fetchval("SELECT envelope FROM outbox"))
        assert TOKEN not in stored and "sealed:v1:" in stored, "sealed from the first write on"

        relay = OutboxRelay(pool, b, dsn, scrub_after=timedelta(0))
        assert await relay.drain() == 1
        [received] = await probe.wait_for(1)
        assert TOKEN not in json.dumps(received), "what a queue, the archive or a parked message holds"
        data = VerificationRequested.model_validate(received["data"])
        assert data.verify_url.reveal().endswith(TOKEN), "Doorstroom's own consumers open it"

        async with pool.acquire() as conn, conn.transaction():  # one not published yet keeps it
            waiting = await outbox.add(conn, _verification("sem@example.nl", token="nog-niet-verstuurd-" + TOKEN))
        await relay.housekeeping()
        async with pool.acquire() as conn:
            rows = {r["event_id"]: r["envelope"] for r in await conn.fetch("SELECT event_id, envelope FROM outbox")}
        published = next(e for i, e in rows.items() if i != waiting.id)
        assert published["data"]["verify_url"] == "sealed:scrubbed" and published["data"]["email"] == "roos@example.nl"
        assert rows[waiting.id]["data"]["verify_url"].startswith("sealed:v1:"), "a pending row must still deliver"
        assert VerificationRequested.model_validate(published["data"]).verify_url.scrubbed


async def test_a_parked_message_holds_the_link_sealed_also_in_its_error(unique):
    async with database(f"seal_parked_{unique}") as (pool, dsn), broker(f"ex.{unique}") as b:
        async def handler(conn, envelope, data):
            raise RuntimeError(f"kapot: {data!r} {data.verify_url}")  # even an error that shows the payload

        consumer = Consumer("sealpark", b, pool, [Subscription("identity.verification_requested", handler)],
                            retry_delays_ms=(100,))
        await consumer.start()
        try:
            async with pool.acquire() as conn, conn.transaction():
                await Outbox("test").add(conn, _verification("roos@example.nl"))
            await OutboxRelay(pool, b, dsn).drain()
            parked = QueueTopology(f"ex.{unique}", "sealpark", (), ()).parked
            channel = await b.connection.channel()
            queue = await channel.declare_queue(parked, passive=True)
            deadline = asyncio.get_running_loop().time() + 15
            while (message := await queue.get(no_ack=False, fail=False)) is None:
                assert asyncio.get_running_loop().time() < deadline, "the message was not parked"
                await asyncio.sleep(0.1)
            error = str(message.headers["x-error"])
            assert "kapot" in error and "Sealed(***)" in error
            assert TOKEN not in message.body.decode() + repr(message.headers)
            await message.nack(requeue=True)
            await channel.close()
        finally:
            await consumer.stop()


async def test_a_waiting_mail_keeps_links_and_codes_sealed_and_the_mail_has_them_in_clear(unique):
    old_key = os.urandom(32)
    sealed_with_old = Keyring(old_key)
    async with SmtpSink() as sink:
        app = make_app(settings(NotificationSettings, f"seal_notif_{unique}", smtp_port=sink.port,
                                delivery_poll_seconds=60, event_exchange=f"ex.{unique}"))
        async with serve(app):
            worker = app[WORKER]
            worker.pause()
            pool = app[DB]
            events = [
                _verification(f"verifieren-{unique}@example.nl"),
                StaffInvited(staff_id=uuid.uuid4(), account_id=uuid.uuid4(), email=f"mentor-{unique}@example.nl",
                             name="Karin Jansen", role="mentor", school_name="Het Voorbeeld College",
                             accept_url=f"https://portaal.example.nl/account/uitnodiging?token=uitnodiging{TOKEN}",
                             expires_at=datetime.now(UTC) + timedelta(days=7)),
                ActivationCodeIssued(code_id=uuid.uuid4(), batch_id=uuid.uuid4(), student_id=uuid.uuid4(),
                                     school_id=uuid.uuid4(), school_name="Het Voorbeeld College", channel="email",
                                     email=f"noor-{unique}@example.nl", student_name="Noor", code="7KQM-X2RD-HP",
                                     expires_at=datetime.now(UTC).date() + timedelta(days=60),
                                     register_url="https://portaal.example.nl/account/nieuw"),
                ParentReviewRequested(dossier_id=uuid.uuid4(), parent_email=f"ouder-{unique}@example.nl",
                                      student_name="Noor van Dijk", school_name="Het Voorbeeld College",
                                      parent_rule="consent", link_url=f"https://portaal.example.nl/ouder?token=ouder.{TOKEN}",
                                      expires_at=datetime.now(UTC) + timedelta(days=14)),
            ]
            with using(sealed_with_old):  # sealed by a producer that still had the old key
                envelopes = [_envelope(e) for e in events]
            for envelope in envelopes:
                assert await app[CONSUMER].process(envelope)
            async with pool.acquire() as conn:
                contexts = json.dumps([r["context"] for r in await conn.fetch("SELECT context FROM deliveries")])
            assert TOKEN not in contexts and "7KQM" not in contexts and contexts.count("sealed:v1:") == 4

            # the key was rotated before the mails went out, and the old one was dropped too early:
            # the mails wait (tried again later), they do not fail as unbuildable
            with using(Keyring(os.urandom(32))):
                assert await worker.run_once() == 4
            async with pool.acquire() as conn:
                rows = await conn.fetch("SELECT status, error_kind, last_error FROM deliveries")
            assert {r["status"] for r in rows} == {"pending"} and not sink.messages
            assert all("does not have" in r["last_error"] for r in rows)

            # the operator adds the old key as EVENT_SEAL_OLD_KEYS: every mail goes, links and code in clear
            async with pool.acquire() as conn:
                await conn.execute("UPDATE deliveries SET next_attempt_at = now()")
            with using(Keyring(os.urandom(32), [old_key])):
                assert await worker.run_once() == 4
            await sink.wait_for(4)
            bodies = "\n".join(m.get_body().get_content() for m in sink.messages)
            assert f"verifieren?token={TOKEN}" in bodies and f"uitnodiging?token=uitnodiging{TOKEN}" in bodies
            assert f"ouder?token=ouder.{TOKEN}" in bodies and "activatiecode in: 7KQM-X2RD-HP" in bodies
            assert "sealed:" not in bodies
            async with pool.acquire() as conn:
                assert {r["context"] == {} for r in await conn.fetch("SELECT context FROM deliveries")} == {True}


async def test_the_parent_link_key_is_kept_sealed_survives_an_upgrade_and_a_key_rotation(unique):
    from services.dossier.app import shared_secret

    dsn = env.database_url(f"seal_dossier_{unique}")
    await db.ensure_database(dsn)
    pool = await db.create_pool(dsn, min_size=1, max_size=2)
    try:
        await db.migrate(pool, [("shared", "shared.migrations"), ("dossier", "services.dossier.migrations")])
        first_key, second_key = os.urandom(32), os.urandom(32)
        async with pool.acquire() as conn:
            with using(Keyring(first_key)):
                made = await shared_secret(conn, "parent_link")
                assert len(made) == 32 and await shared_secret(conn, "parent_link") == made, "made once"
            stored = await conn.fetchval("SELECT value FROM service_secrets WHERE name = 'parent_link'")
            assert made not in stored and made.hex() not in stored.hex(), "a dump does not hold the key"

            with using(Keyring(second_key, [first_key])):  # rotated: the same key, sealed anew
                assert await shared_secret(conn, "parent_link") == made
            with using(Keyring(second_key)):
                assert await shared_secret(conn, "parent_link") == made, "no longer needs the former key"

            # an earlier version kept it in clear: kept (parent links made with it still work), sealed
            legacy = os.urandom(32)
            await conn.execute("INSERT INTO service_secrets (name, value) VALUES ('legacy', $1)", legacy)
            with using(Keyring(second_key)):
                assert await shared_secret(conn, "legacy") == legacy
            assert legacy not in await conn.fetchval("SELECT value FROM service_secrets WHERE name = 'legacy'")

            with using(Keyring(os.urandom(32))):
                try:
                    await shared_secret(conn, "parent_link")
                except SealError:
                    pass
                else:
                    raise AssertionError("a wrong EVENT_SEAL_KEY must stop the start, not make a new key")
    finally:
        await pool.close()
