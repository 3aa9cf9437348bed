"""A season on one machine: a compressed national season played through the real services.

    .venv/bin/python -m bench.season [--students 9000] [--speedup S] [--dossier-workers 1]
                                     [--notification-workers 1] [--no-archive]

identity, dossier and notification run as real processes (databases and an exchange of their own,
removed after; an SMTP sink in this process). The platform admin makes the VO schools (a school admin
and a counsellor each, invited by mail) and the MBO institutions (programmes, an intake member); then
the season's phases follow in order (bench/season_plan.py has the plan and the speed-ups):

  a) per school: the roster imported, the mentors invited (each accepts from the mail), the counsellor
     issues the activation codes of the whole year by mail (bulk);
  b) per student: registration with BSN and e-mail, the link from the verification mail, a password,
     login, the code from the code mail redeemed;
  c) per student: the dossier made, part A's nine sections saved and submitted; the mentor, on the
     mail, opens the worklist and the dossier and fills in and sends part B; the student, on the mail,
     agrees (in every third school a parent gets the link by mail and consents) and completes; beside
     it a counsellor's "mijn leerlingen" search per dossier;
  d) per dossier: the MBO intake searches the inbox, opens the dossier and marks it handled.

Every phase is an open loop (bench/openloop.py) of its units at the phase's rate; inside a unit the
person waits for each answer and for their mails. Per phase: the latency of every kind of user-facing
request (p50/p99/max), whether the issue's targets held, the services' memory (RSS at the phase's
start -> peak). At the end everything is counted: mails at the sink against those the season should
send, events published against consumed and archived, parked messages, outbox and deliveries left:
"nothing lost" is PASS or FAIL with the numbers. Raw baselines in the same run: aiosmtplib over the
same number of connections (for the bulk mail) and aio-pika publish -> consume at phase b's rate.

The national season (90,000 students) does not fit in 40 minutes on this 2-core machine (the
dossiers alone are about 2 million requests); the default is a tenth of it, stated in the output.
"""
from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter

import aio_pika
import aiohttp

from bench.identity import raw_smtp
from bench.openloop import PeakRss, RateResult, RateRun, at_rate, print_table, summarize
from bench.season_ledger import count, settle
from bench.season_mail import Mailbox
from bench.season_phases import (
    World,
    phase_codes,
    phase_dossiers,
    phase_mbo,
    phase_registrations,
)
from bench.season_plan import NATIONAL, describe, plan
from bench.season_world import (
    Client,
    Recorder,
    make_schools,
    start_services,
    stop_services,
)
from shared.devtools.smtp_sink import SmtpSink
from tests.support import env

DEFAULT_STUDENTS = NATIONAL // 10
SMTP_CONNECTIONS = 8
# p99 targets (ms) of the issue, per phase and kind of request
TARGETS = {
    "b": {"register -> verification mail (open loop)": 200},
    "c": {"part A save": 100, "part B save": 100, "search": 100, "submit -> mentor mail": 200,
          "send part B -> student mail": 200},
    "d": {"search": 100, "handled": 100},
}
BULK_TARGET = 0.7  # bulk mail at least this fraction of raw aiosmtplib over the same connections


def kinds_table(rows: dict[str, RateResult], targets: dict[str, float]) -> list[bool]:
    print(f"  {'request':<44} {'n':>7} {'err':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>9}  target p99")
    held = []
    for kind, r in rows.items():
        target = targets.get(kind)
        verdict = ""
        if target is not None:
            ok = r.meets(target)
            held.append(ok)
            verdict = f"< {target:.0f} ms {'held' if ok else 'MISSED'}"
        print(f"  {kind:<44} {r.completed:>7,} {r.errors:>4} {r.p50 * 1000:>8.1f} {r.p99 * 1000:>8.1f} "
              f"{r.max * 1000:>9.1f}  {verdict}")
    return held


async def raw_pika_at(rate: float, seconds: float) -> RateResult:
    """The raw baseline of phase b's pipeline: publish with confirms to a quorum queue and consume, at
    phase b's rate, latency from the intended send time."""
    connection = await aio_pika.connect(env.AMQP_URL)
    async with connection:
        pub = await connection.channel(publisher_confirms=True)
        sub = await connection.channel()
        await sub.set_qos(prefetch_count=100)
        queue = await sub.declare_queue(f"{env.EXCHANGE}.season.raw.{uuid.uuid4().hex[:6]}", durable=True,
                                        arguments={"x-queue-type": "quorum"})
        consumed: dict[int, float] = {}

        async def on_message(message):
            consumed[int(message.body)] = time.time()
            await message.ack()
        await queue.consume(on_message)

        async def fire(i: int) -> None:
            await pub.default_exchange.publish(aio_pika.Message(str(i).encode(), delivery_mode=2),
                                               routing_key=queue.name)
        run = await at_rate(fire, rate, seconds)
        deadline = time.monotonic() + 30
        while len(consumed) < len(run.intended) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await queue.delete(if_unused=False, if_empty=False)
    return summarize(run, consumed)


def expected_mails(w: World) -> Counter:
    """The mails the season asked for: one per invitation, code and registration, and per signal of the
    workflow (counted as each request that sends one succeeded; work that failed sends none)."""
    expected = Counter(w.mailed)
    expected["invitation"] += w.client.invited
    return expected


