"""The season bench's world: the services as real processes (databases and an exchange of their own,
removed after), an HTTP client that times every user-facing request by kind, logins, and the
schools, MBO institutions and staff made through identity's API before the season starts."""
from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import aiohttp

from bench.openloop import RateResult
from bench.season_mail import Mailbox
from bench.season_plan import CLASS_SIZE, CONSENT_EVERY, PROGRAMMES_PER_MBO, SeasonPlan
from bench.stats import pct
from services.identity.demo import STAFF, load_demo
from services.identity.settings import IdentitySettings
from shared import db
from tests.support import env
from tests.support.apps import ServiceProcess

PASSWORD = "een lange zin als wachtwoord 2026"
ADMIN = next((s[3], s[5]) for s in STAFF if s[0] == "admin")
# Argon2id at the test suite's parameters: the season would otherwise be three hashes per student of
# the OWASP cost (bench.identity measures that cost); the limits per address lifted: every simulated
# person comes from this one address
IDENTITY_ENV = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "register_ip_soft_limit": 10_000_000,
                "register_ip_hard_limit": 10_000_000, "login_ip_soft_limit": 10_000_000,
                "login_ip_hard_limit": 10_000_000}
TOKEN_SECONDS = 600  # logins are renewed after this (access tokens live 900 s)


class ApiError(Exception):
    def __init__(self, status: int, body: object, what: str) -> None:
        super().__init__(f"{what}: HTTP {status} {str(body)[:300]}")
        self.status = status


@dataclass
class Recorder:
    """Latencies (seconds) of every request by kind in one phase, and the errors by kind."""
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    first_error: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def add(self, kind: str, seconds: float) -> None:
        self.latencies[kind].append(seconds)

    def failed(self, kind: str, exc: BaseException) -> None:
        self.errors[kind] += 1
        self.first_error.setdefault(kind, f"{type(exc).__name__}: {exc}"[:300])

    def result(self, kind: str, seconds: float) -> RateResult:
        lat = self.latencies.get(kind) or [float("nan")]
        n = len(self.latencies.get(kind, []))
        return RateResult(rate=n / seconds if seconds else 0.0, sent=n + self.errors[kind], completed=n,
                          errors=self.errors[kind], achieved=n / max(time.time() - self.started, 1e-9),
                          p50=pct(lat, .5), p99=pct(lat, .99), p999=pct(lat, .999), max=max(lat), late_starts=0)


class Client:
    """HTTP as the portal calls the services; every call timed under a kind in the current recorder."""

    def __init__(self, http: aiohttp.ClientSession, identity: str, dossier: str) -> None:
        self.http, self.identity, self.dossier = http, identity, dossier
        self.recorder = Recorder()
        self.invited = 0  # staff invited by mail while making the schools
        self._tokens: dict[str, tuple[str, float]] = {}
        self._logging_in: dict[str, asyncio.Future] = {}

    async def call(self, kind: str | None, method: str, url: str, *, token: str | None = None, version=None,
                   json=None, data=None, headers: dict | None = None, ok=(200, 201, 202)) -> dict:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        if version is not None:
            h["If-Match"] = f'"{version}"'
        started = time.perf_counter()
        async with self.http.request(method, url, headers=h, json=json, data=data) as r:
            body = await r.json(content_type=None) if r.content_length != 0 else {}
            if r.status not in ok:
                raise ApiError(r.status, body, f"{method} {url}")
        if kind:
            self.recorder.add(kind, time.perf_counter() - started)
        return body or {}

    async def login(self, email: str, password: str = PASSWORD, *, fresh: bool = False, kind: str | None = None) -> str:
        """An access token of ``email``; staff tokens are kept and renewed after TOKEN_SECONDS, one login
        at a time per person."""
        held = self._tokens.get(email)
        if held and not fresh and time.monotonic() - held[1] < TOKEN_SECONDS:
            return held[0]
        if email in self._logging_in and not fresh:
            return await asyncio.shield(self._logging_in[email])
        future = self._logging_in[email] = asyncio.get_running_loop().create_future()
        try:
            body = await self.call(kind or "login", "POST", self.identity + "/v1/sessions",
                                   json={"email": email, "password": password}, ok=(201,))
            self._tokens[email] = (body["access_token"], time.monotonic())
            future.set_result(body["access_token"])
            return body["access_token"]
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            self._logging_in.pop(email, None)


