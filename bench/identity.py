"""Identity benchmark.

1. Logins through the HTTP API (identity as a real process, Argon2id at the settings' parameters):
   open loop (bench/openloop.py): logins sent at fixed arrival rates whatever the answers, latency
   percentiles from each request's intended send time per rate, next to raw Argon2id verifications
   offered at the same rates to a thread pool as large as the service's, and the raw verify
   capacity (one thread, and as many threads as the service uses); identity's memory (RSS) at rest
   and at peak and its time from start to ready; then closed loop: logins per second at saturation
   (concurrent clients, a few seconds).
2. Activation codes for a school year of 2,000 students by e-mail: the time from the HTTP request
   to the last mail at the SMTP sink (identity -> outbox -> RabbitMQ -> notification -> SMTP), and
   mails per second next to a raw aiosmtplib send loop to the same sink (as many connections as
   notification uses, in a process of its own like notification's sender).

    .venv/bin/python -m bench.identity [--rates 5,10,20,40] [--rate-seconds 5] [--target-ms 500]
        [--seconds 5] [--concurrency 16] [--students 2000] [--profile DIR]

Runs against the local PostgreSQL and RabbitMQ with an exchange (and queues) and databases of its own,
removed after.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import aiohttp
import aiosmtplib
import argon2

from bench.openloop import (
    PeakRss,
    Profiles,
    RateResult,
    at_rate,
    cpu_seconds,
    machine_cpu_seconds,
    parse_rates,
    print_table,
    summarize,
)
from bench.stats import pct
from services.identity.demo import STAFF, load_demo
from services.identity.settings import IdentitySettings
from shared import db
from shared.devtools.smtp_sink import SmtpSink
from tests.support import env
from tests.support.apps import ServiceProcess

SMTP_CONNECTIONS = 8
PASSWORD = "een wachtwoord voor de meting"
# issue 14's figures for the codes by mail (the notification side is being changed elsewhere)
OLD_MAILS = "old (issue 14): 205 mails/s vs aiosmtplib 690/s (0.30)"


# --- raw baselines ------------------------------------------------------------------------------


def raw_argon2(seconds: float, threads: int, settings: IdentitySettings) -> float:
    ph = hasher(settings)
    encoded = ph.hash(PASSWORD)
    deadline = time.perf_counter() + seconds

    def loop() -> int:
        n = 0
        while time.perf_counter() < deadline:
            ph.verify(encoded, PASSWORD)
            n += 1
        return n

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: loop(), range(threads)))
    return total / (time.perf_counter() - started)


def hasher(settings: IdentitySettings) -> argon2.PasswordHasher:
    return argon2.PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib,
                                 parallelism=settings.argon2_parallelism, hash_len=32, salt_len=16,
                                 type=argon2.Type.ID)


async def raw_argon2_open_loop(rates: list[float], seconds: float, threads: int,
                               settings: IdentitySettings) -> list[RateResult]:
    """Raw verifications offered at each arrival rate to ``threads`` threads: the latency a login
    could have at that rate if hashing were all it did."""
    ph = hasher(settings)
    encoded = ph.hash(PASSWORD)
    loop = asyncio.get_running_loop()
    results = []
    with ThreadPoolExecutor(threads) as pool:
        for rate in rates:
            async def fire(_: int) -> None:
                await loop.run_in_executor(pool, ph.verify, encoded, PASSWORD)
            results.append(summarize(await at_rate(fire, rate, seconds)))
    return results


async def logins_open_loop(identity: ServiceProcess, rates: list[float], seconds: float) -> list[RateResult]:
    """``POST /v1/sessions`` at each arrival rate, the staff accounts in turn."""
    accounts = [(email, password) for _, _, _, email, _, password in STAFF]
    results = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        for rate in rates:
            async def fire(i: int) -> None:
                email, password = accounts[i % len(accounts)]
                async with http.post(identity.url + "/v1/sessions", json={"email": email, "password": password}) as r:
                    if r.status != 201:
                        raise RuntimeError(f"HTTP {r.status}")
                    await r.read()
            results.append(summarize(await at_rate(fire, rate, seconds)))
    return results


def _raw_smtp_process(port: int, n: int, connections: int, out) -> None:
    async def run() -> float:
        per = [n // connections + (1 if i < n % connections else 0) for i in range(connections)]

        async def sender(count: int, k: int) -> None:
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
            await client.connect()
            for i in range(count):
                msg = EmailMessage()
                msg["From"], msg["To"] = "Doorstroom <noreply@doorstroom.local>", f"raw{k}-{i}@example.nl"
                msg["Subject"] = "Je activatiecode voor het digitaal doorstroomdossier"
                msg.set_content("Beste leerling,\n\n" + "Vul de volgende activatiecode in: ABCD-EFGH-JK\n" * 12)
                await client.send_message(msg)
            await client.quit()

        started = time.perf_counter()
        await asyncio.gather(*(sender(c, k) for k, c in enumerate(per)))
        return time.perf_counter() - started

    asyncio.run(run())
    out.put(time.process_time())  # the sender's own CPU seconds


async def raw_smtp(sink: SmtpSink, n: int, connections: int) -> tuple[float, dict[str, float]]:
    """Mails per second of the raw loop, and its CPU milliseconds per mail: the sender, the sink
    (this process) and the machine as a whole."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    before = len(sink.messages)
    proc = ctx.Process(target=_raw_smtp_process, args=(sink.port, n, connections, queue))
    machine, own = machine_cpu_seconds(), time.process_time()
    started = time.perf_counter()
    proc.start()
    await sink.wait_for(before + n, timeout=300)
    elapsed = time.perf_counter() - started
    machine, own = machine_cpu_seconds() - machine, time.process_time() - own
    sender = await asyncio.get_running_loop().run_in_executor(None, queue.get)
    await asyncio.get_running_loop().run_in_executor(None, proc.join)
    return n / elapsed, {"sender": sender * 1000 / n, "sink": own * 1000 / n, "machine": machine * 1000 / n}


