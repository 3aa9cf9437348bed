"""The wire as another system sees it: every event type published by the real outbox relay over the
real broker, read by a subscriber the project did not write (pika, the CloudEvents SDK, the
published docs/asyncapi.json with jsonschema); and the project's own consumers, which read the
structured mode and still take the application/json messages published before it."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import aio_pika

from shared.archive import read_archive, replay
from shared.bus import Archive, Broker
from shared.consumer import Consumer, Subscription
from shared.events.envelope import CONTENT_TYPE, Envelope
from shared.events.registry import all_event_types, lookup
from shared.outbox import Outbox, OutboxRelay
from shared.parked import list_parked
from tests.support import env
from tests.support.contract import errors, message_validator, published
from tests.support.event_samples import sample_envelope, sample_payload
from tests.support.events import broker, database, sample_event
from tests.support.outside import OutsideSubscriber
from tests.support.wait import eventually

EVENT = "identity.verification_requested"


async def test_an_outside_subscriber_reads_every_event_type_as_the_contract_says(unique):
    exchange = f"ex.{unique}"
    async with database(f"wire_{unique}") as (pool, dsn), broker(exchange) as b:
        outside = await asyncio.to_thread(OutsideSubscriber, exchange, "#")
        try:
            sent: dict[str, Envelope] = {}
            async with pool.acquire() as conn, conn.transaction():
                for et in all_event_types():
                    subject = None if et.name == EVENT else str(uuid.uuid4())  # one without a subject
                    env_ = await Outbox(et.producer).add(conn, sample_payload(et.payload), subject=subject)
                    sent[str(env_.id)] = env_
                # a row written before the structured mode, with "subject": null, still pending
                old = sample_envelope(lookup(EVENT))
                legacy = {**old.model_dump(mode="json"), "subject": None, "requestid": None}
                await conn.execute("INSERT INTO outbox (event_id, event_type, envelope) VALUES ($1, $2, $3)",
                                   old.id, EVENT, legacy)
                sent[str(old.id)] = old
            assert await OutboxRelay(pool, b, dsn).drain() == len(sent)
            received = await asyncio.to_thread(outside.take, len(sent))
        finally:
            await asyncio.to_thread(outside.close)

    doc = published()
    assert {m.message_id for m in received} == set(sent)
    for m in received:
        env_ = sent[m.message_id]
        message = doc["components"]["messages"][env_.type.replace(".", "_")]
        # the AMQP message: the binding's structured content mode, as the document declares
        assert m.content_type == message["contentType"] == doc["defaultContentType"] == CONTENT_TYPE
        assert (m.type, m.routing_key, m.app_id) == (env_.type, env_.type, "test")  # app_id: the publishing service
        # the event, read by the CloudEvents SDK
        event = m.cloudevent()
        assert (event.get_specversion(), event.get_id(), event.get_type()) == ("1.0", m.message_id, env_.type)
        assert event.get_source() == f"/doorstroom/{message['x-producer']}"
        assert event.get_extension("dataversion") == lookup(env_.type).version
        assert event.get_data() == json.loads(json.dumps(env_.model_dump(mode="json")["data"]))
        # and against the published schema
        assert errors(message_validator(env_.type), m.json) == [], env_.type
        assert None not in m.json.values(), "unset attributes are left out"
    assert sum(1 for m in received if "subject" not in m.json) == 2


async def _effects(pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM effects")


async def test_consumers_read_the_structured_mode_and_the_application_json_left_in_queues(unique):
    exchange = f"ex.{unique}"
    async with database(f"wire_consume_{unique}") as (pool, dsn), broker(exchange) as b:
        await pool.execute("CREATE TABLE effects (event_id uuid PRIMARY KEY)")

        async def handler(conn, envelope, data):
            await conn.execute("INSERT INTO effects VALUES ($1)", envelope.id)

        consumer = Consumer("wire", b, pool, [Subscription(EVENT, handler)], retry_delays_ms=(100,),
                            queue_type="classic")
        await consumer.start()
        try:
            # published now: structured mode, through the outbox
            async with pool.acquire() as conn, conn.transaction():
                await Outbox("identity").add(conn, sample_event(1))
            await OutboxRelay(pool, b, dsn).drain()
            await eventually(lambda: _effects(pool), 10, "the structured event is handled")

            # published before: application/json with "subject": null, in the work queue and in a retry queue
            def legacy() -> aio_pika.Message:
                body = Envelope(source="/doorstroom/identity", type=EVENT,
                                data=sample_event(2).model_dump(mode="json"))
                return aio_pika.Message(body.model_dump_json().encode(), message_id=str(body.id), type=EVENT,
                                        content_type="application/json",
                                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            await b.exchange.publish(legacy(), EVENT)
            await b.send_to_queue(consumer.topology.retry_queue(1), legacy())
            await eventually(lambda: _count_is(pool, 3), 10, "the application/json events are handled")

            # a message in another format is no event of ours: parked at once, with the reason
            odd = sample_envelope(lookup(EVENT))
            await b.exchange.publish(aio_pika.Message(json.dumps(odd.wire()).encode(), message_id=str(odd.id),
                                                      content_type="application/xml"), EVENT)

            async def parked():
                return await list_parked(env.AMQP_URL, exchange, "wire")
            [p] = await eventually(parked, 10, "the message of another format is parked")
            assert "content-type" in p.error and p.message_id == str(odd.id)
            assert await _effects(pool) == 3
        finally:
            await consumer.stop()


async def _count_is(pool, n) -> bool:
    return await _effects(pool) == n


async def test_the_archive_keeps_and_replays_the_content_type_it_was_published_with(unique):
    exchange = f"ex.{unique}"
    b = Broker(env.AMQP_URL, exchange, "test", archive=Archive(exchange, max_age="1h"))
    await b.connect()
    try:
        async with database(f"wire_archive_{unique}") as (pool, dsn):
            since = datetime.now(UTC)
            async with pool.acquire() as conn, conn.transaction():
                new = await Outbox("identity").add(conn, sample_event(1))
            await OutboxRelay(pool, b, dsn).drain()
            old = Envelope(source="/doorstroom/identity", type=EVENT, data=sample_event(2).model_dump(mode="json"))
            await b.exchange.publish(aio_pika.Message(old.model_dump_json().encode(), message_id=str(old.id),
                                                      type=EVENT, content_type="application/json"), EVENT)
            found = await read_archive(env.AMQP_URL, exchange, since=since, idle_seconds=1)
            assert {e.message_id: e.content_type for e in found} == {str(new.id): CONTENT_TYPE,
                                                                    str(old.id): "application/json"}

            channel = await b.connection.channel()
            target = await channel.declare_queue(f"{exchange}.replayed", durable=True)
            assert await replay(env.AMQP_URL, exchange, "replayed", found) == 2
            got = {}
            for _ in range(2):
                message = await eventually(lambda: target.get(no_ack=True, fail=False), 10, "the replayed events")
                got[message.message_id] = message.content_type
            assert got == {str(new.id): CONTENT_TYPE, str(old.id): "application/json"}
    finally:
        channel = await b.connection.channel()
        for queue in (f"{exchange}.archive", f"{exchange}.replayed"):
            await channel.queue_delete(queue)
        await b.close()
