"""Dossier benchmark: "mijn leerlingen" searches, part A saves and whole journeys over HTTP, each next
to a raw asyncpg baseline doing the same database work in the same run, with the ratio.

    .venv/bin/python -m bench.dossier [--students 100000] [--dossiers 200000] [--users 50]
                                      [--requests 40] [--journeys 1000] [--workers 2] [--db-pool 10]
                                      [--parts search,save,journeys] [--profile DIR] [--db-host HOST]

What it does:

1. starts ``python -m services.dossier`` as a real process (WORKERS processes, DB_POOL_MAX each) with a
   database and a RabbitMQ exchange of its own (removed afterwards), and a JWKS of its own for tokens;
2. loads the read model (schools, MBO catalogue, classes, mentors, students) and the dossiers straight
   into the dossier database with INSERT ... SELECT FROM generate_series (no HTTP), then ANALYZE;
3. "mijn leerlingen": ``--users`` concurrent mentors and counsellors, ``--requests`` searches each (name
   fragments, class and leerjaar filters, page 1 of 25) over HTTP; baseline: the same two statements
   (``services.dossier.queries.student_search_sql``) straight on asyncpg with as many connections;
4. saving a part A section: ``--users`` concurrent students each saving their own dossier's section
   with If-Match, ``--requests`` times; baseline: the same rows written by an asyncpg loop (lock the
   dossier, upsert the section, read the answers, bump the dossier, history and audit rows);
5. ``--journeys`` students at once through the whole journey (new dossier, nine sections, submit,
   part B by the mentor, send, agreement, complete: 16 requests each); baseline: the same inserts and
   updates per student on asyncpg, as many at once (its outbox rows written as published, so the
   service's relay publishes only the journeys' real events, which are counted). Both print the CPU
   seconds of the service, its PostgreSQL backends and this load generator; ``--profile DIR`` runs
   py-spy on the service meanwhile and prints the functions with the most samples of their own;
6. a table of issue 14's figures (``OLD``) beside this run's, with the targets met or not.

``--parts`` runs some of search, save, journeys; ``--db-host /var/run/postgresql`` puts the service
and the raw baselines on PostgreSQL's Unix socket instead of TCP on 127.0.0.1.

Everything shares the machine's cores (the service, PostgreSQL, RabbitMQ and this load generator), so
the figures are relative: read the ratios.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import time
import uuid
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import aiohttp
import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench.openloop import (
    Profiles,
    RateResult,
    at_rate,
    parse_rates,
    print_table,
    process_cpu_seconds,
    process_tree,
    summarize,
)
from bench.stats import pct
from services.dossier.queries import StudentSearch, student_search_sql
from shared.auth import Principal, TokenSigner, jwks, new_private_key_pem
from tests.support import env
from tests.support.answers import GUIDANCE, PART_A
from tests.support.apps import ServiceProcess

FIRST = ["Roos", "Jaap", "Mirjam", "Daan", "Sanne", "Noah", "Emma", "Liam", "Julia", "Sem", "Tess", "Lucas",
         "Fleur", "Finn", "Sara", "Milan", "Lotte", "Levi", "Eva", "Bram", "Anna", "Thijs", "Lisa", "Jesse",
         "Femke", "Ruben", "Iris", "Luuk", "Noor", "Jens", "Mila", "Stijn", "Nina", "Thomas", "Yara", "Sven",
         "Fenna", "Mohamed", "Aya", "Youssef"]
LAST = ["Winter", "Rierink", "Hoenderloo", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos",
        "Vos", "Peters", "Hendriks", "Dekker", "Brouwer", "Dijkstra", "Kok", "Jacobs", "Vermeulen", "Willems",
        "Schouten", "Hoekstra", "Koster", "Prins", "Huisman", "Kuipers", "Postma", "Veenstra", "Kramer", "Schipper",
        "Molenaar", "Timmermans", "Wouters", "Maas", "Verhoeven", "Claes", "Yilmaz", "El Amrani", "Nguyen",
        "Kaya", "Bosman", "Lammers", "Haan", "Groot", "Sluis", "Boer", "Berg", "Dam", "Ven", "Heuvel", "Linden",
        "Wal", "Broek", "Veen", "Meer", "Leeuwen", "Vliet", "Beek", "Laan", "Graaf"]
TUSSEN = ["", "", "", "", "de", "van", "van der", "van den"]
CLASSES_PER_SCHOOL = 25
N_MBO, N_PROGRAMMES = 20, 1000

ASSESSMENT = {"argumentatie": "Past goed bij de leerling.", "advies": "positive", "opp": False, "contactnodig": False}


def uid(kind: str, n: int | str) -> uuid.UUID:
    """The ids the SQL below makes: md5(kind || n)::uuid."""
    return uuid.UUID(hashlib.md5(f"{kind}{n}".encode()).hexdigest())


# --------------------------------------------------------------------------- data


def _array(values: list[str]) -> str:
    return "(ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "])"


async def load(dsn: str, students: int, dossiers: int, journeys: int) -> dict:
    schools = max(1, students // 1000)
    classes = schools * CLASSES_PER_SCHOOL
    first, last, tussen = _array(FIRST), _array(LAST), _array(TUSSEN)
    name = f"""(SELECT {first}[1 + abs(hashtext('f' || i)) % {len(FIRST)}] AS roepnaam,
                       {tussen}[1 + abs(hashtext('t' || i)) % {len(TUSSEN)}] AS tussenvoegsel,
                       {last}[1 + abs(hashtext('l' || i)) % {len(LAST)}] AS achternaam)"""
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        await conn.execute("SET synchronous_commit = off")
        await conn.execute(f"""
            INSERT INTO schools (school_id, kind, name, brin, city, parent_rule, source_time)
            SELECT md5('vo' || i)::uuid, 'vo', 'Vmbo ' || i, lpad(i::text, 4, '0'), 'Utrecht', 'none', now()
            FROM generate_series(1, {schools + 2}) i;
            INSERT INTO schools (school_id, kind, name, city, source_time)
            SELECT md5('mbo' || i)::uuid, 'mbo', 'MBO ' || i, 'Utrecht', now() FROM generate_series(1, {N_MBO}) i;
            INSERT INTO programmes (programme_id, institution_id, name, crebo, level, pathway)
            SELECT md5('prog' || p)::uuid, md5('mbo' || (p % {N_MBO} + 1))::uuid, 'Opleiding ' || p,
                   lpad((10000 + p)::text, 5, '0'), 1 + p % 4, CASE WHEN p % 3 = 0 THEN 'BBL' ELSE 'BOL' END
            FROM generate_series(1, {N_PROGRAMMES}) p;
            INSERT INTO classes (class_id, school_id, name, leerjaar, source_time)
            SELECT md5('class' || k)::uuid, md5('vo' || ((k - 1) / {CLASSES_PER_SCHOOL} + 1))::uuid,
                   (3 + k % 2) || chr(97 + (k - 1) % {CLASSES_PER_SCHOOL}), 3 + k % 2, now()
            FROM generate_series(1, {classes + 40}) k;
            INSERT INTO class_mentors (class_id, staff_id, name, email)
            SELECT md5('class' || k)::uuid, md5('mentor' || k || '-' || m)::uuid, 'Mentor ' || k || '-' || m,
                   'mentor' || k || '-' || m || '@vo.example.nl'
            FROM generate_series(1, {classes + 40}) k, generate_series(0, 1) m;
            INSERT INTO staff (staff_id, school_id, role, name, email, source_time)
            SELECT staff_id, c.school_id, 'mentor', cm.name, cm.email, now()
            FROM class_mentors cm JOIN classes c USING (class_id);
        """)
        # the roster: students i = 1..N in class (i - 1) % classes + 1; then the journey students
        await conn.execute(f"""
            INSERT INTO students (student_id, school_id, student_number, roepnaam, voornamen, tussenvoegsel,
                                  achternaam, date_of_birth, class_id, class_name, leerjaar, email, account_id,
                                  sort_name, search_name, source_time)
            SELECT md5('student' || i)::uuid, c.school_id, i::text, n.roepnaam, n.roepnaam, n.tussenvoegsel,
                   n.achternaam, date '2008-01-01' + (i % 700), c.class_id, c.name, c.leerjaar,
                   'leerling' || i || '@example.nl', md5('account' || i)::uuid,
                   lower(concat_ws(' ', n.achternaam, n.roepnaam, nullif(n.tussenvoegsel, ''))),
                   lower(concat_ws(' ', n.roepnaam, n.roepnaam, nullif(n.tussenvoegsel, ''), n.achternaam)), now()
            FROM generate_series(1, {students + journeys}) i
            CROSS JOIN LATERAL {name} n
            JOIN classes c ON c.class_id = md5('class' || CASE WHEN i <= {students}
                THEN (i - 1) % {classes} + 1 ELSE {classes} + 1 + (i - {students} - 1) % 40 END)::uuid;
        """)
        # two dossiers per student on average, spread over the states
        await conn.execute(f"""
            INSERT INTO dossiers (id, student_id, school_id, school_year, form_version, part_b_form_version, state,
                                  part_b_started, part_b_approved, mentor_id, mentor_name, choice_kind,
                                  institution_id, programme_id, first_choice, progress, warm_handover,
                                  contact_wanted, created_at, updated_at, state_changed_at, submitted_at,
                                  completed_at, final)
            SELECT md5('dossier' || j)::uuid, md5('student' || s)::uuid,
                   md5('vo' || (((s - 1) % {classes}) / {CLASSES_PER_SCHOOL} + 1))::uuid,
                   '2026-2027', '2026-2027', '2026-2027', st.state, st.state <> 'part_a' AND j % 3 = 0,
                   st.state IN ('agreement', 'completed'),
                   CASE WHEN st.state <> 'part_a' THEN md5('mentor' || ((s - 1) % {classes} + 1) || '-0')::uuid END,
                   CASE WHEN st.state <> 'part_a' THEN 'Mentor' END, 'mbo',
                   md5('mbo' || (p % {N_MBO} + 1))::uuid, md5('prog' || p)::uuid, j % 2 = 1,
                   CASE st.state WHEN 'completed' THEN 100 WHEN 'agreement' THEN 0 ELSE j % 101 END,
                   j % 17 = 0, j % 13 = 0, now() - interval '60 days', now() - (j % 50) * interval '1 hour',
                   now() - (j % 30) * interval '1 day',
                   CASE WHEN st.state <> 'part_a' THEN now() - interval '40 days' END,
                   CASE WHEN st.state = 'completed' THEN now() - (j % 20) * interval '1 day' END,
                   CASE WHEN st.state = 'completed' THEN '{{"student": {{}}, "choice": {{}}}}'::jsonb END
            FROM generate_series(1, {dossiers}) j
            CROSS JOIN LATERAL (SELECT (j - 1) % {students} + 1 AS s, j % {N_PROGRAMMES} + 1 AS p) x
            CROSS JOIN LATERAL (SELECT CASE WHEN j % 10 < 4 THEN 'part_a' WHEN j % 10 < 6 THEN 'part_b'
                                            WHEN j % 10 < 7 THEN 'agreement' ELSE 'completed' END AS state) st;
        """)
        loaded = time.perf_counter() - started
        await conn.execute("ANALYZE")
        schools_n = await conn.fetchval("SELECT count(*) FROM schools")
        return {"schools": schools, "classes": classes, "seconds": loaded, "schools_rows": schools_n}
    finally:
        await conn.close()


# --------------------------------------------------------------------------- callers


class Tokens:
    def __init__(self) -> None:
        self.signer = TokenSigner(new_private_key_pem(), kid=f"bench-{uuid.uuid4().hex[:6]}")
        self._cache: dict[tuple, dict] = {}

    def headers(self, role: str, **claims) -> dict:
        key = (role, *sorted((k, str(v)) for k, v in claims.items()))
        if key not in self._cache:
            claims.setdefault("account_id", uuid.uuid4())
            token = self.signer.sign(Principal(role=role, session_id="bench", **claims), ttl_seconds=3600)
            self._cache[key] = {"Authorization": f"Bearer {token}"}
        return self._cache[key]

    async def serve(self) -> TestServer:
        app = web.Application()

        async def keys(_: web.Request) -> web.Response:
            return web.json_response(jwks(self.signer))
        app.router.add_get("/.well-known/jwks.json", keys)
        server = TestServer(app)
        await server.start_server()
        return server


@dataclass
class Search:
    search: StudentSearch
    body: dict  # POST .../search with a name, GET with only a filter


def random_search(rng: random.Random, shape: dict) -> Search:
    """A counsellor (whole school) or a mentor (their classes), with a name fragment or a filter."""
    if rng.random() < 0.5:
        school = rng.randint(1, shape["schools"])
        base = {"role": "counsellor", "staff_id": None, "school_id": uid("vo", school)}
    else:
        k = rng.randint(1, shape["classes"])
        base = {"role": "mentor", "staff_id": uid("mentor", f"{k}-0"), "school_id": None}
    kind = rng.random()
    params: dict = {}
    if kind < 0.6:
        word = rng.choice(FIRST + LAST).lower()
        start = rng.randint(0, max(0, len(word) - 3))
        params["q"] = word[start:start + rng.randint(3, 5)]
    elif kind < 0.8:
        params["q"] = f"{rng.choice(FIRST)} {rng.choice(LAST)}".lower()
    else:
        params["leerjaar"] = rng.choice([3, 4])
    return Search(StudentSearch(**base, **params), params)


# --------------------------------------------------------------------------- 1. searches


async def bench_search_http(url: str, tokens: Tokens, shape: dict, users: int, per_user: int) -> list[float]:
    rng = random.Random(1)
    plans = [[random_search(rng, shape) for _ in range(per_user)] for _ in range(users)]
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=users)) as http:
        async def user(plan: list[Search]) -> None:
            for s in plan:
                claims = {"school_id": s.search.school_id} if s.search.role == "counsellor" else {
                    "staff_id": s.search.staff_id}
                headers = tokens.headers(s.search.role, **claims)
                t = time.perf_counter()
                if "q" in s.body:
                    request = http.post(f"{url}/v1/overviews/students/search", json=s.body, headers=headers)
                else:
                    request = http.get(f"{url}/v1/overviews/students",
                                       params={k: str(v) for k, v in s.body.items()}, headers=headers)
                async with request as r:
                    await r.read()
                    assert r.status == 200, await r.text()
                latencies.append(time.perf_counter() - t)
        await asyncio.gather(*(user(p) for p in plans))
    return latencies


async def bench_search_raw(dsn: str, shape: dict, users: int, per_user: int, pool_size: int) -> list[float]:
    rng = random.Random(1)
    plans = [[random_search(rng, shape) for _ in range(per_user)] for _ in range(users)]
    latencies: list[float] = []
    pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
    try:
        async def user(plan: list[Search]) -> None:
            for s in plan:
                count_sql, count_args, page_sql, page_args = student_search_sql(s.search)
                t = time.perf_counter()
                async with pool.acquire() as conn:
                    await conn.fetchval(count_sql, *count_args)
                    await conn.fetch(page_sql, *page_args)
                latencies.append(time.perf_counter() - t)
        await asyncio.gather(*(user(p) for p in plans))
    finally:
        await pool.close()
    return latencies


def search_request(http: aiohttp.ClientSession, url: str, tokens: Tokens, s: Search):
    claims = {"school_id": s.search.school_id} if s.search.role == "counsellor" else {"staff_id": s.search.staff_id}
    headers = tokens.headers(s.search.role, **claims)
    if "q" in s.body:
        return http.post(f"{url}/v1/overviews/students/search", json=s.body, headers=headers)
    return http.get(f"{url}/v1/overviews/students", params={k: str(v) for k, v in s.body.items()}, headers=headers)


async def open_search_http(url: str, tokens: Tokens, shape: dict, rate: float, seconds: float) -> RateResult:
    rng = random.Random(int(rate))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        async def fire(i: int) -> None:
            async with search_request(http, url, tokens, random_search(rng, shape)) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"HTTP {r.status}")
        return summarize(await at_rate(fire, rate, seconds))


async def open_search_raw(dsn: str, shape: dict, rate: float, seconds: float, pool_size: int) -> RateResult:
    rng = random.Random(int(rate))
    pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
    try:
        async def fire(i: int) -> None:
            count_sql, count_args, page_sql, page_args = student_search_sql(random_search(rng, shape).search)
            async with pool.acquire() as conn:
                await conn.fetchval(count_sql, *count_args)
                await conn.fetch(page_sql, *page_args)
        return summarize(await at_rate(fire, rate, seconds))
    finally:
        await pool.close()


async def explain_search(dsn: str, shape: dict) -> str:
    """The plan and buffers of one typical mentor search (name fragment) and one counsellor search."""
    searches = [StudentSearch(role="mentor", staff_id=uid("mentor", "1-0"), school_id=None, q="jan"),
                StudentSearch(role="counsellor", staff_id=None, school_id=uid("vo", 1), q="bakker")]
    conn = await asyncpg.connect(dsn)
    out = []
    try:
        for search in searches:
            count_sql, count_args, page_sql, page_args = student_search_sql(search)
            for what, sql, args in (("count", count_sql, count_args), ("page", page_sql, page_args)):
                plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
                lines = [r[0] for r in plan]
                out.append(f"  -- {search.role} q={search.q!r}, {what}: "
                           + next((x.strip() for x in lines if x.strip().startswith("Execution Time")), "")
                           + "; " + next((x.strip() for x in lines if "Buffers" in x), ""))
                out.extend("     " + x for x in lines[:6])
    finally:
        await conn.close()
    return "\n".join(out)


# --------------------------------------------------------------------------- 2. part A saves


async def saving_students(dsn: str, users: int, shape: dict, offset: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(student_id, dossier_id) of dossiers in part A, one per user, with their part A sections."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT id, student_id FROM dossiers WHERE state = 'part_a' ORDER BY id OFFSET $1 LIMIT $2""",
            offset, users)
        for r in rows:
            for section_id, answers in PART_A.items():
                await conn.execute(
                    """INSERT INTO dossier_sections (dossier_id, section_id, part, answers, progress, version)
                       VALUES ($1, $2, 'part_a', $3::jsonb, 100, 1) ON CONFLICT DO NOTHING""",
                    r["id"], section_id, json.dumps(answers))
        return [(r["student_id"], r["id"]) for r in rows]
    finally:
        await conn.close()