# --- through the services -------------------------------------------------------------------------


async def logins(identity: ServiceProcess, seconds: float, concurrency: int) -> tuple[float, int, list[float]]:
    accounts = [(email, password) for _, _, _, email, _, password in STAFF]
    done, latencies = 0, []
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        async def client(k: int) -> None:
            nonlocal done
            email, password = accounts[k % len(accounts)]
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                async with http.post(identity.url + "/v1/sessions", json={"email": email, "password": password}) as r:
                    assert r.status == 201, await r.text()
                    await r.read()
                latencies.append(time.perf_counter() - t0)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(concurrency)))
        elapsed = time.perf_counter() - started
    return done / elapsed, done, latencies


async def token(http: aiohttp.ClientSession, url: str, who: str) -> dict[str, str]:
    email, password = next((e, p) for k, _, _, e, _, p in STAFF if k == who)
    async with http.post(url + "/v1/sessions", json={"email": email, "password": password}) as r:
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}


async def codes_by_mail(identity: ServiceProcess, notification: ServiceProcess, sink: SmtpSink, students: int,
                        profiles: Profiles | None = None) -> tuple[float, float, float, dict[str, float]]:
    """The roster imported, then the codes of the whole year by mail: import seconds, seconds to
    the answer, seconds to the last mail, and CPU milliseconds per mail (identity, notification,
    the sink in this process, the machine as a whole: PostgreSQL and RabbitMQ included)."""
    header = "Leerlingnummer;Roepnaam;Tussenvoegsel;Achternaam;Geboortedatum;Klas;Leerjaar;E-mail;Mentor\n"
    rows = "".join(f"5{i:05d};Leerling{i};;Bench;01-01-2009;5{'abcdefgh'[i % 8]};5;l{i}@bench.example;"
                   f"{'k.jansen@voorbeeldcollege.example' if i < 8 else ''}\n" for i in range(students))
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        school_admin = await token(http, identity.url, "school_admin")
        async with http.post(identity.url + "/v1/roster/imports", data=(header + rows).encode(), headers={
                **school_admin, "Content-Type": "text/csv"}) as r:
            assert r.status == 202, await r.text()
            job_url = identity.url + r.headers["Location"]
        while True:  # the students are imported by the import job, in chunks
            async with http.get(job_url, headers=school_admin) as r:
                job = await r.json()
            if job["state"] in ("done", "failed"):
                break
            await asyncio.sleep(0.05)
        assert job["state"] == "done", job
        import_seconds = time.perf_counter() - started
        counsellor = await token(http, identity.url, "counsellor")
        before = len(sink.messages)
        if profiles:  # py-spy attaches in the background; the codes go out while it records
            await profiles.__aenter__()
            await asyncio.sleep(0.5)
        pids = {"identity": identity.proc.pid, "notification": notification.proc.pid}
        cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        machine, own = machine_cpu_seconds(), time.process_time()
        started = time.perf_counter()
        async with http.post(identity.url + "/v1/activation-codes", json={"channel": "email", "school_year": 5},
                             headers=counsellor) as r:
            assert r.status == 201, await r.text()
            issued = len((await r.json())["issued"])
            request_seconds = time.perf_counter() - started
    assert issued == students
    await sink.wait_for(before + students, timeout=600)
    elapsed = time.perf_counter() - started
    cpu = {name: (cpu_seconds(pid) - cpu[name]) * 1000 / students for name, pid in pids.items()}
    cpu["sink"] = (time.process_time() - own) * 1000 / students
    cpu["machine"] = (machine_cpu_seconds() - machine) * 1000 / students
    if profiles:
        await profiles.__aexit__(None, None, None)
    return import_seconds, request_seconds, elapsed, cpu


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--rates", type=parse_rates, default=parse_rates("5,10,20,40"),
                        help="open-loop login arrival rates per second")
    parser.add_argument("--rate-seconds", type=float, default=5.0, help="seconds of load per rate")
    parser.add_argument("--target-ms", type=float, default=500.0, help="p99 target for a login")
    parser.add_argument("--profile", metavar="DIR", help="py-spy on identity and notification while the codes go out")
    args = parser.parse_args()
    settings = IdentitySettings()
    threads = settings.password_hash_threads or os.cpu_count() or 1
    run = uuid.uuid4().hex[:6]
    try:
        async with SmtpSink(parse=False) as sink:  # both sides only count what arrives
            started = time.perf_counter()
            identity = await ServiceProcess("identity", db=f"bench_id_{run}", log_level="WARNING").start()
            identity_ready = time.perf_counter() - started
            notification = await ServiceProcess(
                "notification", db=f"bench_no_{run}", smtp_port=sink.port, smtp_connections=SMTP_CONNECTIONS,
                log_level="WARNING", db_pool_max=10, consumer_prefetch=100).start()
            try:
                pool = await db.create_pool(env.database_url(f"bench_id_{run}"), min_size=1, max_size=2)
                try:
                    await load_demo(pool, settings)
                finally:
                    await pool.close()
                raw1 = raw_argon2(args.seconds / 2, 1, settings)
                rawn = raw_argon2(args.seconds / 2, threads, settings)
                raw_ol = await raw_argon2_open_loop(args.rates, args.rate_seconds, threads, settings)
                memory = PeakRss({"identity": identity.proc.pid})
                async with memory:
                    logins_ol = await logins_open_loop(identity, args.rates, args.rate_seconds)
                    login_rate, login_n, login_lat = await logins(identity, args.seconds, args.concurrency)
                profiles = Profiles({"identity": identity.proc.pid, "notification": notification.proc.pid},
                                    args.profile, seconds=max(2.0, args.students / 500)) if args.profile else None
                import_s, request_s, mail_s, mail_cpu = await codes_by_mail(
                    identity, notification, sink, args.students, profiles)
                raw_rate, raw_cpu = await raw_smtp(sink, args.students, SMTP_CONNECTIONS)
            finally:
                await notification.stop()
                await identity.stop()
    finally:
        await env.delete_run_queues()
        await env.drop_databases()

    cores = os.cpu_count()
    print(f"\nArgon2id m={settings.argon2_memory_kib} KiB t={settings.argon2_time_cost} p={settings.argon2_parallelism} "
          f"(OWASP), {cores} cores shared by everything, identity: 1 process, {threads} hashing threads")
    print(f"\nopen loop, {args.rate_seconds:g} s per rate; latency from the intended send time")
    print_table(f"raw Argon2id verify offered to {threads} threads (capacity {rawn:.1f}/s)", raw_ol, args.target_ms)
    print_table("logins over HTTP (POST /v1/sessions)", logins_ol, args.target_ms)
    print("  p50 login/raw verify per rate: " + "   ".join(
        f"{svc.rate:.0f}/s {svc.p50 / raw.p50:.2f}x" for svc, raw in zip(logins_ol, raw_ol)))
    print(f"  identity memory (RSS at rest -> peak, logins): {memory.report()}")
    print(f"  start to ready: identity {identity_ready:.1f} s")
    print("\nclosed loop (throughput at saturation)")
    print(f"{'raw Argon2id verify, 1 thread':<48} {raw1:>8.1f}/s")
    print(f"{f'raw Argon2id verify, {threads} threads':<48} {rawn:>8.1f}/s")
    print(f"{f'logins over HTTP, {args.concurrency} clients, {args.seconds:.0f} s':<48} {login_rate:>8.1f}/s"
          f"   ({login_n} logins, p50 {pct(login_lat, .5) * 1000:.0f} ms, p99 {pct(login_lat, .99) * 1000:.0f} ms)")
    print(f"ratio logins/raw verify ({threads} threads): {login_rate / rawn:.2f}   "
          f"(1 thread: {login_rate / raw1:.2f})")
    mail_rate = args.students / mail_s
    print(f"\n{args.students} students: roster import {import_s:.2f} s; issue codes by e-mail: answer in {request_s:.2f} s,"
          f" last mail at the sink after {mail_s:.2f} s")
    print(f"{'issue -> outbox -> broker -> notification -> SMTP':<48} {mail_rate:>8.0f} mails/s")
    print(f"{f'raw aiosmtplib loop, {SMTP_CONNECTIONS} connections, same sink':<48} {raw_rate:>8.0f} mails/s")
    print(f"ratio service/raw: {mail_rate / raw_rate:.2f}   ({OLD_MAILS})")
    print("CPU ms per mail:  " + "   ".join(f"{k} {v:.2f}" for k, v in mail_cpu.items())
          + "\n  raw loop:        " + "   ".join(f"{k} {v:.2f}" for k, v in raw_cpu.items())
          + f"\n  (the machine's {os.cpu_count()} cores give {os.cpu_count() * 1000 / raw_rate:.2f} ms per mail"
          f" at the raw rate, {os.cpu_count() * 1000 / mail_rate:.2f} at the service's)")
    if profiles:
        print(f"profile while the codes went out (py-spy, {args.profile}):\n" + profiles.report())


if __name__ == "__main__":
    import uvloop
    uvloop.install()
    asyncio.run(main())
