"""The mentor's and counsellor's other screens, and the student's extra options, in a real browser:
activation letters with their progress and PDF, deel B started early (manual 3.4), herinneringen,
archiving and reactivating, and "download al mijn gegevens"."""
from __future__ import annotations

import json
import re

import pytest
import pytest_asyncio

from tests.browser.support import accessible, log_in, log_out
from tests.browser.system import (PASSWORD, Demo, System, import_roster, invite_mentor, issue_codes_by_mail,
                                  student_with_dossier)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def people(system: System, demo: Demo) -> dict:
    t = system.tag
    await import_roster(system, demo, [
        f"3001;Noor;Noor;van;Dijk;30-05-2010;4b;4;noor-{t}@leerling.example.nl;{demo.mentor}",
        f"3002;Daan;Daniël;;Smit;17-09-2010;4b;4;;{demo.mentor}"])
    await invite_mentor(system, demo)
    await issue_codes_by_mail(system, demo, "4b")
    noor = f"noor-{t}@leerling.example.nl"
    dossier = await student_with_dossier(system, noor, "111222333")
    return {"noor": noor, "dossier": dossier}


async def test_letters_for_a_class_show_progress_and_download(page, system: System, demo: Demo, people) -> None:
    await log_in(page, system, demo.counsellor, PASSWORD)
    await page.goto(system.portal_url + "/school/activatiecodes")
    await page.get_by_label("Eén klas").check()
    await page.locator("#f-class_id").select_option(label="4b")
    await page.get_by_label("Per geprinte brief").check()
    await page.get_by_role("button", name="Codes verstrekken").click()
    await page.wait_for_load_state()
    assert "Brieven met activatiecodes" in await page.inner_text("h1")
    await accessible(page, "23-brieven-voortgang")
    # the page refreshes itself until the job is done
    await page.get_by_role("link", name="Brieven downloaden (pdf)").wait_for(timeout=60_000)
    assert "/afdrukopdrachten/" in page.url
    response = await page.request.get(page.url + "/pdf")
    assert response.status == 200 and (await response.body()).startswith(b"%PDF")
    await accessible(page, "24-brieven-klaar")
    await page.goto(system.portal_url + "/school/activatiecodes/status")
    table = await page.inner_text("table")
    assert "Daan Smit" in table and "per brief" in table
    await log_out(page)


async def test_mentor_starts_part_b_early_and_sees_reminders(page, system: System, demo: Demo, people) -> None:
    await log_in(page, system, demo.mentor, PASSWORD)
    await page.goto(system.portal_url + "/school/leerlingen?leerjaar=4")
    row = page.locator("tr", has_text="Daan Smit")
    await row.get_by_role("link", name=re.compile("Deel B alvast invullen")).click()
    assert "Deel B alvast invullen" in await page.inner_text("h1")
    await page.locator("input[name='lwoo'][value='ja']").check()
    await page.locator("input[name='support_received_dutch'][value='nee']").check()
    await accessible(page, "45-deel-b-vroeg-starten")
    await page.get_by_role("button", name="Opslaan en sluiten").click()
    await page.wait_for_load_state()
    assert "leerling-specifieke deel is opgeslagen" in await page.inner_text("main")
    await page.goto(system.portal_url + "/school/herinneringen")
    assert "Herinneringen" in await page.inner_text("h1")
    await accessible(page, "46-herinneringen")
    # archive the student's dossier (part A, not submitted): it leaves the overviews
    await page.goto(system.portal_url + f"/school/dossiers/{people['dossier']}")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Archiveren").click()
    await page.wait_for_load_state()
    assert "gearchiveerd" in (await page.inner_text("main")).lower()
    await log_out(page)


async def test_student_reactivates_and_downloads_all_data(page, system: System, demo: Demo, people) -> None:
    await log_in(page, system, people["noor"], PASSWORD)
    assert "Gearchiveerd" in await page.inner_text("table")
    await page.get_by_role("button", name="Opnieuw activeren").click()
    await page.wait_for_load_state()
    assert "weer actief" in await page.inner_text("main")
    assert "Deel A invullen" in await page.inner_text("table")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download al mijn gegevens").click()
    download = await info.value
    data = json.loads(open(await download.path(), encoding="utf-8").read())
    assert people["dossier"] in json.dumps(data)


async def test_school_admin_links_mentors_to_classes(page, system: System, demo: Demo, people) -> None:
    await log_in(page, system, demo.school_admin, PASSWORD)
    await page.goto(system.portal_url + "/beheer/klassen")
    form = page.locator("form", has_text="Klas 4b")
    assert await form.locator("input[type=checkbox]:checked").count() == 1  # from the roster's mentor column
    await accessible(page, "13-klassen-en-mentoren")
    linked = await form.locator("input[type=checkbox]:checked").get_attribute("value")
    await form.locator(f"input[value='{linked}']").uncheck()
    await form.get_by_role("button", name=re.compile("Opslaan")).click()
    await page.wait_for_load_state()
    assert "mentoren van de klas zijn opgeslagen" in await page.inner_text("main")
    form = page.locator("form", has_text="Klas 4b")
    assert await form.locator("input[type=checkbox]:checked").count() == 0
    await form.locator(f"input[value='{linked}']").check()
    await form.get_by_role("button", name=re.compile("Opslaan")).click()
    await page.wait_for_load_state()
    checked = page.locator("form", has_text="Klas 4b").locator("input[type=checkbox]:checked")
    assert await checked.count() == 1 and await checked.get_attribute("value") == linked
