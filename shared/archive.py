"""Operator command for the event archive (the stream ``<exchange>.archive`` that keeps every
event for ``EVENT_ARCHIVE_MAX_AGE``, 30 days by default).

    python -m shared.archive list   --since 2026-11-01T00:00+01:00 [--until ...] [--type T ...]
    python -m shared.archive replay --service notification --since ... [--until ...] [--type T ...]

``list`` prints one line per archived event in the range (id, type, time, subject: no payload).
``replay`` offers the events in the range once more to one consumer's queue
(``<exchange>.<service>``); the consumer's inbox makes every event it handled before a no-op, so
a replay only does what was missed (after a restore from backup, say, or for a new handler).
Events are selected by their own time (the envelope's ``time``); reading starts at ``--since`` in
the stream, which holds them in the order they were published, and goes on to its end.
Reads AMQP_URL and EVENT_EXCHANGE like the services do.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aio_pika

from shared.bus import CONNECT_TIMEOUT, QueueTopology, archive_queue
from shared.events.envelope import CONTENT_TYPE
from shared.settings import ServiceSettings


@dataclass
class Archived:
    message_id: str | None
    type: str | None
    time: datetime | None
    subject: str | None
    body: bytes
    headers: dict
    content_type: str | None = None  # as published: the structured mode's, or older events' application/json

    def line(self) -> dict:
        return {"id": self.message_id, "type": self.type, "time": self.time.isoformat() if self.time else None,
                "subject": self.subject}


BROKER_CLOCK_MARGIN = timedelta(minutes=5)


def _event_time(body: bytes) -> tuple[datetime | None, str | None]:
    try:
        envelope = json.loads(body)
        return datetime.fromisoformat(envelope["time"]), envelope.get("subject")
    except (ValueError, KeyError, TypeError):
        return None, None


async def read_archive(amqp_url: str, exchange: str, *, since: datetime, until: datetime | None = None,
                       types: set[str] | None = None, idle_seconds: float = 2.0) -> list[Archived]:
    """The archived events with ``since <= time < until`` (and of ``types``), oldest first as
    published. Reads from ``since`` to the end of the stream (the end: nothing new for
    ``idle_seconds``)."""
    connection = await aio_pika.connect(amqp_url, timeout=CONNECT_TIMEOUT)
    found: list[Archived] = []
    arrived = asyncio.Event()
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=500)
        queue = await channel.declare_queue(archive_queue(exchange), passive=True)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            arrived.set()
            when, subject = _event_time(message.body)
            if when is not None and when >= since and (until is None or when < until) \
                    and (types is None or message.routing_key in types):
                found.append(Archived(message.message_id, message.routing_key, when, subject, message.body,
                                      dict(message.headers or {}), message.content_type))
            await message.ack()

        # Before --since by a margin: the stream's own clock is the broker's, when the event was
        # published. That is after it was written, but the broker's clock may lag ours: Erlang's
        # default (no time warp) catches up with a jump of the machine's clock only slowly (seen:
        # 20 s behind after a machine was resumed). The event's own time filters exactly above.
        tag = await queue.consume(on_message, arguments={"x-stream-offset": since - BROKER_CLOCK_MARGIN})
        while True:
            arrived.clear()
            try:
                async with asyncio.timeout(idle_seconds):
                    await arrived.wait()
            except TimeoutError:
                break
        await queue.cancel(tag)
    finally:
        await connection.close()
    return found


async def replay(amqp_url: str, exchange: str, service: str, events: list[Archived]) -> int:
    """Offer ``events`` to the queue of ``service``'s consumer; returns how many."""
    target = QueueTopology(exchange, service, (), ()).queue
    connection = await aio_pika.connect(amqp_url, timeout=CONNECT_TIMEOUT)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(target, passive=True)  # the consumer's queue must exist
        for event in events:
            headers = {k: v for k, v in event.headers.items() if not k.startswith("x-stream")}
            headers["x-replayed-from-archive"] = True
            await channel.default_exchange.publish(aio_pika.Message(
                event.body, headers=headers, message_id=event.message_id, type=event.type,
                content_type=event.content_type or CONTENT_TYPE, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=target, mandatory=True)
        return len(events)
    finally:
        await connection.close()


def _moment(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.archive", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--service", help="replay: the consuming service, e.g. notification")
    parser.add_argument("--since", required=True, type=_moment, help="from this moment (ISO 8601)")
    parser.add_argument("--until", type=_moment, help="up to (not including) this moment")
    parser.add_argument("--type", action="append", help="only events of this type (repeatable)")
    args = parser.parse_args(argv)
    if args.command == "replay" and not args.service:
        parser.error("replay needs --service")
    settings = ServiceSettings()
    events = asyncio.run(read_archive(settings.amqp_url, settings.event_exchange, since=args.since,
                                      until=args.until, types=set(args.type) if args.type else None))
    if args.command == "list":
        for event in events:
            print(json.dumps(event.line(), ensure_ascii=False))
        print(f"{len(events)} gebeurtenissen in het archief", file=sys.stderr)
        return 0
    n = asyncio.run(replay(settings.amqp_url, settings.event_exchange, args.service, events))
    print(f"{n} gebeurtenissen opnieuw aangeboden aan {args.service}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
