"""A parent or guardian (no account): where the school asks for consent, the student under 18 sends
a link from the agreement page; the parent reads parts A and B through the mailed link and consents;
only then can the student complete."""
from __future__ import annotations

import pytest
import pytest_asyncio

from tests.browser.support import accessible, log_in
from tests.browser.system import (PASSWORD, Demo, System, import_roster, invite_mentor, issue_codes_by_mail,
                                  student_with_dossier, to_agreement)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def noor(system: System, demo: Demo) -> dict:
    await system.api("PATCH", f"/v1/schools/{demo.vo_school_id}", demo.admin_token, json={"parent_rule": "consent"})
    t = system.tag
    await import_roster(system, demo, [f"4001;Noor;Noor;van;Dijk;30-05-2010;4a;4;noor-{t}@leerling.example.nl;"
                                       f"{demo.mentor}"])
    await invite_mentor(system, demo)
    await issue_codes_by_mail(system, demo, "4a")
    email = f"noor-{t}@leerling.example.nl"
    dossier = await student_with_dossier(system, email, "111222333")
    await to_agreement(system, demo, email, dossier)
    return {"email": email, "dossier": dossier}


async def test_parent_consents_through_the_mailed_link(browser, page, system: System, noor) -> None:
    await log_in(page, system, noor["email"], PASSWORD)
    await page.get_by_role("link", name="Start de akkoordverklaring").click()
    assert "ouder of verzorger moet ook akkoord geven" in await page.inner_text("main")
    # completing before the parent consented is refused, with the reason
    await page.get_by_role("button", name="Afronden").click()
    await page.wait_for_load_state()
    assert "Akkoordverklaring" in await page.inner_text("h1")
    parent_email = f"ouder-{system.tag}@thuis.example.nl"
    await page.get_by_label("E-mailadres van je ouder of verzorger").fill(parent_email)
    await page.get_by_role("button", name="Link sturen").click()
    await page.wait_for_load_state()
    assert "krijgt een e-mail" in await page.inner_text("main")

    # the parent: no account, only the link
    mail = await system.mail_to(parent_email)
    context = await browser.new_context(locale="nl-NL")
    parent = await context.new_page()
    await parent.goto(system.link_in(mail, "/ouder"))
    assert "token" not in parent.url
    text = await parent.inner_text("main")
    assert "Voetbal" in text and "Een goede keuze." in text
    await accessible(parent, "80-ouder-dossier")
    await parent.get_by_label("Akkoord", exact=True).check()
    await parent.get_by_role("button", name="Versturen").click()
    await parent.wait_for_load_state()
    assert "Uw reactie is opgeslagen" in await parent.inner_text("main")
    await context.close()

    # now the student can complete
    await page.reload()
    assert "heeft gereageerd: akkoord" in await page.inner_text("main")
    await page.get_by_role("button", name="Afronden").click()
    await page.wait_for_load_state()
    assert "afgerond" in await page.inner_text("main")
