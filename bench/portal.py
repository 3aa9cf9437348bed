"""Portal benchmark: the pages a mentor uses most, next to the API calls behind them, in one run.

    .venv/bin/python -m bench.portal [--students 20] [--users 20] [--rates 10,25,50,100] [--seconds 5]
        [--target-ms 100] [--requests 30] [--skip-closed-loop] [--profile DIR]

What it does:

1. starts the whole system in this process (identity, dossier, document, notification and the
   portal on loopback ports, databases and an exchange of their own, removed afterwards: the same
   system the browser tests use) and seeds a school whose mentor has ``--students`` dossiers
   waiting for part B, made through the APIs as the students and the mentor would;
2. then starts identity, dossier and the portal as processes of their own on the same databases
   and exchange (``python -m services.<name>``, as in production): the pages and their API calls
   are measured against those, so the load generator's event loop is not the portal's;
3. open loop (bench/openloop.py): "te behandelen" (``GET /school``, ``--users`` logged-in mentor
   sessions in turn: cookies, server-side sessions) at fixed arrival rates, latency from each
   request's intended send time; baseline at the same rates: the API calls the page is made from
   (worklist search and counts) straight to the dossier service with a bearer token, made as the
   page makes them (at the same time); then "mijn leerlingen" (``GET /school/leerlingen``) against
   the student search and identity's class list. Per rate the ratio page/API calls of p50 and p99;
   the processes' memory at rest and at peak and their time from start to ready;
4. closed loop (throughput at saturation): ``--users`` clients, ``--requests`` each, page vs calls.

The page's extra cost over its API calls is the portal's own: the session (a PostgreSQL row),
the token it holds, the CSRF token, the template and the HTML.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import aiohttp

from bench.dossier import drain_events
from bench.openloop import (
    PeakRss,
    Profiles,
    RateResult,
    at_rate,
    cpu_seconds,
    parse_rates,
    print_table,
    summarize,
)
from bench.stats import pct
from tests.browser.system import (
    PASSWORD,
    Demo,
    System,
    import_roster,
    invite_mentor,
    issue_codes_by_mail,
    open_system,
    seed,
    student_with_dossier,
    to_mentor,
)
from tests.support import env
from tests.support.apps import ServiceProcess

# the issue's figures (issue 14, closed loop, in-process services, calls one after another)
OLD_RATIOS = {"te behandelen": 2.2, "mijn leerlingen": 2.1}
PATHS = {"te behandelen": "/school", "mijn leerlingen": "/school/leerlingen"}


def bsns(n: int) -> list[str]:
    """``n`` numbers that pass the eleven test."""
    found, candidate = [], 100_000_000
    while len(found) < n:
        candidate += 1
        digits = [int(c) for c in f"{candidate:09d}"]
        if (sum(d * (9 - i) for i, d in enumerate(digits[:8])) - digits[8]) % 11 == 0:
            found.append(f"{candidate:09d}")
    return found


async def populate(system: System, demo: Demo, students: int) -> None:
    rows = [f"{7000 + i};Leerling;Leerling;;Nummer{i:03d};12-03-2010;4a;4;l{i}-{system.tag}@leerling.example.nl;"
            f"{demo.mentor}" for i in range(students)]
    await import_roster(system, demo, rows)
    await invite_mentor(system, demo)
    await issue_codes_by_mail(system, demo, "4a")
    for i, bsn in enumerate(bsns(students)):
        email = f"l{i}-{system.tag}@leerling.example.nl"
        await to_mentor(system, demo, email, await student_with_dossier(system, email, bsn))


# --- the services as processes ---------------------------------------------------------------------

@dataclass
class Processes:
    identity: ServiceProcess
    dossier: ServiceProcess
    portal: ServiceProcess
    ready: dict[str, float]

    def pids(self) -> dict[str, int]:
        return {name: getattr(self, name).proc.pid for name in ("portal", "dossier", "identity")}

    async def stop(self) -> None:
        for proc in (self.portal, self.dossier, self.identity):
            if proc.proc is not None:
                await proc.stop()


async def start_processes(stack: AsyncExitStack, system: System) -> Processes:
    """identity, dossier and the portal as processes on the seeded databases and the same exchange
    (next to the in-process ones, as more processes of a service are: idle, they cost nothing)."""
    exchange = env.run_exchange(f"browser_{system.tag}")
    ready: dict[str, float] = {}

    async def start(proc: ServiceProcess) -> ServiceProcess:
        started = time.perf_counter()
        await proc.start()
        stack.push_async_callback(proc.stop)
        ready[proc.name] = time.perf_counter() - started
        return proc

    identity = ServiceProcess("identity", db=f"bid_{system.tag}", event_exchange=exchange,
                              argon2_time_cost=1, argon2_memory_kib=1024, public_base_url=system.portal_url)
    identity.env["AUTH_JWKS_URL"] = identity.url + "/.well-known/jwks.json"
    await start(identity)
    jwks = identity.url + "/.well-known/jwks.json"
    dossier = await start(ServiceProcess("dossier", db=f"bdo_{system.tag}", event_exchange=exchange,
                                         auth_jwks_url=jwks, reminder_auto=False, retention_auto=False,
                                         public_base_url=system.portal_url))
    portal = ServiceProcess("portal", db=f"bpp_{system.tag}", event_exchange=exchange, auth_jwks_url=jwks,
                            identity_url=identity.url, dossier_url=dossier.url, document_url=system.document_url)
    portal.env["PUBLIC_BASE_URL"] = portal.url
    await start(portal)
    return Processes(identity, dossier, portal, ready)


async def logged_in(portal_url: str, email: str) -> aiohttp.ClientSession:
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[portal_url])
    http = aiohttp.ClientSession(base_url=portal_url, cookie_jar=jar)
    page = await (await http.get("/inloggen")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    async with http.post("/inloggen", data={"email": email, "password": PASSWORD, "csrf_token": token},
                         allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    return http


# --- the requests ------------------------------------------------------------------------------------

Request = Callable[[int], Awaitable[None]]


def page_request(sessions: list[aiohttp.ClientSession], path: str) -> Request:
    """Request ``i`` of a page: the sessions take turns."""
    async def one(i: int) -> None:
        async with sessions[i % len(sessions)].get(path) as r:
            if r.status != 200:
                raise RuntimeError(f"HTTP {r.status}")
            await r.read()
    return one


SEQUENTIAL, PARALLEL = "one after another", "at the same time"


def api_requests(http: aiohttp.ClientSession, procs: Processes, bearer: dict[str, str],
                 how: str) -> dict[str, Request]:
    """The API calls behind each page, straight to the services with a bearer token: ``how`` is
    SEQUENTIAL (the issue's baseline, and how the page made them before) or PARALLEL (how the
    page makes them now: the strict baseline)."""
    async def call(method: str, url: str, body: dict | None = None) -> None:
        async with http.request(method, url, json=body, headers=bearer) as r:
            if r.status != 200:
                raise RuntimeError(f"HTTP {r.status}")
            await r.read()

    async def both(*calls) -> None:
        if how == PARALLEL:
            await asyncio.gather(*calls)
        else:
            for c in calls:
                await c

    async def worklist(_: int) -> None:
        await both(call("POST", procs.dossier.url + "/v1/overviews/worklist/search",
                        {"q": "", "class_id": None, "page": 1, "page_size": 25}),
                   call("GET", procs.dossier.url + "/v1/overviews/counts"))

    async def students(_: int) -> None:
        await both(call("POST", procs.dossier.url + "/v1/overviews/students/search",
                        {"q": "", "page": 1, "page_size": 25}),
                   call("GET", procs.identity.url + "/v1/classes"))

    return {"te behandelen": worklist, "mijn leerlingen": students}


@dataclass
class Series:
    """One kind of request at each arrival rate, with the CPU each process used per request."""
    results: list[RateResult] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU seconds over all runs
    requests: int = 0

    def cpu_ms(self, name: str) -> float:
        return self.cpu.get(name, 0.0) * 1000 / max(self.requests, 1)

    async def run(self, fire: Request, rate: float, seconds: float, pids: dict[str, int],
                  profile: Profiles | None = None) -> None:
        """``fire`` at ``rate`` (under py-spy when ``profile`` is given)."""
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        if profile is not None:
            async with profile:
                run = await at_rate(fire, rate, seconds)
        else:
            run = await at_rate(fire, rate, seconds)
        for name, pid in pids.items():
            self.cpu[name] = self.cpu.get(name, 0.0) + cpu_seconds(pid) - before[name]
        self.requests += len(run.intended)
        self.results.append(summarize(run))


async def closed_loop(clients: int, requests: int, one: Request) -> tuple[float, list[float], int]:
    """Every client makes ``requests`` requests one after another; all clients at once. A failed
    request (a 503 when the machine's PostgreSQL has no connection left, say) is counted, not timed."""
    latencies: list[float] = []
    counter = itertools.count()
    errors = 0

    async def client() -> None:
        nonlocal errors
        for _ in range(requests):
            started = time.perf_counter()
            try:
                await one(next(counter))
            except (RuntimeError, aiohttp.ClientError, TimeoutError):
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(latencies) / (time.perf_counter() - started), latencies, errors


def ratio_rows(api: list[RateResult], page: list[RateResult]) -> list[tuple[float, float, float, float, float]]:
    """Per arrival rate: (rate, p50 page/API, p99 page/API, page p50 minus API p50 in ms, page p99 minus API
    p99 in ms). The two lists are runs at the same rates, in the same order."""
    rows = []
    for a, p in zip(api, page, strict=True):
        assert a.rate == p.rate, (a.rate, p.rate)
        rows.append((a.rate, p.p50 / a.p50 if a.p50 else float("nan"), p.p99 / a.p99 if a.p99 else float("nan"),
                     (p.p50 - a.p50) * 1000, (p.p99 - a.p99) * 1000))
    return rows


def print_ratios(name: str, baselines: dict[str, list[RateResult]], page: list[RateResult]) -> None:
    print(f"  ratio page/API calls, per rate (old: {OLD_RATIOS[name]:.1f}x, closed loop, calls one after "
          "another; target <= 1.5x)")
    print(f"  {'API calls':<18} {'rate/s':>7} {'p50 ratio':>10} {'p99 ratio':>10} {'p50 extra ms':>13} "
          f"{'p99 extra ms':>13}")
    for how, api in baselines.items():
        for rate, r50, r99, d50, d99 in ratio_rows(api, page):
            print(f"  {how:<18} {rate:>7.0f} {r50:>9.2f}x {r99:>9.2f}x {d50:>13.1f} {d99:>13.1f}")


def print_cpu(figures: dict[str, Series], processes: list[str]) -> None:
    print(f"  CPU per request, ms (all rates): {'':<22}" + "".join(f"{p:>9}" for p in processes) + f"{'total':>9}")
    for label, one in figures.items():
        cells = [one.cpu_ms(p) for p in processes]
        print(f"    {label:<52}" + "".join(f"{c:>9.2f}" for c in cells) + f"{sum(cells):>9.2f}")


def report(name: str, rate: float, lat: list[float], errors: int = 0) -> None:
    print(f"  {name:<52} p50 {pct(lat, .5) * 1000:7.1f} ms   p99 {pct(lat, .99) * 1000:7.1f} ms   {rate:7,.0f} req/s"
          + (f"   ({errors} failed)" if errors else ""))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20, help="dossiers waiting for the mentor")
    parser.add_argument("--users", type=int, default=20, help="mentor sessions (concurrent ones in the closed loop)")
    parser.add_argument("--requests", type=int, default=30, help="pages per session in the closed loop")
    parser.add_argument("--rates", type=parse_rates, default=parse_rates("10,25,50,100"),
                        help="open-loop arrival rates per second, e.g. 10,25,50,100")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of load per rate")
    parser.add_argument("--target-ms", type=float, default=100.0, help="p99 target for the open loop")
    parser.add_argument("--skip-closed-loop", action="store_true")
    parser.add_argument("--profile", metavar="DIR", help="py-spy the portal and dossier at the highest rate of "
                                                         "each page; stacks into DIR")
    args = parser.parse_args()
    open_figures: dict[str, dict[str, Series]] = {}
    closed: dict[str, tuple[tuple[float, list[float], int], ...]] = {}
    profiles: dict[str, Profiles] = {}
    try:
        async with AsyncExitStack() as stack:
            system = await open_system(stack)
            # every dossier event routable and consumed (as the notification service and others do in
            # production): else the outbox relays warn of each event the broker refused
            amqp = await drain_events(env.run_exchange(f"browser_{system.tag}"))
            stack.push_async_callback(amqp.close)
            demo = await seed(system)
            await populate(system, demo, args.students)
            procs = await start_processes(stack, system)
            token = await system.login(demo.mentor)
            bearer = {"Authorization": f"Bearer {token}"}
            sessions = [await logged_in(procs.portal.url, demo.mentor) for _ in range(args.users)]
            for http in sessions:
                stack.push_async_callback(http.close)
            check = await (await sessions[0].get("/school")).text()
            assert check.count("Start deel B") >= min(args.students, 25), "the worklist is on the page"
            http = await stack.enter_async_context(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)))
            apis = {how: api_requests(http, procs, bearer, how) for how in (SEQUENTIAL, PARALLEL)}
            pids = procs.pids()
            memory = PeakRss(pids)
            async with memory:
                for name, path in PATHS.items():
                    page = page_request(sessions, path)
                    await closed_loop(2, 5, page)  # warm up
                    await closed_loop(2, 5, apis[PARALLEL][name])
                    kinds = {f"API calls {SEQUENTIAL}": apis[SEQUENTIAL][name],
                             f"API calls {PARALLEL}": apis[PARALLEL][name], f"portal page (GET {path})": page}
                    runs = {label: Series() for label in kinds}
                    if args.profile:
                        profiles[name] = Profiles({"portal": pids["portal"], "dossier": pids["dossier"]},
                                                  f"{args.profile}/{path.strip('/').replace('/', '-')}", args.seconds)
                    for rate in args.rates:  # the three kinds in turn at each rate: the machine's noise hits all
                        for label, fire in kinds.items():
                            spy = profiles.get(name) if fire is page and rate == max(args.rates) else None
                            await runs[label].run(fire, rate, args.seconds, pids, spy)
                    open_figures[name] = runs
                    if not args.skip_closed_loop:
                        closed[name] = (await closed_loop(args.users, args.requests, apis[SEQUENTIAL][name]),
                                        await closed_loop(args.users, args.requests, apis[PARALLEL][name]),
                                        await closed_loop(args.users, args.requests, page))
            ready = procs.ready
    finally:
        await env.delete_run_queues()
        await env.drop_databases()

    print(f"\n{args.students} dossiers waiting, {args.users} mentor sessions; identity, dossier and the portal "
          f"one process each, load from another; 2 cores shared by everything")
    print(f"open loop, {args.seconds:g} s per rate; latency from the intended send time")
    for name, runs in open_figures.items():
        print(f'\n"{name}"')
        for label, one in runs.items():
            print_table(f"{label}" + (" (bearer token)" if label.startswith("API") else ""), one.results,
                        args.target_ms)
        page = runs[f"portal page (GET {PATHS[name]})"].results
        print()
        print_ratios(name, {how: runs[f"API calls {how}"].results for how in (SEQUENTIAL, PARALLEL)}, page)
        print_cpu(runs, ["portal", "dossier", "identity"])
        if name in profiles:
            print(f"  profile of the page at {max(args.rates):.0f}/s (py-spy):\n{profiles[name].report()}")
    print(f"\n  memory (RSS at rest -> peak): {memory.report()}")
    print("  start to ready: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in ready.items()))
    if not closed:
        return
    print(f"\nclosed loop (throughput at saturation): {args.users} concurrent mentor sessions x {args.requests} pages")
    for name, ((seq_rate, seq_lat, seq_err), (par_rate, par_lat, par_err), (page_rate, page_lat, page_err)) \
            in closed.items():
        print(f'"{name}"')
        report(f"raw: the page's API calls {SEQUENTIAL}", seq_rate, seq_lat, seq_err)
        report(f"raw: the page's API calls {PARALLEL}", par_rate, par_lat, par_err)
        report(f"portal page (GET {PATHS[name]})", page_rate, page_lat, page_err)
        for how, rate, lat in ((SEQUENTIAL, seq_rate, seq_lat), (PARALLEL, par_rate, par_lat)):
            print(f"  {f'ratio page/API calls {how}':<52} p50 {pct(page_lat, .5) / pct(lat, .5):7.1f} x   "
                  f"throughput {page_rate / rate:.2f}" + (f"   (old: {OLD_RATIOS[name]:.1f}x)" if how == SEQUENTIAL else ""))

if __name__ == "__main__":
    import uvloop
    uvloop.install()
    asyncio.run(main())
