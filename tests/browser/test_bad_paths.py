"""The bad paths a person meets, in a real browser: a wrong password, a mailed link that expired or
was used, a wrong activation code, and someone else's dossier. Each answer is a Dutch page that says
what to do, and changes nothing."""
from __future__ import annotations

import re

import pytest
import pytest_asyncio

from tests.browser.support import accessible, log_in
from tests.browser.system import (PASSWORD, Demo, System, import_roster, issue_codes_by_mail, student_account,
                                  student_with_dossier)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def people(system: System, demo: Demo) -> dict:
    t = system.tag
    await import_roster(system, demo, [
        f"2001;Sanne;Sanne;;Bakker;01-02-2010;3b;3;sanne-{t}@leerling.example.nl;{demo.mentor}",
        f"2002;Ali;Ali;;Yilmaz;03-04-2010;3b;3;ali-{t}@leerling.example.nl;{demo.mentor}"])
    await issue_codes_by_mail(system, demo, "3b")
    sanne = f"sanne-{t}@leerling.example.nl"
    dossier = await student_with_dossier(system, sanne, "111222333")
    ali = f"ali-{t}@leerling.example.nl"
    await student_account(system, ali, "123456782")
    return {"sanne": sanne, "sanne_dossier": dossier, "ali": ali}


async def test_wrong_password_says_so_without_telling_which_half_was_wrong(page, system: System, people) -> None:
    await log_in(page, system, people["ali"], "niet mijn wachtwoord 123")
    assert page.url.endswith("/inloggen")
    text = await page.inner_text("main")
    assert "Het e-mailadres of het wachtwoord klopt niet." in text
    assert "Wachtwoord vergeten?" in text
    await accessible(page, "70-inloggen-fout-wachtwoord")
    await log_in(page, system, f"niemand-{system.tag}@example.nl", "niet mijn wachtwoord 123")
    assert "Het e-mailadres of het wachtwoord klopt niet." in await page.inner_text("main")


async def test_a_used_or_unknown_link_is_expired(page, system: System, people) -> None:
    # the verification link of an account that is already active was used: it works no more
    mail = await system.mail_to(people["ali"], "bevestig")
    await page.goto(system.link_in(mail, "/account/verifieren"))
    await page.locator("#f-password").fill(PASSWORD + " nieuw")
    await page.locator("#f-password_repeat").fill(PASSWORD + " nieuw")
    await page.get_by_role("button", name="Account activeren").click()
    assert "Deze link werkt niet meer" in await page.inner_text("h1")
    await accessible(page, "71-link-verlopen")
    # a made-up reset link as well
    await page.goto(system.portal_url + "/account/wachtwoord-herstellen?token=verzonnen-token-123")
    await page.locator("#f-password").fill(PASSWORD + " nieuw")
    await page.locator("#f-password_repeat").fill(PASSWORD + " nieuw")
    await page.get_by_role("button", name="Wachtwoord opslaan").click()
    assert "Deze link werkt niet meer" in await page.inner_text("h1")
    # and the old password still works: nothing changed
    await log_in(page, system, people["ali"], PASSWORD)
    assert page.url.endswith("/leerling")


async def test_a_wrong_activation_code_is_reported_beside_the_field(page, system: System, people) -> None:
    await log_in(page, system, people["ali"], PASSWORD)
    await page.get_by_role("link", name="Nieuw dossier").first.click()
    await page.locator("#f-code").fill("ABCD-EFGH-JK")
    await page.get_by_role("button", name="Nieuw dossier").click()
    await page.wait_for_load_state()
    code = page.locator("#f-code")
    assert await code.get_attribute("aria-invalid") == "true"
    message = await page.locator("#e-code").inner_text()
    assert "code" in message.lower()
    assert await page.locator(".error-summary a[href='#f-code']").count() == 1
    await accessible(page, "72-verkeerde-activatiecode")
    await page.goto(system.portal_url + "/leerling")
    assert "nog geen dossier" in await page.inner_text("main")  # nothing was made


async def test_another_students_dossier_is_not_found(page, system: System, people) -> None:
    await log_in(page, system, people["ali"], PASSWORD)
    dossier = people["sanne_dossier"]
    for path in (f"/leerling/dossiers/{dossier}/deel-a/personal_details", f"/leerling/dossiers/{dossier}/pdf/a",
                 f"/school/dossiers/{dossier}", f"/mbo/dossiers/{dossier}"):
        response = await page.goto(system.portal_url + path)
        assert response.status == 404, path
        assert "Niet gevonden" in await page.inner_text("h1")
    await accessible(page, "73-ander-dossier-niet-gevonden")
    # the owner does see it
    await page.get_by_role("button", name="Uitloggen").click()
    await log_in(page, system, people["sanne"], PASSWORD)
    response = await page.goto(system.portal_url + f"/leerling/dossiers/{dossier}/deel-a/personal_details")
    assert response.status == 200 and re.search("Persoonlijke gegevens", await page.inner_text("h1"))
