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
import asyncpg

from bench.openloop import (PeakRss, Profiles, RateResult, at_rate, cpu_seconds, parse_rates, print_table,
                           summarize)
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
    async with SmtpSink(parse=False) as sink:
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
                             profile: str | None = None) -> tuple[list[RateResult], str, str, list]:
    """Registrations at each arrival rate; latency from the intended send time to the mail."""
    run = uuid.uuid4().hex[:6]
    async with SmtpSink(parse=False) as sink:
        started = time.perf_counter()
        identity = await ServiceProcess("identity", db=f"bench_id_{run}", log_level="WARNING",
                                        event_archive=True, **ONE_CLIENT).start()
        identity_ready = time.perf_counter() - started
        started = time.perf_counter()
        notification = await ServiceProcess("notification", db=f"bench_no_{run}", smtp_port=sink.port,
                                            smtp_connections=8, workers=workers, log_level="WARNING",
                                            db_pool_max=10, consumer_prefetch=100, event_archive=True).start()
        notification_ready = time.perf_counter() - started
        results, breakdown = [], []
        try:
            memory = PeakRss({"identity": identity.proc.pid, "notification": notification.proc.pid})
            async with memory, aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                for rate in rates:
                    tag = f"r{int(rate)}-{run}"
                    cpu_before = {n: cpu_seconds(p.proc.pid) for n, p in (("identity", identity), ("notification", notification))}

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
                    cpu = {n: (cpu_seconds(p.proc.pid) - cpu_before[n]) / max(1, len(rate_run.intended)) * 1000
                           for n, p in (("identity", identity), ("notification", notification))}
                    addresses = {f"ol{i}-{tag}@example.nl": t for i, t in enumerate(rate_run.intended)}
                    breakdown.append((rate, await stages(f"bench_id_{run}", f"bench_no_{run}", addresses), cpu))
        finally:
            await notification.stop()
            await identity.stop()
    if profile:
        memory_line = memory.report() + f"\n  profile at {max(rates):.0f}/s (py-spy, {profile}):\n" + profiles.report()
        return results, memory_line, f"start to ready: identity {identity_ready:.1f} s, notification {notification_ready:.1f} s", breakdown
    started_line = f"start to ready: identity {identity_ready:.1f} s, notification {notification_ready:.1f} s"
    return results, memory.report(), started_line, breakdown


# the figures issue 14 gives for the landed main before this work
OLD = {"closed": "108-204 events/s, p50 2.5-9.7 s (raw ratio 0.07)", "one": "p50 123 ms, p99 226 ms (raw 28 / 46 ms)",
       "open": "not measured (closed loop only)"}

STAGES = ("request to its transaction", "commit to the relay's claim", "claim to consumed (broker)",
          "consumed to SMTP accepted")


async def stages(identity_db: str, notification_db: str, intended: dict[str, float]) -> dict[str, list[float]]:
    """Where the time of each event went, from the rows' own timestamps (``now()`` is the start of
    each transaction): the request's arrival to its transaction (``outbox.created_at``), to the
    relay's claim (``published_at``), to the consumer's transaction (``inbox.handled_at``), to the
    outcome written after the SMTP server accepted (``sent_at``). ``intended``: address -> intended
    send time."""
    ident = await asyncpg.connect(env.database_url(identity_db))
    notif = await asyncpg.connect(env.database_url(notification_db))
    try:
        outbox = {r["event_id"]: r for r in await ident.fetch(
            """SELECT event_id, envelope->'data'->>'email' AS email, extract(epoch FROM created_at) AS created,
                      extract(epoch FROM published_at) AS published FROM outbox WHERE published_at IS NOT NULL""")}
        handled = {r["event_id"]: r for r in await notif.fetch(
            """SELECT i.event_id, extract(epoch FROM i.handled_at) AS handled, extract(epoch FROM d.sent_at) AS sent
               FROM inbox i JOIN deliveries d USING (event_id) WHERE d.sent_at IS NOT NULL""")}
    finally:
        await ident.close()
        await notif.close()
    out: dict[str, list[float]] = {name: [] for name in STAGES}
    for event_id, o in outbox.items():
        h = handled.get(event_id)
        if h is None or o["email"] not in intended:
            continue
        marks = [intended[o["email"]], float(o["created"]), float(o["published"]), float(h["handled"]), float(h["sent"])]
        for name, a, b in zip(STAGES, marks, marks[1:]):
            out[name].append(max(0.0, b - a))
    return out


