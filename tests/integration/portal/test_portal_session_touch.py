"""The session row is read once per page and written only when "last seen" is getting old; a page
whose API calls run at the same time refreshes an expired access token once; idle sessions still end."""
from __future__ import annotations

import asyncio
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


def _id_hash(http: aiohttp.ClientSession) -> str:
    return sessions._hash({c.key: c.value for c in http.cookie_jar}["doorstroom_sessie"])


async def _sql(system, query: str, *args):
    conn = await asyncpg.connect(env.database_url(f"bpo_{system.tag}"))
    try:
        return await conn.fetchrow(query, *args)
    finally:
        await conn.close()


async def _set_last_seen(system, id_hash: str, ago: str) -> None:
    await _sql(system, f"UPDATE portal_sessions SET last_seen_at = now() - interval '{ago}' WHERE id_hash = $1",
               id_hash)


async def _seconds_since_seen(system, id_hash: str) -> float:
    row = await _sql(system, "SELECT extract(epoch FROM now() - last_seen_at) AS s FROM portal_sessions "
                             "WHERE id_hash = $1", id_hash)
    return float(row["s"])


async def test_a_recent_session_is_read_without_a_write_and_an_older_one_is_touched(world) -> None:
    system, demo = world
    async with await portal_client(system) as http:
        await portal_login(http, demo.counsellor, PASSWORD)
        id_hash = _id_hash(http)
        await _set_last_seen(system, id_hash, "20 seconds")  # under a sixtieth of the hour: no write
        assert (await http.get("/school")).status == 200
        assert 19 < await _seconds_since_seen(system, id_hash) < 40
        await _set_last_seen(system, id_hash, "30 minutes")  # older: "last seen" moves on to now
        assert (await http.get("/school")).status == 200
        assert await _seconds_since_seen(system, id_hash) < 5


async def test_an_idle_session_ends_as_before(world) -> None:
    system, demo = world
    async with await portal_client(system) as http:
        await portal_login(http, demo.counsellor, PASSWORD)
        await _set_last_seen(system, _id_hash(http), "61 minutes")
        async with http.get("/school", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/inloggen"


async def test_a_page_with_calls_at_the_same_time_refreshes_an_expired_token_once(world) -> None:
    system, demo = world
    async with await portal_client(system) as http:
        await portal_login(http, demo.counsellor, PASSWORD)
        id_hash = _id_hash(http)
        before = await _sql(system, "SELECT tokens FROM portal_sessions WHERE id_hash = $1", id_hash)
        await _sql(system, "UPDATE portal_sessions SET access_expires_at = now() - interval '1 minute' "
                           "WHERE id_hash = $1", id_hash)
        # both pages make two API calls at once; the four calls share one refresh of the session
        first, second = await asyncio.gather(http.get("/school"), http.get("/school/leerlingen"))
        assert first.status == 200 and second.status == 200
        assert "Te behandelen" in await first.text() and "Mijn leerlingen" in await second.text()
        after = await _sql(system, "SELECT tokens, access_expires_at > now() AS fresh FROM portal_sessions "
                                   "WHERE id_hash = $1", id_hash)
        assert after["fresh"] and after["tokens"] != before["tokens"]
        assert (await http.get("/school")).status == 200  # the refreshed tokens still work


async def test_a_page_whose_tokens_can_no_longer_be_refreshed_goes_to_the_login(world) -> None:
    """Both calls of the page need a refresh that identity refuses: the session ends and the page
    asks to log in again, as it did with one call at a time."""
    system, demo = world
    async with await portal_client(system) as http:
        await portal_login(http, demo.counsellor, PASSWORD)
        cookie = {c.key: c.value for c in http.cookie_jar}["doorstroom_sessie"]
        id_hash = sessions._hash(cookie)
        key, _ = sessions._keys(cookie)
        refused = sessions._seal(key, id_hash, "tokens", {"access": "ongeldig", "refresh": "ongeldig"})
        await _sql(system, "UPDATE portal_sessions SET access_expires_at = now() - interval '1 minute', "
                           "tokens = $2 WHERE id_hash = $1", id_hash, refused)
        async with http.get("/school/leerlingen", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/inloggen"
        assert await _sql(system, "SELECT 1 FROM portal_sessions WHERE id_hash = $1", id_hash) is None
        page = await (await http.get("/inloggen")).text()
        assert "Log opnieuw in" in page