# --------------------------------------------------------------------------- the people


@dataclass
class VoSchool:
    n: int
    school_id: str
    consent: bool
    school_admin: str
    counsellor: str


@dataclass
class Mbo:
    n: int
    school_id: str
    staff: str
    programmes: list[tuple[str, str]]  # (programme_id, crebo)


def student_email(i: int) -> str:
    return f"leerling{i}@leerling.example"


def parent_email(i: int) -> str:
    return f"ouder{i}@thuis.example"


def mentor_email(school: int, k: int) -> str:
    return f"mentor{k}@vo{school}.example"


def class_of(plan: SeasonPlan, i: int) -> int:
    """The class number (0-based, within the school) of student ``i``."""
    return (i - plan.students_of(plan.school_of(i)).start) // CLASS_SIZE


FIRST = ["Roos", "Jaap", "Mirjam", "Daan", "Sanne", "Noah", "Emma", "Liam", "Julia", "Sem", "Tess", "Lucas",
         "Fleur", "Finn", "Sara", "Milan", "Lotte", "Levi", "Eva", "Bram"]
LAST = ["Winter", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos", "Peters", "Dekker",
        "Brouwer", "Dijkstra", "Kok", "Jacobs", "Willems", "Yilmaz", "El Amrani", "Nguyen", "Kaya"]
HEADER = "leerlingnummer;roepnaam;voornamen;tussenvoegsel;achternaam;geboortedatum;klas;leerjaar;email;mentor"


def roster_csv(plan: SeasonPlan, school: int) -> bytes:
    rows = [HEADER]
    for i in plan.students_of(school):
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        k = class_of(plan, i)
        rows.append(f"{100000 + i};{first};{first};;{last};{1 + i % 28:02d}-{1 + i % 12:02d}-2010;4K{k + 1:02d};4;"
                    f"{student_email(i)};{mentor_email(school, k)}")
    return ("\n".join(rows) + "\n").encode()


async def accept_invitation(client: Client, box: Mailbox, email: str, sent: float, kind: str = "invitation") -> None:
    """Wait for the invitation mail (its latency from ``sent``), then choose a password."""
    received, body = await box.wait("invitation", email)
    client.recorder.add(f"{kind} -> mail", received - sent)
    await client.call("accept invitation", "POST", client.identity + "/v1/invitations/accept",
                      json={"token": box.token(body), "password": PASSWORD})


async def invite_staff(client: Client, box: Mailbox, admin: str, role: str, name: str, email: str,
                       school_id: str) -> None:
    sent = time.time()
    await client.call("add staff", "POST", client.identity + "/v1/staff", token=admin, ok=(201,), json={
        "role": role, "name": name, "email": email, "school_id": school_id, "invite": True})
    client.invited += 1
    await accept_invitation(client, box, email, sent)


