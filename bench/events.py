"""Events benchmark: HTTP request -> identity -> outbox -> RabbitMQ -> notification -> SMTP.

Prints events per second and p50/p99 latency from the HTTP request to the mail at the SMTP sink
(the delivery recorded as sent), next to a raw aio-pika publish-and-consume loop (confirms,
quorum queue, manual acks) measured in the same run, and the ratio.

    .venv/bin/python -m bench.events [--requests 2000] [--concurrency 50] [--notification-workers 1]

Runs against the local PostgreSQL and RabbitMQ with an exchange and databases of its own, removed after.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

import aio_pika
import aiohttp

from bench.stats import pct
from shared.devtools.smtp_sink import SmtpSink
from tests.support import env
from tests.support.apps import ServiceProcess


async def raw_pika(n: int, in_flight: int = 1000) -> tuple[float, list[float]]:
    connection = await aio_pika.connect(env.AMQP_URL)
    async with connection:
        pub = await connection.channel(publisher_confirms=True)
        sub = await connection.channel()
        await sub.set_qos(prefetch_count=100)
        queue = await sub.declare_queue(f"bench.raw.{uuid.uuid4().hex[:6]}", durable=True,
                                        arguments={"x-queue-type": "quorum"})
        latencies: list[float] = []
        done = asyncio.Event()

        async def on_message(message):
            latencies.append(time.time() - float(message.body))
            await message.ack()
            if len(latencies) >= n:
                done.set()

        await queue.consume(on_message)
        sem = asyncio.Semaphore(in_flight)

        async def publish_one():
            async with sem:
                await pub.default_exchange.publish(
                    aio_pika.Message(str(time.time()).encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=queue.name)

        started = time.perf_counter()
        await asyncio.gather(*(publish_one() for _ in range(n)))
        await asyncio.wait_for(done.wait(), 120)
        elapsed = time.perf_counter() - started
        await queue.delete(if_unused=False, if_empty=False)
    return n / elapsed, latencies


async def through_services(n: int, concurrency: int, workers: int) -> tuple[float, list[float]]:
    run = uuid.uuid4().hex[:6]
    async with SmtpSink() as sink:
        # as in production: every event also goes to the archive stream
        identity = await ServiceProcess("identity", db=f"bench_id_{run}", log_level="WARNING",
                                        event_archive=True).start()
        notification = await ServiceProcess("notification", db=f"bench_no_{run}", smtp_port=sink.port,
                                            smtp_connections=8, workers=workers, log_level="WARNING",
                                            db_pool_max=10, consumer_prefetch=100, event_archive=True).start()
        sent_at: dict[str, float] = {}
        try:
            sem = asyncio.Semaphore(concurrency)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
                async def one(i: int):
                    email = f"bench{i}-{run}@example.nl"
                    async with sem:
                        sent_at[email] = time.time()
                        async with http.post(identity.url + "/v1/registrations",
                                             json={"bsn": "111222333", "email": email}) as r:
                            assert r.status == 202, await r.text()

                started = time.perf_counter()
                await asyncio.gather(*(one(i) for i in range(n)))
                await sink.wait_for(n, timeout=300)
                elapsed = time.perf_counter() - started
            latencies = [m.received_at.timestamp() - sent_at[m.envelope_to[0]] for m in sink.messages]
        finally:
            await notification.stop()
            await identity.stop()
    return n / elapsed, latencies


def report(name: str, rate: float, lat: list[float]) -> None:
    print(f"{name:<44} {rate:>9,.0f}/s   p50 {pct(lat, .5) * 1000:>7.1f} ms   p99 {pct(lat, .99) * 1000:>7.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--notification-workers", type=int, default=1)
    args = parser.parse_args()
    try:
        raw_rate, raw_lat = await raw_pika(args.requests * 5)
        svc_rate, svc_lat = await through_services(args.requests, args.concurrency, args.notification_workers)
    finally:
        await env.delete_run_queues()
        await env.drop_databases()
    print(f"\n{args.requests} requests, concurrency {args.concurrency}, "
          f"{args.notification_workers} notification process(es), 2 cores shared by everything")
    report("raw aio-pika publish+consume (confirms)", raw_rate, raw_lat)
    report("HTTP -> outbox -> broker -> SMTP sink", svc_rate, svc_lat)
    print(f"ratio service/raw throughput: {svc_rate / raw_rate:.2f}   "
          f"p50 latency ratio: {statistics.median(svc_lat) / statistics.median(raw_lat):.1f}x")


if __name__ == "__main__":
    import uvloop
    uvloop.install()
    asyncio.run(main())
