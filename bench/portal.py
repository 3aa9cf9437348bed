"""Portal benchmark: the pages a mentor uses most, next to the API calls behind them, in one run.

    .venv/bin/python -m bench.portal [--students 20] [--users 20] [--requests 30]

What it does:

1. starts the whole system in this process (identity, dossier, document, notification and the
   portal on loopback ports, databases and an exchange of their own, removed afterwards: the same
   system the browser tests use) and seeds a school whose mentor has ``--students`` dossiers
   waiting for part B, made through the APIs as the students and the mentor would;
2. "te behandelen" (``GET /school``): ``--users`` logged-in mentor sessions (cookies, server-side
   sessions) ask for the page ``--requests`` times each; baseline: the same number of clients
   making the two API calls the page is made from (worklist search and counts) straight to the
   dossier service with a bearer token;
3. "mijn leerlingen" (``GET /school/leerlingen``): the same, against the student search and the
   class list from identity.

The page's extra cost over its API calls is the portal's own: the session (a PostgreSQL row),
the token it holds, the CSRF token, the template and the HTML. Services and load generator share
one event loop and the machine's cores: read the ratio.
"""
from __future__ import annotations

import argparse
import asyncio
import re
import time
from contextlib import AsyncExitStack
from typing import Awaitable, Callable

import aiohttp

from bench.stats import pct
from tests.browser.system import (PASSWORD, Demo, System, import_roster, invite_mentor, issue_codes_by_mail,
                                  open_system, seed, student_with_dossier, to_mentor)
from tests.support import env


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


async def logged_in(system: System, email: str) -> aiohttp.ClientSession:
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[system.portal_url])
    http = aiohttp.ClientSession(base_url=system.portal_url, cookie_jar=jar)
    page = await (await http.get("/inloggen")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    async with http.post("/inloggen", data={"email": email, "password": PASSWORD, "csrf_token": token},
                         allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    return http


async def load(clients: list, requests: int, one: Callable[[object], Awaitable[None]]) -> tuple[float, list[float]]:
    """Every client makes ``requests`` requests one after another; all clients at once."""
    latencies: list[float] = []

    async def client(c) -> None:
        for _ in range(requests):
            started = time.perf_counter()
            await one(c)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in clients))
    return len(latencies) / (time.perf_counter() - started), latencies


def report(name: str, rate: float, lat: list[float]) -> None:
    print(f"  {name:<52} p50 {pct(lat, .5) * 1000:7.1f} ms   p99 {pct(lat, .99) * 1000:7.1f} ms   {rate:7,.0f} req/s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20, help="dossiers waiting for the mentor")
    parser.add_argument("--users", type=int, default=20, help="concurrent sessions")
    parser.add_argument("--requests", type=int, default=30, help="pages per session")
    args = parser.parse_args()
    try:
        async with AsyncExitStack() as stack:
            system = await open_system(stack)
            demo = await seed(system)
            await populate(system, demo, args.students)
            token = await system.login(demo.mentor)
            bearer = {"Authorization": f"Bearer {token}"}
            sessions = [await logged_in(system, demo.mentor) for _ in range(args.users)]
            for http in sessions:
                stack.push_async_callback(http.close)
            check = await (await sessions[0].get("/school")).text()
            assert check.count("Start deel B") >= min(args.students, 25), "the worklist is on the page"

            async def page(path: str):
                async def one(http: aiohttp.ClientSession) -> None:
                    async with http.get(path) as r:
                        assert r.status == 200, r.status
                        await r.read()
                return one

            async def worklist_api(_) -> None:
                body = {"q": "", "class_id": None, "page": 1, "page_size": 25}
                async with system.http.post(system.dossier_url + "/v1/overviews/worklist/search", json=body,
                                            headers=bearer) as r:
                    assert r.status == 200
                    await r.read()
                async with system.http.get(system.dossier_url + "/v1/overviews/counts", headers=bearer) as r:
                    assert r.status == 200
                    await r.read()

            async def students_api(_) -> None:
                body = {"q": "", "page": 1, "page_size": 25}
                async with system.http.post(system.dossier_url + "/v1/overviews/students/search", json=body,
                                            headers=bearer) as r:
                    assert r.status == 200
                    await r.read()
                async with system.http.get(system.identity_url + "/v1/classes", headers=bearer) as r:
                    assert r.status == 200, (r.status, await r.text())
                    await r.read()

            figures = {}
            for name, api_calls, path in (("te behandelen", worklist_api, "/school"),
                                          ("mijn leerlingen", students_api, "/school/leerlingen")):
                await load(sessions[:2], 3, await page(path))  # warm up
                figures[name] = (await load(list(range(args.users)), args.requests, api_calls),
                                 await load(sessions, args.requests, await page(path)))
    finally:
        await env.delete_run_queues()
        await env.drop_databases()

    print(f"\n{args.students} dossiers waiting, {args.users} concurrent mentor sessions x {args.requests} pages; "
          "services and load in one process on 2 cores")
    for name, ((api_rate, api_lat), (page_rate, page_lat)) in figures.items():
        print(f'"{name}"')
        report("raw: the page's API calls (bearer token)", api_rate, api_lat)
        report(f"portal page ({'GET /school' if name == 'te behandelen' else 'GET /school/leerlingen'})",
               page_rate, page_lat)
        print(f"  {'ratio page/API calls':<52} p50 {pct(page_lat, .5) / pct(api_lat, .5):7.1f} x   "
              f"throughput {page_rate / api_rate:.2f}")


if __name__ == "__main__":
    import uvloop
    uvloop.install()
    asyncio.run(main())