async def make_schools(client: Client, box: Mailbox, plan: SeasonPlan, concurrency: int = 8
                       ) -> tuple[list[VoSchool], list[Mbo]]:
    """The VO schools (a school admin and a counsellor each) and the MBO institutions (a location, a
    few programmes, a staff member each), by the platform admin through identity's API."""
    admin = await client.login(ADMIN[0], ADMIN[1])
    sem = asyncio.Semaphore(concurrency)
    ident = client.identity

    async def mbo(m: int) -> Mbo:
        async with sem:
            school = await client.call("admin", "POST", ident + "/v1/schools", token=admin, ok=(201,), json={
                "kind": "mbo", "name": f"ROC Seizoen {m + 1}", "city": "Utrecht", "participates": True})
            sid = school["school_id"]
            school = await client.call("admin", "POST", f"{ident}/v1/schools/{sid}/locations", token=admin,
                                       ok=(200, 201), json={"name": "Hoofdlocatie", "address": f"Laan {m + 1}",
                                                            "city": "Utrecht"})
            location = school["locations"][0]["location_id"]
            for p in range(PROGRAMMES_PER_MBO):
                crebo = f"{25000 + (m * PROGRAMMES_PER_MBO + p) % 70000:05d}"
                school = await client.call("admin", "POST", f"{ident}/v1/schools/{sid}/programmes", token=admin,
                                           ok=(200, 201), json={"name": f"Opleiding {p + 1}", "crebo": crebo,
                                                                "level": 2 + p % 3, "pathway": "BOL",
                                                                "location_id": location})
            email = f"intake@mbo{m}.example"
            await invite_staff(client, box, admin, "mbo_staff", f"Intake {m + 1}", email, sid)
            return Mbo(m, sid, email, [(p["programme_id"], p["crebo"]) for p in school["programmes"]])

    async def vo(s: int) -> VoSchool:
        async with sem:
            consent = s % CONSENT_EVERY == CONSENT_EVERY - 1
            school = await client.call("admin", "POST", ident + "/v1/schools", token=admin, ok=(201,), json={
                "kind": "vo", "name": f"Vmbo Seizoen {s + 1}", "city": "Utrecht",
                "parent_rule": "consent" if consent else "none",
                "brin": f"{s % 100:02d}{chr(65 + s // 100 % 26)}Z"})
            sid = school["school_id"]
            admin_email, counsellor = f"beheer@vo{s}.example", f"decaan@vo{s}.example"
            await invite_staff(client, box, admin, "school_admin", f"Beheer {s + 1}", admin_email, sid)
            await invite_staff(client, box, admin, "counsellor", f"Decaan {s + 1}", counsellor, sid)
            return VoSchool(s, sid, consent, admin_email, counsellor)

    mbos = await asyncio.gather(*(mbo(m) for m in range(plan.mbo_schools)))
    schools = await asyncio.gather(*(vo(s) for s in range(plan.vo_schools)))
    return list(schools), list(mbos)


# --------------------------------------------------------------------------- the services


@dataclass
class Services:
    run: str
    exchange: str
    identity: ServiceProcess
    dossier: ServiceProcess
    notification: ServiceProcess

    @property
    def all(self) -> dict[str, ServiceProcess]:
        return {"identity": self.identity, "dossier": self.dossier, "notification": self.notification}

    def dsn(self, name: str) -> str:
        return env.database_url(f"season_{name[:2]}_{self.run}")


async def start_services(run: str, smtp_port: int, *, archive: bool, dossier_workers: int,
                         notification_workers: int) -> Services:
    exchange = env.run_exchange(f"season_{run}")
    common = {"event_exchange": exchange, "event_archive": archive, "log_level": "WARNING"}
    identity = ServiceProcess("identity", db=f"season_id_{run}", **common, **IDENTITY_ENV)
    await identity.start(timeout=60)
    jwks = identity.url + "/.well-known/jwks.json"
    dossier = ServiceProcess("dossier", db=f"season_do_{run}", auth_jwks_url=jwks, reminder_auto="false",
                             workers=dossier_workers, db_pool_max=10, **common)
    notification = ServiceProcess("notification", db=f"season_no_{run}", smtp_port=smtp_port, smtp_connections=8,
                                  workers=notification_workers, db_pool_max=10, consumer_prefetch=100,
                                  auth_jwks_url=jwks, **common)
    await asyncio.gather(dossier.start(timeout=60), notification.start(timeout=60))
    services = Services(run, exchange, identity, dossier, notification)
    pool = await db.create_pool(services.dsn("identity"), min_size=1, max_size=2)
    try:  # the platform admin (and the demo school, which the season leaves alone)
        await load_demo(pool, IdentitySettings(argon2_time_cost=1, argon2_memory_kib=1024))
    finally:
        await pool.close()
    return services


async def stop_services(services: Services | None) -> None:
    if services is not None:
        for service in services.all.values():
            if service.proc is not None:
                await service.stop()
