"""`python -m services.portal` runs as a process: health, readiness and the start page."""
from __future__ import annotations

import aiohttp
import pytest

from tests.support.apps import ServiceProcess

pytestmark = pytest.mark.asyncio


async def test_portal_runs_as_a_process(unique) -> None:
    portal = await ServiceProcess("portal", db=f"portal_p_{unique}").start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(portal.url + "/healthz") as r:
                assert r.status == 200 and (await r.json())["service"] == "portal"
            async with http.get(portal.url + "/") as r:
                assert r.status == 200 and "Digitaal Doorstroomdossier" in await r.text()
                assert "Content-Security-Policy" in r.headers
    finally:
        assert await portal.stop() == 0
