"""The portal in-process for tests, with a client that keeps the Secure session cookie on loopback
(as browsers do for http://localhost)."""
from __future__ import annotations

import re
from contextlib import asynccontextmanager
from typing import AsyncIterator

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.support.apps import free_port


@asynccontextmanager
async def serve_portal(app: web.Application) -> AsyncIterator[TestClient]:
    port = free_port()
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[f"http://127.0.0.1:{port}"])
    client = TestClient(TestServer(app, host="127.0.0.1", port=port), cookie_jar=jar)
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def portal_login(http: aiohttp.ClientSession, email: str, password: str) -> None:
    """Log in through the portal's form (with its CSRF token); the session cookie stays in ``http``."""
    page = await (await http.get("/inloggen")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    async with http.post("/inloggen", data={"email": email, "password": password, "csrf_token": token},
                         allow_redirects=False) as r:
        assert r.status == 303, await r.text()


async def portal_client(system) -> aiohttp.ClientSession:
    """A browser-like client of a whole system's portal (its own cookie jar)."""
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[system.portal_url])
    return aiohttp.ClientSession(base_url=system.portal_url, cookie_jar=jar)
