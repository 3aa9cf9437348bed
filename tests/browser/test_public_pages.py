"""The pages anyone sees, in a real browser: Dutch, keyboard-usable, accessible, working without
JavaScript, under a strict CSP."""
from __future__ import annotations

import pytest
import pytest_asyncio

from services.portal.app import make_app
from services.portal.settings import PortalSettings
from tests.browser.support import accessible
from tests.support import apps

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def portal_url(unique):
    from aiohttp.test_utils import TestServer

    settings = apps.settings(PortalSettings, f"pp_{unique}", identity_url="http://127.0.0.1:9",
                             dossier_url="http://127.0.0.1:9", document_url="http://127.0.0.1:9")
    server = TestServer(make_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_start_page_guides_each_step_with_a_question_mark(browser, portal_url) -> None:
    context = await browser.new_context(locale="nl-NL")
    page = await context.new_page()
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    await page.goto(portal_url + "/")
    assert await page.get_attribute("html", "lang") == "nl"
    await accessible(page, "01-startpagina")
    # the "?" of step 2 opens its explanation, by keyboard
    second = page.locator(".steps .qhelp").nth(1)
    await second.locator("summary").focus()
    await page.keyboard.press("Enter")
    assert "burgerservicenummer" in (await second.inner_text())
    # the skip link is the first thing Tab reaches and leads to the content
    await page.goto(portal_url + "/")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Naar de inhoud"
    assert not violations, violations
    await context.close()


async def test_help_page(browser, portal_url) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(portal_url + "/help")
    await page.get_by_text("Ik ben mijn wachtwoord vergeten.").click()
    assert await page.get_by_text("Klik bij Inloggen op 'Wachtwoord vergeten'").is_visible()
    await accessible(page, "02-help-en-contact")
    await context.close()


@pytest.mark.parametrize("javascript", [False, True], ids=["zonder-js", "met-js"])
async def test_forms_show_errors_beside_the_field_with_and_without_javascript(browser, portal_url, javascript) -> None:
    context = await browser.new_context(java_script_enabled=javascript)
    page = await context.new_page()
    await page.goto(portal_url + "/inloggen")
    await page.get_by_role("button", name="Inloggen").click()
    field = page.locator("#f-email")
    assert await field.get_attribute("aria-invalid") == "true"
    described = await field.get_attribute("aria-describedby")
    assert "Vul je e-mailadres in." in await page.locator(f"#{described.split()[-1]}").inner_text()
    assert await page.locator(".error-summary a[href='#f-email']").count() == 1
    if javascript:  # axe runs in the page: it needs JavaScript
        assert await page.evaluate("document.activeElement.classList.contains('error-summary')")
        await accessible(page, "03-inloggen-met-fouten")
    await context.close()
