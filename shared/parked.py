"""Operator command for parked (dead-lettered) messages.

    python -m shared.parked list   --service notification
    python -m shared.parked replay --service notification [--message-id ID ...]

``list`` shows each parked message with its error and leaves it parked. ``replay`` moves parked
messages back onto the service's queue with a fresh retry budget; without ``--message-id`` all.
Reads AMQP_URL and EVENT_EXCHANGE like the services do.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass

import aio_pika

from shared.bus import QueueTopology
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
    connection = await aio_pika.connect(amqp_url, timeout=30)
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
    connection = await aio_pika.connect(amqp_url, timeout=30)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.parked", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--service", required=True, help="the consuming service, e.g. notification")
    parser.add_argument("--message-id", action="append", help="replay only these (repeatable)")
    args = parser.parse_args(argv)
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