async def bench_save_http(url: str, tokens: Tokens, pairs, per_user: int) -> list[float]:
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=len(pairs))) as http:
        async def user(student_id, dossier_id) -> None:
            version = 1
            headers = tokens.headers("student", student_id=student_id)
            for n in range(per_user):
                body = {"answers": {"motivation": f"Ik wil juridisch werken ({n}).", "expectations": "Veel leren."}}
                t = time.perf_counter()
                async with http.put(f"{url}/v1/dossiers/{dossier_id}/part-a/motivation", json=body,
                                    headers={**headers, "If-Match": f'"{version}"'}) as r:
                    await r.read()
                    assert r.status == 200, await r.text()
                    version = int(r.headers["ETag"].strip('"'))
                latencies.append(time.perf_counter() - t)
        await asyncio.gather(*(user(s, d) for s, d in pairs))
    return latencies


async def raw_save(conn: asyncpg.Connection, dossier_id, student_id, section: str, answers: dict) -> None:
    """The rows the service writes for one section save, without HTTP, auth or validation."""
    async with conn.transaction():
        await conn.fetchrow("SELECT * FROM dossiers WHERE id = $1 FOR UPDATE", dossier_id)
        current = await conn.fetchval(
            "SELECT version FROM dossier_sections WHERE dossier_id = $1 AND section_id = $2", dossier_id, section) or 0
        await conn.execute(
            """INSERT INTO dossier_sections (dossier_id, section_id, part, answers, progress, version)
               VALUES ($1, $2, 'part_a', $3::jsonb, 100, $4 + 1)
               ON CONFLICT (dossier_id, section_id) DO UPDATE SET answers = EXCLUDED.answers,
                   version = EXCLUDED.version, updated_at = now()""", dossier_id, section, json.dumps(answers), current)
        await conn.fetch("SELECT section_id, answers FROM dossier_sections WHERE dossier_id = $1", dossier_id)
        await conn.execute("UPDATE dossiers SET version = version + 1, updated_at = now(), progress = 100 WHERE id = $1",
                           dossier_id)
        await conn.execute("INSERT INTO history (dossier_id, action, actor_role) VALUES ($1, 'part_a_saved', 'student')",
                           dossier_id)
        await conn.execute("""INSERT INTO audit_log (kind, actor_role, dossier_id, student_id, what)
                              VALUES ('change', 'student', $1, $2, 'part_a_saved')""", dossier_id, student_id)