def print_stages(rate: float, found: dict[str, list[float]], cpu: dict[str, float]) -> None:
    parts = "   ".join(f"{name} {pct(v, .5) * 1000:.1f}/{pct(v, .99) * 1000:.1f}"
                       for name, v in found.items() if v)
    costs = ", ".join(f"{name} {ms:.2f} ms" for name, ms in cpu.items())
    print(f"  {rate:>5.0f}/s  p50/p99 ms: {parts}\n"
          f"          CPU per event (the process's user + system time over the rate's run): {costs}")


async def _until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def report(name: str, rate: float, lat: list[float]) -> None:
    throughput = f"{rate:>9,.0f}/s" if rate else " " * 11
    print(f"{name:<48} {throughput}   p50 {pct(lat, .5) * 1000:>7.1f} ms   p99 {pct(lat, .99) * 1000:>7.1f} ms")


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
        svc_ol, memory, started, breakdown = await services_open_loop(args.rates, args.seconds, args.notification_workers,
                                                              args.profile)
        if not args.skip_closed_loop:
            raw_rate, raw_lat = await raw_pika(args.requests * 5)
            svc_rate, svc_lat = await through_services(args.requests, args.concurrency, args.notification_workers)
            _, raw_one = await raw_pika(20, in_flight=1)
            _, svc_one = await through_services(20, 1, args.notification_workers)
    finally:
        await env.delete_run_queues()
        await env.drop_databases()
    print(f"\nopen loop, {args.seconds:g} s per rate, {args.notification_workers} notification process(es), "
          f"2 cores shared by everything; latency from the intended send time")
    print_table("raw aio-pika publish -> consume (confirms, quorum queue)", raw_ol, args.target_ms)
    print_table("HTTP -> outbox -> broker -> notification -> SMTP sink", svc_ol, args.target_ms)
    print("  where the time went (from the rows' timestamps):")
    for rate, found, cpu in breakdown:
        print_stages(rate, found, cpu)
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
    report("20 requests one at a time: raw", 0, raw_one)
    report("20 requests one at a time: HTTP -> ... -> SMTP", 0, svc_one)
    best = max((r.rate for r in svc_ol if r.meets(args.target_ms)), default=None)
    print("\nissue 14's table (before: the landed main of 2026-11-29, same kind of machine) next to this run:")
    rows = [
        (f"HTTP -> ... -> SMTP, {args.requests} requests (closed loop)", OLD["closed"],
         f"{svc_rate:,.0f} events/s, p50 {statistics.median(svc_lat):.2f} s (raw {raw_rate:,.0f}/s, "
         f"ratio {svc_rate / raw_rate:.2f})"),
        ("the same, 20 requests one at a time", OLD["one"],
         f"p50 {pct(svc_one, .5) * 1000:.0f} ms, p99 {pct(svc_one, .99) * 1000:.0f} ms "
         f"(raw {pct(raw_one, .5) * 1000:.0f} / {pct(raw_one, .99) * 1000:.0f} ms)"),
        (f"open loop: highest rate with p99 <= {args.target_ms:.0f} ms", OLD["open"],
         f"{best:.0f}/s" if best else "none of the rates tried"),
    ]
    for what, then, now in rows:
        print(f"  {what:<52} then: {then:<40} now: {now}")


if __name__ == "__main__":
    import uvloop
    uvloop.install()
    asyncio.run(main())
