"""The platform administrator's "Koppelingen" page in a real browser (issue 12): register a client
for an MBO institution, its secret shown once (and it works at POST /oauth/token), the client's
page with its log, revoke it (then it gets no token any more)."""
from __future__ import annotations

import base64

import pytest

from tests.browser.support import accessible, log_in
from tests.browser.system import PASSWORD, Demo, System

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _token_status(system: System, client_id: str, secret: str) -> int:
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    async with system.http.post(system.identity_url + "/oauth/token", data={"grant_type": "client_credentials"},
                                headers={"Authorization": f"Basic {auth}"}) as r:
        return r.status


async def test_the_platform_admin_registers_and_revokes_a_client(page, system: System, demo: Demo) -> None:
    await log_in(page, system, f"beheer-{system.tag}@doorstroom.example.nl", PASSWORD)
    await page.get_by_role("link", name="Koppelingen").click()
    await page.wait_for_load_state()
    assert "Koppelingen" in await page.inner_text("h1")
    # nothing filled in: refused beside the fields, nothing registered
    await page.get_by_role("button", name="Registreren").click()
    await page.wait_for_load_state()
    text = await page.inner_text("main")
    assert "Vul de naam van de koppeling in" in text and "Kies de ontvangende school (mbo, havo of vmbo)." in text
    assert await page.locator("#f-name").get_attribute("aria-invalid") == "true"
    await accessible(page, "a0-koppelingen-fout")

    await page.locator("#f-institution_id").select_option(label=f"MBO Utrecht {system.tag}")
    await page.locator("#f-name").fill("Eduarte MBO Utrecht")
    await page.get_by_label("Dossiers als afgehandeld markeren (dossiers:handle)").check()
    await page.get_by_role("button", name="Registreren").click()
    await page.wait_for_load_state()
    assert "Koppeling Eduarte MBO Utrecht is geregistreerd" in await page.inner_text("main")
    client_id = (await page.inner_text("#client-id")).strip()
    secret = (await page.inner_text("#client-secret")).strip()
    assert secret.startswith("dsk_")
    await accessible(page, "a1-koppeling-geregistreerd")
    assert await _token_status(system, client_id, secret) == 200

    # shown once: the list and the client's page do not show it again
    await page.goto(system.portal_url + "/platform/koppelingen")
    assert secret not in await page.content()
    await page.get_by_role("link", name="Eduarte MBO Utrecht").click()
    await page.wait_for_load_state()
    assert secret not in await page.content()
    text = await page.inner_text("main")
    assert client_id in text and "Actief" in text and "Token uitgegeven" in text and "Geregistreerd" in text
    await accessible(page, "a2-koppeling")

    await page.get_by_role("button", name="Koppeling intrekken").click()
    await page.wait_for_load_state()
    assert "is ingetrokken" in await page.inner_text("main")
    assert "Ingetrokken op" in await page.inner_text("#status")
    assert await _token_status(system, client_id, secret) == 401