async def bench_save_raw(dsn: str, pairs, per_user: int, pool_size: int) -> list[float]:
    latencies: list[float] = []
    pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
    try:
        async def user(student_id, dossier_id) -> None:
            for n in range(per_user):
                t = time.perf_counter()
                async with pool.acquire() as conn:
                    await raw_save(conn, dossier_id, student_id, "motivation",
                                   {"motivation": f"Ik wil juridisch werken ({n}).", "expectations": "Veel leren."})
                latencies.append(time.perf_counter() - t)
        await asyncio.gather(*(user(s, d) for s, d in pairs))
    finally:
        await pool.close()
    return latencies


async def open_save_http(url: str, tokens: Tokens, pairs, rate: float, seconds: float) -> RateResult:
    """Each request saves a section of its own dossier (version 1), so none waits for another."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        async def fire(i: int) -> None:
            student_id, dossier_id = pairs[i % len(pairs)]
            body = {"answers": {"motivation": f"Ik wil juridisch werken ({i}).", "expectations": "Veel leren."}}
            headers = {**tokens.headers("student", student_id=student_id), "If-Match": '"1"'}
            async with http.put(f"{url}/v1/dossiers/{dossier_id}/part-a/motivation", json=body, headers=headers) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"HTTP {r.status}")
        return summarize(await at_rate(fire, rate, seconds))


async def open_save_raw(dsn: str, pairs, rate: float, seconds: float, pool_size: int) -> RateResult:
    pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
    try:
        async def fire(i: int) -> None:
            student_id, dossier_id = pairs[i % len(pairs)]
            async with pool.acquire() as conn:
                await raw_save(conn, dossier_id, student_id, "motivation",
                               {"motivation": f"Ik wil juridisch werken ({i}).", "expectations": "Veel leren."})
        return summarize(await at_rate(fire, rate, seconds))
    finally:
        await pool.close()


# --------------------------------------------------------------------------- 3. journeys


def journey_student(shape: dict, n: int) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """(student_id, class mentor staff id, MBO programme) of journey student n (0-based)."""
    i = shape["students"] + 1 + n
    k = shape["classes"] + 1 + n % 40
    return uid("student", i), uid("mentor", f"{k}-0"), k


async def bench_journeys_http(url: str, tokens: Tokens, shape: dict, count: int, connections: int) -> float:
    choice = {"institution_id": str(uid("mbo", 2)), "programme_id": str(uid("prog", 1)), "crebo": "10001"}

    async def journey(http: aiohttp.ClientSession, n: int) -> None:
        student_id, mentor_id, _ = journey_student(shape, n)
        student = tokens.headers("student", student_id=student_id)
        mentor = tokens.headers("mentor", staff_id=mentor_id)

        async def call(method, path, headers, version=None, body=None):
            h = {**headers, "If-Match": f'"{version}"'} if version is not None else headers
            async with http.request(method, url + path, headers=h, json=body) as r:
                data = await r.json()
                assert r.status in (200, 201), (path, r.status, data)
                return data

        d = await call("POST", "/v1/dossiers", student, body={"choice": choice})
        dossier, versions = d["id"], d["versions"]
        for section_id, answers in {**PART_A, "follow_up_programme": {
                "keuzevervolgopleiding": choice, "first_choice": True}}.items():
            saved = await call("PUT", f"/v1/dossiers/{dossier}/part-a/{section_id}", student,
                               versions.get(section_id, 0), {"answers": answers})
        d = await call("POST", f"/v1/dossiers/{dossier}/submit", student, saved["dossier_version"],
                       {"mentor_id": str(mentor_id)})
        await call("PUT", f"/v1/dossiers/{dossier}/part-b/guidance", mentor, 0, {"answers": GUIDANCE})
        saved = await call("PUT", f"/v1/dossiers/{dossier}/part-b/assessment_advice", mentor, 0,
                           {"answers": ASSESSMENT})
        d = await call("POST", f"/v1/dossiers/{dossier}/send-part-b", mentor, saved["dossier_version"])
        d = await call("PUT", f"/v1/dossiers/{dossier}/agreement", student, d["version"], {"remark": "Eens."})
        d = await call("POST", f"/v1/dossiers/{dossier}/complete", student, d["version"])
        assert d["state"] == "completed"

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(journey(http, n) for n in range(count)))
        return time.perf_counter() - started


async def raw_journey(pool: asyncpg.Pool, shape: dict, n: int) -> None:
    """The same rows as one journey through the service, written straight on asyncpg."""
    student_id, mentor_id, _ = journey_student(shape, n)
    dossier_id = uuid.uuid4()
    # the same outbox row, marked published: the service's relay (running beside it) must not try to
    # publish these stand-in envelopes (it failed on them and stopped publishing the real ones)
    outbox = "INSERT INTO outbox (event_id, event_type, envelope, published_at) VALUES ($1, $2, $3::jsonb, now())"
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(
                """INSERT INTO dossiers (id, student_id, school_id, school_year, form_version, part_b_form_version)
                   SELECT $1, student_id, school_id, '2026-2027', '2026-2027', '2026-2027' FROM students
                   WHERE student_id = $2""", dossier_id, student_id)
            await conn.execute("INSERT INTO history (dossier_id, action, actor_role) VALUES ($1, 'created', 'student')",
                               dossier_id)
            await conn.execute(outbox, uuid.uuid4(), "dossier.created", json.dumps({"dossier_id": str(dossier_id)}))
        for section_id, answers in PART_A.items():
            await raw_save(conn, dossier_id, student_id, section_id, answers)
        await raw_save(conn, dossier_id, student_id, "follow_up_programme", {"first_choice": True})
        for action, state, event in (("part_a_submitted", "part_b", "dossier.part_a_submitted"),
                                     ("part_b_saved", "part_b", "dossier.part_b_started"),
                                     ("part_b_saved", "part_b", None),
                                     ("part_b_sent", "agreement", "dossier.part_b_sent"),
                                     ("agreement_saved", "agreement", None),
                                     ("completed", "completed", "dossier.completed")):
            async with conn.transaction():
                await conn.fetchrow("SELECT * FROM dossiers WHERE id = $1 FOR UPDATE", dossier_id)
                if action == "part_b_saved":
                    await conn.execute(
                        """INSERT INTO dossier_sections (dossier_id, section_id, part, answers, progress, version)
                           VALUES ($1, $2, 'part_b_dossier', $3::jsonb, 100, 1)
                           ON CONFLICT (dossier_id, section_id) DO UPDATE SET answers = EXCLUDED.answers""",
                        dossier_id, f"b{n}-{uuid.uuid4().hex[:4]}", json.dumps(ASSESSMENT))
                await conn.execute("UPDATE dossiers SET state = $2, version = version + 1, updated_at = now(), "
                                   "mentor_id = $3 WHERE id = $1", dossier_id, state, mentor_id)
                await conn.execute("INSERT INTO history (dossier_id, action, actor_role) VALUES ($1, $2, 'student')",
                                   dossier_id, action)
                await conn.execute("""INSERT INTO audit_log (kind, actor_role, dossier_id, student_id, what)
                                      VALUES ('change', 'student', $1, $2, $3)""", dossier_id, student_id, action)
                if event:
                    await conn.execute(outbox, uuid.uuid4(), event, json.dumps({"dossier_id": str(dossier_id)}))


async def bench_journeys_raw(dsn: str, shape: dict, count: int, pool_size: int) -> float:
    pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
    try:
        started = time.perf_counter()
        await asyncio.gather(*(raw_journey(pool, shape, n) for n in range(count)))
        return time.perf_counter() - started
    finally:
        await pool.close()


# --------------------------------------------------------------------------- main


def line(name: str, lat: list[float], seconds: float | None = None) -> None:
    rate = f"{len(lat) / seconds:>8,.0f} req/s" if seconds else ""
    print(f"  {name:<40} p50 {pct(lat, .5) * 1000:>7.1f} ms   p99 {pct(lat, .99) * 1000:>7.1f} ms   {rate}")


def ratio(http: list[float], raw: list[float]) -> None:
    print(f"  {'ratio HTTP/raw':<40} p50 {pct(http, .5) / pct(raw, .5):>7.1f} x    p99 "
          f"{pct(http, .99) / pct(raw, .99):>7.1f} x")


async def timed(coro):
    started = time.perf_counter()
    result = await coro
    return result, time.perf_counter() - started


EVENTS_SEEN: list[int] = [0]  # dossier events consumed from the run's exchange


async def drain_events(exchange: str) -> aio_pika.abc.AbstractConnection:
    """Every dossier event routable and consumed (in production the notification service and others
    are), and counted (``EVENTS_SEEN``)."""
    connection = await aio_pika.connect(env.AMQP_URL)
    channel = await connection.channel()
    ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(ex, "dossier.#")

    def seen(message) -> None:
        EVENTS_SEEN[0] += 1
    await queue.consume(seen, no_ack=True)
    return connection


async def events_published(dsn: str, since: float, settle: float = 30.0) -> tuple[int, int]:
    """(events written since ``since`` (wall clock), those still unpublished) once the relay is done
    or ``settle`` seconds passed."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + settle
        while True:
            written, pending = await conn.fetchrow(
                "SELECT count(*), count(*) FILTER (WHERE published_at IS NULL) FROM outbox "
                "WHERE created_at >= to_timestamp($1)", since)
            if not pending or time.monotonic() > deadline:
                return written, pending
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


