"""Sessions against the real identity service: login makes a new server-side session, the access
token is refreshed transparently (also when two requests need it at once), logout ends the session
at identity too."""
from __future__ import annotations

import asyncio
import json
import re
from contextlib import AsyncExitStack

import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from services.portal import sessions
from tests.browser.system import PASSWORD, open_system, seed
from tests.integration.portal.support import portal_client, portal_login
from tests.support import env

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world():
    async with AsyncExitStack() as stack:
        system = await open_system(stack)
        demo = await seed(system)
        yield system, demo


async def _login(http: aiohttp.ClientSession, email: str) -> None:
    await portal_login(http, email, PASSWORD)


async def _sessions(system) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(env.database_url(f"bpo_{system.tag}"))
    try:
        return await conn.fetch("SELECT * FROM portal_sessions WHERE principal IS NOT NULL")
    finally:
        await conn.close()


def _cookie(http: aiohttp.ClientSession) -> str:
    return {c.key: c.value for c in http.cookie_jar}["doorstroom_sessie"]


def _opened(row: asyncpg.Record, cookie: str) -> sessions.Session:
    """The row as the portal reads it, with the key only the browser's cookie gives."""
    plain = {**row, "principal": json.loads(row["principal"]) if row["principal"] else None}  # no jsonb codec here
    return sessions._row_to_session(plain, *sessions._keys(cookie))


async def _expire_access_tokens(system) -> None:
    conn = await asyncpg.connect(env.database_url(f"bpo_{system.tag}"))
    try:
        await conn.execute("UPDATE portal_sessions SET access_expires_at = now() - interval '1 minute'")
    finally:
        await conn.close()


async def test_login_rotates_the_session_and_keeps_tokens_server_side(world) -> None:
    system, demo = world
    async with await portal_client(system) as http:
        await http.get("/inloggen")
        before = {c.key: c.value for c in http.cookie_jar}
        await _login(http, demo.counsellor)
        after = {c.key: c.value for c in http.cookie_jar}
        assert before["doorstroom_sessie"] != after["doorstroom_sessie"]  # no session fixation
        html = await (await http.get("/school")).text()
        assert "Te behandelen" in html and "Daan Decaan" in html
        assert "eyJ" not in html  # no token ever reaches the browser


async def test_expired_access_token_is_refreshed_transparently_even_twice_at_once(world) -> None:
    system, demo = world
    async with await portal_client(system) as http:
        await _login(http, demo.school_admin)
        cookie = _cookie(http)
        [old] = [_opened(r, cookie) for r in await _sessions(system) if r["id_hash"] == sessions._hash(cookie)]
        await _expire_access_tokens(system)
        first, second = await asyncio.gather(http.get("/beheer/medewerkers"), http.get("/beheer/medewerkers"))
        assert first.status == 200 and second.status == 200
        assert "Medewerkers" in await first.text() and "Medewerkers" in await second.text()
        [new] = [_opened(r, cookie) for r in await _sessions(system) if r["id_hash"] == old.id_hash]
        assert new.access_token != old.access_token and new.refresh_token != old.refresh_token


async def test_logout_ends_the_session_here_and_at_identity(world) -> None:
    system, demo = world
    async with await portal_client(system) as http:
        await _login(http, demo.mbo_staff)
        [row] = [r for r in await _sessions(system) if json.loads(r["principal"])["role"] == "mbo_staff"]
        refresh_token = _opened(row, _cookie(http)).refresh_token
        page = await (await http.get("/mbo")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        async with http.post("/uitloggen", data={"csrf_token": token}, allow_redirects=False) as r:
            assert r.status == 303
        assert not [r for r in await _sessions(system) if r["id_hash"] == row["id_hash"]]
        async with http.get("/mbo", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/inloggen"
        async with system.http.post(system.identity_url + "/v1/sessions/refresh",
                                    json={"refresh_token": refresh_token}) as r:
            assert r.status == 401
