"""Events benchmark: HTTP request -> identity -> outbox -> RabbitMQ -> notification -> SMTP.

Two parts, each next to a raw aio-pika publish-and-consume loop (confirms, quorum queue, manual
acks) measured in the same run:

- open loop (bench/openloop.py): registrations sent at fixed arrival rates whatever the answers;
  latency from each request's intended send time to its mail at the SMTP sink, p50/p99/p99.9/max
  per rate and the highest rate meeting the p99 target; the services' memory at rest and at peak
  and their time from start to ready;
- closed loop: events per second at saturation (``--concurrency`` clients, each waiting for its
  answer), the throughput figure; its latencies only say how long the queue was.

    .venv/bin/python -m bench.events [--rates 10,50,100,200] [--seconds 5] [--target-ms 200]
        [--requests 2000] [--concurrency 50] [--notification-workers 1] [--skip-closed-loop]

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

from bench.openloop import PeakRss, Profiles, RateResult, at_rate, parse_rates, print_table, summarize
from bench.stats import pct
from shared.devtools.smtp_sink import SmtpSink
from tests.support import env
from tests.support.apps import ServiceProcess


# every request of the bench comes from one address: lift the per-address registration limits
ONE_CLIENT = {"register_ip_soft_limit": 10_000_000, "register_ip_hard_limit": 10_000_000}


async def raw_channels(connection) -> tuple[aio_pika.abc.AbstractChannel, aio_pika.abc.AbstractQueue]:
    """The raw baseline's publishing channel (confirms) and a quorum queue of its own to consume."""
    pub = await connection.channel(publisher_confirms=True)
    sub = await connection.channel()
    await sub.set_qos(prefetch_count=100)
    queue = await sub.declare_queue(f"bench.raw.{uuid.uuid4().hex[:6]}", durable=True,
                                    arguments={"x-queue-type": "quorum"})
    return pub, queue


async def raw_pika(n: int, in_flight: int = 1000) -> tuple[float, list[float]]:
    connection = await aio_pika.connect(env.AMQP_URL)
    async with connection:
        pub, queue = await raw_channels(connection)
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
                                        event_archive=True, **ONE_CLIENT).start()
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