PARTS = ("search", "save", "journeys")

# the figures of issue 14 (measured on the landed main before it, 100,000 students / 200,000
# dossiers, 50 users, 1,000 journeys), printed beside this run's: ms, requests per second, seconds
OLD = {
    "search": {"p50": 231.0, "p99": 740.0, "raw_p50": 127.0, "raw_p99": 611.0},
    "save": {"p50": 182.0, "rate": 228.0, "raw_p50": 68.0, "raw_rate": 583.0},
    "journeys": {"seconds": 87.7, "raw_seconds": 28.2},
}
TARGETS = {"search_open": (50, 100.0), "save_open": (100, 100.0), "journeys": 2.0}  # (rate/s, p99 ms); ratio


def _x(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "-"


def _search(f: dict) -> str:
    return (f"p50 {f['p50']:.0f} / p99 {f['p99']:.0f} ms (raw {f['raw_p50']:.0f} / {f['raw_p99']:.0f}; "
            f"{_x(f['p99'], f['raw_p99'])})")


def _save(f: dict) -> str:
    return (f"p50 {f['p50']:.0f} ms, {f['rate']:.0f}/s (raw {f['raw_p50']:.0f} ms, {f['raw_rate']:.0f}/s; "
            f"{_x(f['p50'], f['raw_p50'])})")


def _journeys(f: dict) -> str:
    return f"{f['seconds']:.1f} s (raw {f['raw_seconds']:.1f} s; {_x(f['seconds'], f['raw_seconds'])})"


def comparison_rows(now: dict) -> list[tuple[str, str, str, str]]:
    """(what, then, now, target) for each row of the issue: ``OLD`` beside this run's figures
    (``now``: the keys of OLD plus ``search_open`` and ``save_open``, the p99 in ms at the target
    rate with its raw baseline; a part that did not run is missing)."""
    rows = [('"mijn leerlingen", 50 users (closed loop)', _search(OLD["search"]),
             _search(now["search"]) if now.get("search") else "not run", "")]
    for key, what in (("search_open", '"mijn leerlingen", open loop'), ("save_open", "part A save, open loop")):
        rate, target = TARGETS[key]
        n = now.get(key)
        met = "" if not n else (" met" if n["done"] and n["p99"] <= target else " NOT met")
        rows.append((f"{what} {rate}/s", "-", f"p99 {n['p99']:.1f} ms (raw {n['raw_p99']:.1f} ms)" if n else "not run",
                     f"p99 < {target:.0f} ms{met}"))
    rows.append(("part A save, 50 students (closed loop)", _save(OLD["save"]),
                 _save(now["save"]) if now.get("save") else "not run", ""))
    n = now.get("journeys")
    met = "" if not n else (" met" if n["seconds"] <= TARGETS["journeys"] * n["raw_seconds"] else " NOT met")
    rows.append(("1,000 journeys at once", _journeys(OLD["journeys"]), _journeys(n) if n else "not run",
                 f"<= {TARGETS['journeys']:.0f}x raw{met}"))
    return rows


def print_comparison(now: dict) -> None:
    rows = [("what", "issue 14 (then)", "this run (now)", "target"), *comparison_rows(now)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print("\nissue 14: then and now (each next to its raw baseline of the same run)")
    for r in rows:
        print("  " + "   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def at(results: list[RateResult], rate: float) -> RateResult | None:
    return next((r for r in results if r.rate == rate), None)


def open_figures(http: list[RateResult], raw: list[RateResult], rate: float) -> dict | None:
    h, r = at(http, rate), at(raw, rate)
    if h is None or r is None:
        return None
    return {"p99": h.p99 * 1000, "raw_p99": r.p99 * 1000, "done": h.completed == h.sent and not h.errors}


async def run_searches(args, service: ServiceProcess, tokens: Tokens, shape: dict, dsn: str, pool_size: int,
                       now: dict) -> None:
    print(f"\n\"mijn leerlingen\" search: {args.users} concurrent users x {args.requests} searches "
          "(name fragment / full name / leerjaar, page 1 of 25)")
    await bench_search_raw(dsn, shape, 10, 5, pool_size)  # warm the caches once for both
    raw, raw_s = await timed(bench_search_raw(dsn, shape, args.users, args.requests, pool_size))
    http, http_s = await timed(bench_search_http(service.url, tokens, shape, args.users, args.requests))
    line("raw asyncpg (same statements)", raw, raw_s)
    line("HTTP /v1/overviews/students(/search)", http, http_s)
    ratio(http, raw)
    now["search"] = {"p50": pct(http, .5) * 1000, "p99": pct(http, .99) * 1000,
                     "raw_p50": pct(raw, .5) * 1000, "raw_p99": pct(raw, .99) * 1000}
    print(f"\n\"mijn leerlingen\" search, open loop ({args.rate_seconds:g} s per rate; latency from the "
          "intended send time)")
    raw_results = [await open_search_raw(dsn, shape, rate, args.rate_seconds, pool_size)
                   for rate in args.search_rates]
    http_results = [await open_search_http(service.url, tokens, shape, rate, args.rate_seconds)
                    for rate in args.search_rates]
    print_table("raw asyncpg (same statements)", raw_results, args.target_ms)
    print_table("HTTP /v1/overviews/students(/search)", http_results, args.target_ms)
    now["search_open"] = open_figures(http_results, raw_results, TARGETS["search_open"][0])
    print("\n  the statements' own cost, EXPLAIN (ANALYZE, BUFFERS):")
    print(await explain_search(dsn, shape))


async def run_saves(args, service: ServiceProcess, tokens: Tokens, shape: dict, dsn: str, pool_size: int,
                    now: dict) -> None:
    print(f"\nsaving a part A section: {args.users} concurrent students x {args.requests} saves (If-Match)")
    raw_pairs = await saving_students(dsn, args.users, shape, 0)
    http_pairs = await saving_students(dsn, args.users, shape, args.users)
    raw, raw_s = await timed(bench_save_raw(dsn, raw_pairs, args.requests, pool_size))
    http, http_s = await timed(bench_save_http(service.url, tokens, http_pairs, args.requests))
    line("raw asyncpg (same rows, one tx each)", raw, raw_s)
    line("HTTP PUT /v1/dossiers/{id}/part-a/{section}", http, http_s)
    ratio(http, raw)
    now["save"] = {"p50": pct(http, .5) * 1000, "rate": len(http) / http_s,
                   "raw_p50": pct(raw, .5) * 1000, "raw_rate": len(raw) / raw_s}
    print(f"\nsaving a part A section, open loop ({args.rate_seconds:g} s per rate, every save on a dossier "
          "of its own)")
    offset, raw_results, http_results = args.users * 2, [], []
    for rate in args.save_rates:
        n = int(rate * args.rate_seconds) + 1
        raw_pairs = await saving_students(dsn, n, shape, offset)
        http_pairs = await saving_students(dsn, n, shape, offset + n)
        offset += 2 * n
        raw_results.append(await open_save_raw(dsn, raw_pairs, rate, args.rate_seconds, pool_size))
        http_results.append(await open_save_http(service.url, tokens, http_pairs, rate, args.rate_seconds))
    print_table("raw asyncpg (same rows, one tx each)", raw_results, args.target_ms)
    print_table("HTTP PUT /v1/dossiers/{id}/part-a/{section}", http_results, args.target_ms)
    now["save_open"] = open_figures(http_results, raw_results, TARGETS["save_open"][0])


class CpuUse:
    """CPU seconds used while a block runs: by the service (its process tree), by the PostgreSQL
    backends of the bench's database (sampled twice a second, so backends that come and go count),
    and by this load generator: where the cores went."""

    def __init__(self, dsn: str, service_pid: int | None, interval: float = 0.5) -> None:
        self.dsn, self.service_pid, self.interval = dsn, service_pid, interval
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}

    async def _sample(self, conn: asyncpg.Connection) -> None:
        pids = {r[0]: "postgres" for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")}
        if self.service_pid is not None:
            pids.update((pid, "service") for pid in process_tree(self.service_pid))
        pids[os.getpid()] = "generator"
        for pid, kind in pids.items():
            seconds = process_cpu_seconds(pid)
            self.first.setdefault(pid, 0.0)  # a process that began during the block
            self.last[pid] = (kind, max(seconds, self.last.get(pid, (kind, 0.0))[1]))

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while True:
                await self._sample(conn)
                await asyncio.sleep(self.interval)
        finally:
            await conn.close()

    async def __aenter__(self) -> Self:
        self._started = time.perf_counter()
        conn = await asyncpg.connect(self.dsn)
        try:
            await self._sample(conn)
        finally:
            await conn.close()
        self.first = {pid: seconds for pid, (_, seconds) in self.last.items()}
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._started
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    @property
    def used(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, (kind, seconds) in self.last.items():
            out[kind] = out.get(kind, 0.0) + seconds - self.first.get(pid, 0.0)
        return out

    def report(self) -> str:
        used = self.used
        parts = [f"{kind} {used[kind]:.1f}" for kind in ("service", "postgres", "generator") if kind in used]
        return "CPU s: " + ", ".join(parts)


async def run_journeys(args, service: ServiceProcess, tokens: Tokens, shape: dict, dsn: str, pool_size: int,
                       now: dict) -> None:
    print(f"\nthe whole journey: {args.journeys:,} students at once (16 requests each; "
          f"at most {args.users * 2} HTTP connections)")
    async with CpuUse(dsn, None) as raw_cpu:
        raw_total = await bench_journeys_raw(dsn, shape, args.journeys, pool_size)
    profiles = None
    http_started, events_before = time.time(), EVENTS_SEEN[0]
    async with CpuUse(dsn, service.proc.pid) as http_cpu:
        if args.profile:  # py-spy on the service (and its workers) while the journeys run
            profiles = Profiles({"dossier": service.proc.pid}, args.profile, seconds=args.profile_seconds)
            async with profiles:
                http_total = await bench_journeys_http(service.url, tokens, shape, args.journeys, args.users * 2)
        else:
            http_total = await bench_journeys_http(service.url, tokens, shape, args.journeys, args.users * 2)
    print(f"  {'raw asyncpg (same rows)':<40} {raw_total:>7.1f} s   "
          f"{args.journeys * 16 / raw_total:>8,.0f} steps/s   {raw_cpu.report()}")
    print(f"  {'HTTP (create ... complete)':<40} {http_total:>7.1f} s   "
          f"{args.journeys * 16 / http_total:>8,.0f} req/s     {http_cpu.report()}")
    print(f"  {'ratio HTTP/raw':<40} {http_total / raw_total:>7.1f} x")
    now["journeys"] = {"seconds": http_total, "raw_seconds": raw_total}
    written, pending = await events_published(dsn, http_started)
    print(f"  events: {written:,} written by the HTTP journeys, {written - pending:,} published by the relay "
          f"({pending:,} not yet); {EVENTS_SEEN[0] - events_before:,} consumed from the broker meanwhile")
    conn = await asyncpg.connect(dsn)
    try:
        completed = await conn.fetchval("SELECT count(*) FROM dossiers WHERE state = 'completed' "
                                        "AND completed_at > now() - interval '1 hour' AND final ? 'student' "
                                        "AND final -> 'student' <> '{}'::jsonb")
    finally:
        await conn.close()
    print(f"  check: {completed:,} dossiers completed through the API")
    if profiles is not None:
        print(f"  profile of the first {args.profile_seconds:g} s (py-spy, {args.profile}):\n" + profiles.report())


def with_host(dsn: str, host: str) -> str:
    """``dsn`` on another host; a socket directory (a path) goes in the query, as libpq and asyncpg read it."""
    parts = urlsplit(dsn)
    if host.startswith("/"):
        return urlunsplit(parts._replace(netloc=f"{parts.username}@", query=f"host={host}"))
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{host}:{parts.port or 5432}"))


def parse_parts(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or any(p not in PARTS for p in parts):
        raise ValueError(f"parts: some of {', '.join(PARTS)} separated by commas")
    return parts


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--dossiers", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=50, help="concurrent users for searches and saves")
    parser.add_argument("--requests", type=int, default=40, help="requests per user for searches and saves")
    parser.add_argument("--journeys", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="dossier service processes")
    parser.add_argument("--db-pool", type=int, default=10, help="database connections per service process")
    parser.add_argument("--search-rates", type=parse_rates, default=parse_rates("10,50,100,200"),
                        help="open-loop searches per second")
    parser.add_argument("--save-rates", type=parse_rates, default=parse_rates("25,50,100,200"),
                        help="open-loop part A saves per second")
    parser.add_argument("--rate-seconds", type=float, default=5.0, help="seconds of load per rate")
    parser.add_argument("--target-ms", type=float, default=100.0, help="p99 target of the open loops")
    parser.add_argument("--parts", type=parse_parts, default=list(PARTS),
                        help="what to run, of search,save,journeys (default: all)")
    parser.add_argument("--profile", metavar="DIR", help="py-spy on the service during the journeys; stacks into DIR")
    parser.add_argument("--profile-seconds", type=float, default=20.0)
    parser.add_argument("--db-host", default="127.0.0.1", help="PostgreSQL for the service and the raw baselines: "
                        "127.0.0.1 (TCP) or a socket directory such as /var/run/postgresql")
    args = parser.parse_args()
    run = uuid.uuid4().hex[:6]
    exchange = env.run_exchange(f"bench_{run}")  # removed with the run's queues afterwards
    tokens = Tokens()
    jwks_server = await tokens.serve()
    pool_size = args.workers * args.db_pool
    dsn = with_host(env.database_url(f"bench_do_{run}"), args.db_host)
    service = ServiceProcess("dossier", db=f"bench_do_{run}", auth_jwks_url=str(jwks_server.make_url(
        "/.well-known/jwks.json")), event_exchange=exchange, reminder_auto="false", workers=args.workers,
        db_pool_max=args.db_pool, db_pool_min=1, log_level="WARNING", database_url=dsn)
    amqp = None
    now: dict = {}
    try:
        await service.start(timeout=60)
        amqp = await drain_events(exchange)
        shape = await load(dsn, args.students, args.dossiers, args.journeys)
        shape["students"] = args.students
        print(f"\nloaded {args.students:,} students and {args.dossiers:,} dossiers in {shape['seconds']:.1f} s "
              f"({shape['schools']} schools, {shape['classes']:,} classes); service: {args.workers} process(es) x "
              f"{args.db_pool} connections; raw baselines use {pool_size} connections")
        steps = {"search": run_searches, "save": run_saves, "journeys": run_journeys}
        for part in PARTS:
            if part in args.parts:
                await steps[part](args, service, tokens, shape, dsn, pool_size, now)
        print_comparison(now)
    finally:
        await service.stop()
        await jwks_server.close()
        if amqp is not None:
            await amqp.close()
        await env.delete_run_queues()
        await env.drop_databases()


if __name__ == "__main__":
    import uvloop
    uvloop.install()
    asyncio.run(main())
