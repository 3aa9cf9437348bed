"""The opt-out of the daily digest (issue 12.6): MBO staff switch "Dagelijks overzicht per e-mail"
off and on in the portal; identity stores it and says so in identity.staff_changed, which reaches
the notification service over RabbitMQ. Other roles have no such page; bad input changes nothing."""
from __future__ import annotations

import asyncio
import re
import uuid
from contextlib import AsyncExitStack

import aiohttp
import pytest

from services.notification.app import make_app as make_notification
from services.notification.settings import NotificationSettings
from services.portal.app import make_app as make_portal
from services.portal.settings import PortalSettings
from shared.app import DB
from tests.integration.identity.conftest import LOGINS, world
from tests.integration.portal.support import serve_portal
from tests.support.apps import free_port, serve, settings

pytestmark = pytest.mark.asyncio
PAGE = "/account/meldingen"


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def checked(html: str) -> str | None:
    found = re.search(r'name="daily_digest" value="(on|off)"[^>]* checked', html)
    return found.group(1) if found else None


async def browser(portal, who: str) -> aiohttp.ClientSession:
    origin = str(portal.make_url("")).rstrip("/")
    http = aiohttp.ClientSession(base_url=origin + "/", cookie_jar=aiohttp.CookieJar(
        unsafe=True, treat_as_secure_origin=[origin]))
    page = await (await http.get("/inloggen")).text()
    email, password = LOGINS[who]
    async with http.post("/inloggen", data={"email": email, "password": password, "csrf_token": csrf(page)},
                         allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    return http


async def test_mbo_staff_switch_the_daily_digest_off_and_on():
    tag = uuid.uuid4().hex[:10]
    async with AsyncExitStack() as stack:
        w = await stack.enter_async_context(world(f"pdg_{tag}"))
        identity_url = str(w.client.make_url("")).rstrip("/")
        common = {"event_exchange": w.settings.event_exchange, "auth_jwks_url": identity_url + "/.well-known/jwks.json"}
        notification = make_notification(settings(NotificationSettings, f"pdg_no_{tag}", smtp_port=free_port(),
                                                  digest_auto=False, delivery_poll_seconds=60, **common))
        await stack.enter_async_context(serve(notification))
        portal = await stack.enter_async_context(serve_portal(make_portal(settings(
            PortalSettings, f"pdg_po_{tag}", identity_url=identity_url, dossier_url="http://127.0.0.1:9",
            document_url="http://127.0.0.1:9", **common))))
        staff_id = await w.fetchval("SELECT id FROM staff WHERE email = $1", LOGINS["mbo_staff"][0])

        async def choice_in_notification(expected: bool) -> None:
            async with asyncio.timeout(20):
                while await notification[DB].fetchval(
                        "SELECT daily_digest FROM digest_staff WHERE staff_id = $1", staff_id) is not expected:
                    await asyncio.sleep(0.1)

        async with await browser(portal, "mbo_staff") as http:
            home = await (await http.get("/account/wachtwoord-wijzigen")).text()
            assert f'href="{PAGE}">E-mailmeldingen</a>' in home, "the header links to the page"
            r = await http.get(PAGE)
            html = await r.text()
            assert r.status == 200 and "Dagelijks overzicht per e-mail" in html and checked(html) == "on"
            assert "geen gegevens van leerlingen" in html

            # nonsense: a Dutch message, nothing stored, nothing published
            before = len(await w.events("identity.staff_changed"))
            async with http.post(PAGE, data={"daily_digest": "misschien", "csrf_token": csrf(html)}) as r:
                assert r.status == 400 and "Kies of je het dagelijks overzicht wilt ontvangen." in await r.text()
            assert await w.fetchval("SELECT daily_digest FROM staff WHERE id = $1", staff_id) is True
            assert len(await w.events("identity.staff_changed")) == before

            async with http.post(PAGE, data={"daily_digest": "off", "csrf_token": csrf(html)},
                                 allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == PAGE
            html = await (await http.get(PAGE)).text()
            assert checked(html) == "off" and "Je krijgt geen dagelijks overzicht meer per e-mail." in html
            assert await w.fetchval("SELECT daily_digest FROM staff WHERE id = $1", staff_id) is False
            [event] = [e for e in (await w.events("identity.staff_changed"))[before:]]
            assert event["staff_id"] == str(staff_id) and event["daily_digest"] is False
            await choice_in_notification(False)

            # the same choice again: no new event
            async with http.post(PAGE, data={"daily_digest": "off", "csrf_token": csrf(html)},
                                 allow_redirects=False) as r:
                assert r.status == 303
            assert len(await w.events("identity.staff_changed")) == before + 1

            async with http.post(PAGE, data={"daily_digest": "on", "csrf_token": csrf(html)},
                                 allow_redirects=False) as r:
                assert r.status == 303
            assert checked(await (await http.get(PAGE)).text()) == "on"
            await choice_in_notification(True)

        async with await browser(portal, "mentor_4a") as http:
            assert (await http.get(PAGE)).status == 404, "only MBO staff have the digest"
            home = await (await http.get("/account/wachtwoord-wijzigen")).text()
            assert "E-mailmeldingen" not in home
        r = await w.client.put("/v1/me/preferences", json={"daily_digest": False},
                               headers=await w.headers("mentor_4a"))
        assert r.status == 403 and r.content_type == "application/problem+json"
        r = await w.client.put("/v1/me/preferences", json={"daily_digest": "nee", "extra": 1},
                               headers=await w.headers("mbo_staff"))
        assert r.status == 422 and r.content_type == "application/problem+json"
        assert await w.fetchval("SELECT daily_digest FROM staff WHERE id = $1", staff_id) is True