async def raw_open_loop(rates: list[float], seconds: float) -> list[RateResult]:
    """The raw baseline at the same arrival rates: publish with confirms to a quorum queue,
    latency from the intended send time to the consumer."""
    connection = await aio_pika.connect(env.AMQP_URL)
    results = []
    async with connection:
        pub, queue = await raw_channels(connection)
        consumed: dict[str, float] = {}

        async def on_message(message):
            consumed[message.body.decode()] = time.time()
            await message.ack()

        await queue.consume(on_message)
        for rate in rates:
            async def fire(i: int, rate=rate) -> None:
                await pub.default_exchange.publish(
                    aio_pika.Message(f"{rate}:{i}".encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=queue.name)
            run = await at_rate(fire, rate, seconds)
            await _until(lambda: all(f"{rate}:{i}" in consumed for i in range(len(run.intended))), 60)
            results.append(summarize(run, {i: consumed[f"{rate}:{i}"] for i in range(len(run.intended))
                                           if f"{rate}:{i}" in consumed}))
        await queue.delete(if_unused=False, if_empty=False)
    return results


async def services_open_loop(rates: list[float], seconds: float, workers: int,
                             profile: str | None = None) -> tuple[list[RateResult], str, str]:
    """Registrations at each arrival rate; latency from the intended send time to the mail."""
    run = uuid.uuid4().hex[:6]
    async with SmtpSink() as sink:
        started = time.perf_counter()
        identity = await ServiceProcess("identity", db=f"bench_id_{run}", log_level="WARNING",
                                        event_archive=True, **ONE_CLIENT).start()
        identity_ready = time.perf_counter() - started
        started = time.perf_counter()
        notification = await ServiceProcess("notification", db=f"bench_no_{run}", smtp_port=sink.port,
                                            smtp_connections=8, workers=workers, log_level="WARNING",
                                            db_pool_max=10, consumer_prefetch=100, event_archive=True).start()
        notification_ready = time.perf_counter() - started
        results = []
        try:
            memory = PeakRss({"identity": identity.proc.pid, "notification": notification.proc.pid})
            async with memory, aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                for rate in rates:
                    tag = f"r{int(rate)}-{run}"

                    async def fire(i: int, tag=tag) -> None:
                        async with http.post(identity.url + "/v1/registrations",
                                             json={"bsn": "111222333", "email": f"ol{i}-{tag}@example.nl"}) as r:
                            if r.status != 202:
                                raise RuntimeError(f"HTTP {r.status}")

                    if profile and rate == max(rates):  # py-spy on each service at the highest rate
                        profiles = Profiles({"identity": identity.proc.pid, "notification": notification.proc.pid},
                                            profile, seconds)
                        async with profiles:
                            rate_run = await at_rate(fire, rate, seconds)
                    else:
                        rate_run = await at_rate(fire, rate, seconds)

                    def mails() -> dict[int, float]:
                        found = {}
                        for m in sink.messages:
                            local = m.envelope_to[0].split("@")[0]
                            if local.endswith(tag):
                                found[int(local[2:].split("-")[0])] = m.received_at.timestamp()
                        return found
                    await _until(lambda: len(mails()) >= len(rate_run.intended) - rate_run.errors, 120)
                    results.append(summarize(rate_run, mails()))
        finally:
            await notification.stop()
            await identity.stop()
    if profile:
        memory_line = memory.report() + f"\n  profile at {max(rates):.0f}/s (py-spy, {profile}):\n" + profiles.report()
        return results, memory_line, f"start to ready: identity {identity_ready:.1f} s, notification {notification_ready:.1f} s"
    started_line = f"start to ready: identity {identity_ready:.1f} s, notification {notification_ready:.1f} s"
    return results, memory.report(), started_line


async def _until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def report(name: str, rate: float, lat: list[float]) -> None:
    print(f"{name:<44} {rate:>9,.0f}/s   p50 {pct(lat, .5) * 1000:>7.1f} ms   p99 {pct(lat, .99) * 1000:>7.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--notification-workers", type=int, default=1)
    parser.add_argument("--rates", type=parse_rates, default=parse_rates("10,50,100,200"),
                        help="open-loop arrival rates per second, e.g. 10,50,100,200,400")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of load per rate")
    parser.add_argument("--target-ms", type=float, default=200.0, help="p99 target for the open loop")
    parser.add_argument("--skip-closed-loop", action="store_true")
    parser.add_argument("--profile", metavar="DIR", help="py-spy each service at the highest rate; stacks into DIR")
    args = parser.parse_args()
    try:
        raw_ol = await raw_open_loop(args.rates, args.seconds)
        svc_ol, memory, started = await services_open_loop(args.rates, args.seconds, args.notification_workers,
                                                              args.profile)
        if not args.skip_closed_loop:
            raw_rate, raw_lat = await raw_pika(args.requests * 5)
            svc_rate, svc_lat = await through_services(args.requests, args.concurrency, args.notification_workers)
    finally:
        await env.delete_run_queues()
        await env.drop_databases()
    print(f"\nopen loop, {args.seconds:g} s per rate, {args.notification_workers} notification process(es), "
          f"2 cores shared by everything; latency from the intended send time")
    print_table("raw aio-pika publish -> consume (confirms, quorum queue)", raw_ol, args.target_ms)
    print_table("HTTP -> outbox -> broker -> notification -> SMTP sink", svc_ol, args.target_ms)
    print(f"  memory (RSS at rest -> peak): {memory}")
    print(f"  {started}")
    if args.skip_closed_loop:
        return
    print(f"\nclosed loop (throughput at saturation): {args.requests} requests, concurrency {args.concurrency}, "
          f"{args.notification_workers} notification process(es), 2 cores shared by everything")
    report("raw aio-pika publish+consume (confirms)", raw_rate, raw_lat)
    report("HTTP -> outbox -> broker -> SMTP sink", svc_rate, svc_lat)
    print(f"ratio service/raw throughput: {svc_rate / raw_rate:.2f}   "
          f"p50 latency ratio: {statistics.median(svc_lat) / statistics.median(raw_lat):.1f}x")


if __name__ == "__main__":
    import uvloop
    uvloop.install()
    asyncio.run(main())
