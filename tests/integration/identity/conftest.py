"""Identity under test: an in-process app on its own database with the demo world loaded, a cheap
Argon2 (settings only; the default stays OWASP's), and helpers to log in and read the outbox."""
from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from services.identity.app import make_app
from services.identity.demo import STAFF, STUDENT_LOGIN, demo_id, load_demo
from services.identity.settings import IdentitySettings
from shared.app import DB
from shared.sealing import reveal_all
from tests.support import env
from tests.support.apps import serve, settings

FAST_ARGON2 = dict(argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1)
LOGINS = {key: (email, password) for key, _, _, email, _, password in STAFF} | {"student": STUDENT_LOGIN}
VO_SCHOOL_ID = demo_id("school:Het Voorbeeld College")
MBO_UTRECHT_ID = demo_id("school:MBO Utrecht")

CSV_HEADER = "Leerlingnummer;Roepnaam;Voornamen;Tussenvoegsel;Achternaam;Geboortedatum;Klas;Leerjaar;E-mail;BSN;Mentor\n"


def identity_settings(db: str, **overrides) -> IdentitySettings:
    """An exchange of its own per database: the events of one test never reach another test's queues
    (named ``ex.<run id>...`` so the run's clean-up removes their queues)."""
    return settings(IdentitySettings, db, environment="test", event_exchange=f"ex.{env.RUN_ID}.{db}",
                    **{"mail_repeat_seconds": 0, **FAST_ARGON2, **overrides})


@dataclass
class World:
    client: TestClient
    app: object
    settings: IdentitySettings
    tokens: dict[str, str] = field(default_factory=dict)

    async def login(self, email: str, password: str, **kw) -> dict:
        r = await self.client.post("/v1/sessions", json={"email": email, "password": password}, **kw)
        assert r.status == 201, await r.text()
        return await r.json()

    async def headers(self, who: str) -> dict[str, str]:
        """Bearer header for a demo login: admin, school_admin, counsellor, mentor_4a, mentor_4b, mbo_staff, student."""
        if who not in self.tokens:
            self.tokens[who] = (await self.login(*LOGINS[who]))["access_token"]
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def events(self, event_type: str) -> list[dict]:
        async with self.app[DB].acquire(timeout=30) as conn:
            rows = await conn.fetch("SELECT envelope FROM outbox WHERE event_type = $1 ORDER BY id", event_type)
        return [reveal_all(r["envelope"]["data"]) for r in rows]  # links and codes are sealed

    async def outbox_text(self) -> str:
        async with self.app[DB].acquire(timeout=30) as conn:
            return json.dumps([r["envelope"] for r in await conn.fetch("SELECT envelope FROM outbox")])

    async def fetchval(self, sql: str, *args):
        async with self.app[DB].acquire(timeout=30) as conn:
            return await conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args):
        async with self.app[DB].acquire(timeout=30) as conn:
            return await conn.execute(sql, *args)

    async def import_csv(self, data: bytes, who: str = "school_admin", content_type: str = "text/csv",
                         wait: bool = True) -> tuple[int, dict]:
        """Upload a roster; a valid one (202) is followed to its end unless ``wait`` is False."""
        r = await self.client.post("/v1/roster/imports", data=data,
                                   headers={**await self.headers(who), "Content-Type": content_type})
        body = await r.json()
        if r.status == 202:
            assert r.headers["Location"] == f"/v1/roster/imports/{body['import_id']}"
            if wait:
                body = await self.finished_import(body["import_id"])
        return r.status, body

    async def import_state(self, import_id: str) -> dict:
        r = await self.client.get(f"/v1/roster/imports/{import_id}", headers=await self.headers("school_admin"))
        assert r.status == 200, await r.text()
        return await r.json()

    async def finished_import(self, import_id: str, timeout: float = 60) -> dict:
        """The import's state once it is done or failed."""
        async with asyncio.timeout(timeout):
            while (job := await self.import_state(import_id))["state"] not in ("done", "failed"):
                await asyncio.sleep(0.05)
        return job

    @asynccontextmanager
    async def holding_student(self, number: str) -> AsyncIterator[None]:
        """A row lock on a student, from outside the service: an import chunk that holds them waits for it."""
        conn = await asyncpg.connect(self.settings.effective_database_url())
        tx = conn.transaction()
        await tx.start()
        try:
            assert await conn.fetchval("SELECT true FROM students WHERE student_number = $1 FOR UPDATE", number)
            yield
        finally:
            await tx.rollback()
            await conn.close()

    async def student_id(self, number: str) -> uuid.UUID:
        return await self.fetchval("SELECT id FROM students WHERE student_number = $1", number)

    async def class_id(self, name: str) -> uuid.UUID:
        return await self.fetchval("SELECT id FROM classes WHERE name = $1", name)


@asynccontextmanager
async def world(db: str, *, demo: bool = True, **overrides) -> AsyncIterator[World]:
    cfg = identity_settings(db, **overrides)
    app = make_app(cfg)
    async with serve(app) as client:
        if demo:
            await load_demo(app[DB], cfg)
        yield World(client, app, cfg)


@pytest.fixture
async def w(unique) -> AsyncIterator[World]:
    async with world(f"id_{unique}") as x:
        yield x