async def season(args: argparse.Namespace) -> bool:
    p = plan(args.students, args.speedup)
    print("\n".join(describe(p)))
    print(f"services: identity 1 process, dossier {args.dossier_workers}, notification {args.notification_workers} "
          f"({SMTP_CONNECTIONS} SMTP connections), event archive {'on' if args.archive else 'off'}; Argon2id at "
          "test parameters (t=1, 1 MiB: bench.identity measures the real cost); 2 cores shared by everything, "
          "this load generator and the SMTP sink included", flush=True)

    async with SmtpSink() as raw_sink:  # the raw baselines first, on a sink of their own
        raw_mail_rate, _ = await raw_smtp(raw_sink, 2000, SMTP_CONNECTIONS)
    raw_b = await raw_pika_at(p.phase("b").rate, 10)

    run = uuid.uuid4().hex[:6]
    services = None
    all_held: list[bool] = []
    async with SmtpSink() as sink, Mailbox(sink) as box:
        try:
            started = time.perf_counter()
            services = await start_services(run, sink.port, archive=args.archive,
                                            dossier_workers=args.dossier_workers,
                                            notification_workers=args.notification_workers)
            ready = time.perf_counter() - started
            pids = {name: s.proc.pid for name, s in services.all.items()}
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                             timeout=aiohttp.ClientTimeout(total=300)) as http:
                client = Client(http, services.identity.url, services.dossier.url)
                started = time.perf_counter()
                schools, mbos = await make_schools(client, box, p)
                print(f"\nservices ready in {ready:.1f} s; {len(schools)} VO schools and {len(mbos)} MBO institutions "
                      f"with their staff made through identity's API in {time.perf_counter() - started:.1f} s",
                      flush=True)
                world = World(p, client, box, schools, mbos)
                for key, play in (("a", phase_codes), ("b", phase_registrations), ("c", phase_dossiers),
                                  ("d", phase_mbo)):
                    all_held += await play_phase(world, key, play, pids, raw_mail_rate, raw_b)
            dsns = {name: services.dsn(name) for name in services.all}
            waited = await settle(dsns, services.dsn("notification"), services.exchange)
            ledger = await count(dsns, services.dsn("notification"), services.exchange, box,
                                 expected_mails(world), args.archive)
        finally:
            await stop_services(services)
            await env.delete_run_queues()
            await env.drop_databases()
    nothing_lost, lines = ledger.report()
    print(f"\nthe count at the end ({waited:.0f} s after the last phase for the last mails and events):")
    print("\n".join(lines))
    print(f"\nnothing lost: {'PASS' if nothing_lost else 'FAIL'}")
    print(f"every target held in every phase: {'yes' if all(all_held) else 'no'}")
    return nothing_lost


async def play_phase(w: World, key: str, play, pids: dict[str, int], raw_mail_rate: float,
                     raw_b: RateResult) -> list[bool]:
    phase = w.plan.phase(key)
    w.client.recorder = Recorder()
    print(f"\nphase {key}) {phase.what}: {phase.units:,} {phase.unit}s at {phase.rate:.2f}/s "
          f"(speed-up {phase.speedup:,.0f}, {phase.seconds:,.0f} s)", flush=True)
    started = time.perf_counter()
    async with PeakRss(pids) as memory:
        result = await play(w)
    elapsed = time.perf_counter() - started
    units: RateRun = result[0] if isinstance(result, tuple) else result
    rec = w.client.recorder
    held: list[bool] = []
    print_table(f"  {phase.unit}s, open loop: from intended start to done (each a sequence of requests and mails)",
                [summarize(units)])
    rows = {kind: rec.result(kind, phase.seconds) for kind in rec.latencies}
    for kind in rec.errors:
        rows.setdefault(kind, rec.result(kind, phase.seconds))
    if key == "b":
        rows = {"register -> verification mail (open loop)": result[1], **rows}
    held += kinds_table(rows, TARGETS.get(key, {}))
    unit_errors = len(units.intended) - sum(d is not None for d in units.done)  # failed or never done
    held.append(unit_errors == 0)
    print(f"  every {phase.unit} done: {'yes' if unit_errors == 0 else f'NO ({unit_errors} not)'}; took {elapsed:.0f} s"
          f" (planned {phase.seconds:.0f} s)")
    for kind, first in rec.first_error.items():
        print(f"  first error ({kind}): {first}")
    if key == "a" and w.code_batches:
        mails, seconds = sum(n for n, _ in w.code_batches), sum(s for _, s in w.code_batches)
        rate = mails / seconds
        ok = rate >= BULK_TARGET * raw_mail_rate
        held.append(ok)
        print(f"  bulk codes: {rate:,.0f} mails/s per school's batch (request to its last mail) vs raw aiosmtplib "
              f"{raw_mail_rate:,.0f}/s over {SMTP_CONNECTIONS} connections, same run: ratio {rate / raw_mail_rate:.2f}"
              f" (target >= {BULK_TARGET}: {'held' if ok else 'MISSED'})")
    if key == "b":
        print_table("  raw baseline, same run: aio-pika publish (confirms, quorum queue) -> consume at this rate",
                    [raw_b])
    if key == "c":
        print(f"  a counsellor's search beside every dossier: {summarize(result[1]).completed:,} done; "
              f"dossier made on the first try after the code, else retried: {w.create_retries} retries")
    print(f"  memory (RSS at phase start -> peak): {memory.report()}")
    print(f"  targets in phase {key}: {'all held' if all(held) else 'NOT all held'}", flush=True)
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=DEFAULT_STUDENTS,
                        help=f"students in the season (national: {NATIONAL:,}; default a tenth)")
    parser.add_argument("--speedup", type=float, default=None,
                        help="play every phase at this speed-up (default: per phase, from the machine's capacity)")
    parser.add_argument("--dossier-workers", type=int, default=1)
    parser.add_argument("--notification-workers", type=int, default=1)
    parser.add_argument("--no-archive", dest="archive", action="store_false",
                        help="no event archive stream (default: on, as in production)")
    args = parser.parse_args()
    import uvloop
    uvloop.install()
    raise SystemExit(0 if asyncio.run(season(args)) else 1)


if __name__ == "__main__":
    main()
