"""Operator command for parked (dead-lettered) messages, and for parked outbox rows.

    python -m shared.parked list   --service notification
    python -m shared.parked replay --service notification [--message-id ID ...]
    python -m shared.parked list   --service identity --outbox
    python -m shared.parked replay --service identity --outbox [--message-id EVENT_ID ...]

``list`` shows each parked message with its error and leaves it parked. ``replay`` moves parked
messages back onto the service's queue with a fresh retry budget; without ``--message-id`` all.
Reads AMQP_URL and EVENT_EXCHANGE like the services do.

With ``--outbox``: the events a service wrote but the broker kept refusing (unroutable: no queue
bound, and the archive switched off; or refused) and that were parked in the service's own outbox
after ``OUTBOX_MAX_ATTEMPTS``. ``replay --outbox`` makes them due again with a fresh budget (bind
a queue or switch the archive on first). Reads DATABASE_URL (default: the service's database).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from dataclasses import dataclass

import aio_pika
import asyncpg

from shared.bus import CONNECT_TIMEOUT, QueueTopology
from shared.settings import ServiceSettings


@dataclass
class Parked:
    message_id: str | None
    type: str | None
    error: str
    attempts: int
    parked_at: str | None


def _queues(exchange: str, service: str) -> QueueTopology:
    return QueueTopology(exchange, service, (), ())


async def list_parked(amqp_url: str, exchange: str, service: str) -> list[Parked]:
    topo = _queues(exchange, service)
    connection = await aio_pika.connect(amqp_url, timeout=CONNECT_TIMEOUT)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(topo.parked, ensure=True)
        found = []
        # Take every message without acking; closing the channel puts them all back.
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            h = message.headers or {}
            found.append(Parked(message.message_id, message.type, str(h.get("x-error", "")),
                                int(h.get("x-attempts", 0) or 0), h.get("x-parked-at")))
        await channel.close()
        return found
    finally:
        await connection.close()


async def replay(amqp_url: str, exchange: str, service: str, message_ids: set[str] | None = None) -> int:
    topo = _queues(exchange, service)
    connection = await aio_pika.connect(amqp_url, timeout=CONNECT_TIMEOUT)
    replayed = 0
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.get_queue(topo.parked, ensure=True)
        keep = []
        while (message := await queue.get(no_ack=False, fail=False)) is not None:
            if message_ids is not None and message.message_id not in message_ids:
                keep.append(message)
                continue
            headers = {k: v for k, v in (message.headers or {}).items()
                       if k not in ("x-attempt", "x-error", "x-attempts", "x-parked-at", "x-last-error")}
            headers["x-replayed"] = True
            await channel.default_exchange.publish(aio_pika.Message(
                message.body, headers=headers, message_id=message.message_id, type=message.type,
                content_type=message.content_type, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=topo.queue, mandatory=True)
            await message.ack()
            replayed += 1
        for message in keep:
            await message.nack(requeue=True)
        await channel.close()
        return replayed
    finally:
        await connection.close()


@dataclass
class ParkedRow:
    event_id: str
    type: str
    created_at: str
    attempts: int
    error: str | None
    parked_at: str


async def list_parked_outbox(dsn: str) -> list[ParkedRow]:
    conn = await asyncpg.connect(dsn, timeout=30)
    try:
        rows = await conn.fetch("""SELECT event_id, event_type, created_at, attempts, last_error, parked_at
                                   FROM outbox WHERE parked_at IS NOT NULL AND published_at IS NULL ORDER BY id""")
    finally:
        await conn.close()
    return [ParkedRow(str(r["event_id"]), r["event_type"], r["created_at"].isoformat(), r["attempts"],
                      r["last_error"], r["parked_at"].isoformat()) for r in rows]


async def replay_outbox(dsn: str, event_ids: set[str] | None = None) -> int:
    conn = await asyncpg.connect(dsn, timeout=30)
    try:
        status = await conn.execute(
            """UPDATE outbox SET parked_at = NULL, attempts = 0, next_attempt_at = now(), last_error = NULL
               WHERE parked_at IS NOT NULL AND published_at IS NULL
                 AND ($1::uuid[] IS NULL OR event_id = ANY($1::uuid[]))""",
            None if event_ids is None else [uuid.UUID(i) for i in event_ids])
        await conn.execute("NOTIFY outbox")
    finally:
        await conn.close()
    return int(status.split()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.parked", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--service", required=True, help="the consuming service, e.g. notification")
    parser.add_argument("--message-id", action="append", help="replay only these (repeatable)")
    parser.add_argument("--outbox", action="store_true", help="the service's parked outbox rows instead")
    args = parser.parse_args(argv)
    if args.outbox:
        dsn = ServiceSettings(service_name=args.service).effective_database_url()
        if args.command == "list":
            rows = asyncio.run(list_parked_outbox(dsn))
            for row in rows:
                print(json.dumps(row.__dict__, ensure_ascii=False))
            print(f"{len(rows)} geparkeerde gebeurtenissen in de outbox", file=sys.stderr)
        else:
            ids = set(args.message_id) if args.message_id else None
            n = asyncio.run(replay_outbox(dsn, ids))
            print(f"{n} gebeurtenissen opnieuw klaargezet", file=sys.stderr)
        return 0
    settings = ServiceSettings()
    if args.command == "list":
        parked = asyncio.run(list_parked(settings.amqp_url, settings.event_exchange, args.service))
        for p in parked:
            print(json.dumps(p.__dict__, ensure_ascii=False))
        print(f"{len(parked)} geparkeerde berichten", file=sys.stderr)
    else:
        ids = set(args.message_id) if args.message_id else None
        n = asyncio.run(replay(settings.amqp_url, settings.event_exchange, args.service, ids))
        print(f"{n} berichten opnieuw aangeboden", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
