"""Back to part A, in a real browser (manual 2.3 and 4): the student or the mentor sets a submitted
dossier back to part A while part B has not been started (the student gets a mail), the button is
gone once the mentor started part B, and the student takes a dossier back to part A from the
agreement page. Also the parent's page where the school lets parents read and react (inspection):
an objection is kept but does not block completion."""
from __future__ import annotations

import pytest
import pytest_asyncio

from tests.browser.support import accessible, log_in, log_out
from tests.browser.system import (PASSWORD, Demo, System, import_roster, invite_mentor, issue_codes_by_mail,
                                  start_part_b, student_with_dossier, to_agreement, to_mentor)

pytestmark = pytest.mark.asyncio(loop_scope="session")

STUDENTS = (("5001", "Sem", "Bakker", "123456708"), ("5002", "Lotte", "Visser", "123456721"),
            ("5003", "Mila", "Peters", "123456733"), ("5004", "Finn", "Mulder", "123456745"))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def people(system: System, demo: Demo) -> dict:
    await system.api("PATCH", f"/v1/schools/{demo.vo_school_id}", demo.admin_token,
                     json={"parent_rule": "inspection"})
    t = system.tag
    await import_roster(system, demo, [f"{number};{name};{name};;{surname};12-03-2010;4a;4;"
                                       f"{name.lower()}-{t}@leerling.example.nl;{demo.mentor}"
                                       for number, name, surname, _ in STUDENTS])
    await invite_mentor(system, demo)
    await issue_codes_by_mail(system, demo, "4a")
    people = {}
    for _, name, _, bsn in STUDENTS:
        email = f"{name.lower()}-{t}@leerling.example.nl"
        people[name] = {"email": email, "dossier": await student_with_dossier(system, email, bsn)}
    await to_mentor(system, demo, people["Sem"]["email"], people["Sem"]["dossier"])
    await to_mentor(system, demo, people["Lotte"]["email"], people["Lotte"]["dossier"])
    await to_agreement(system, demo, people["Mila"]["email"], people["Mila"]["dossier"])
    await to_agreement(system, demo, people["Finn"]["email"], people["Finn"]["dossier"])
    return people


async def test_the_student_sets_a_submitted_dossier_back_to_part_a(page, system: System, people) -> None:
    sem = people["Sem"]
    await log_in(page, system, sem["email"], PASSWORD)
    assert "Deel B invullen" in await page.inner_text("table")
    await page.goto(f"{system.portal_url}/leerling/dossiers/{sem['dossier']}")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Terugzetten naar deel A").click()
    await page.wait_for_load_state()
    assert "Je dossier staat weer in deel A." in await page.inner_text("main")
    mail = await system.mail_to(sem["email"], "weer open in deel A")
    assert "deel A" in system.body(mail)
    await page.goto(system.portal_url + "/leerling")
    assert "Deel A invullen" in await page.inner_text("table")


async def test_the_mentor_resets_until_part_b_is_started(page, system: System, demo: Demo, people) -> None:
    lotte = people["Lotte"]
    await log_in(page, system, demo.mentor, PASSWORD)
    await page.goto(f"{system.portal_url}/school/dossiers/{lotte['dossier']}")
    await accessible(page, "38-mentor-terugzetten")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Terugzetten naar deel A").click()
    await page.wait_for_load_state()
    assert "Het dossier staat weer in deel A. De leerling krijgt een e-mail." in await page.inner_text("main")
    await system.mail_to(lotte["email"], "weer open in deel A")

    # sent again, and this time the mentor starts part B: no more going back
    await to_mentor(system, demo, lotte["email"], lotte["dossier"])
    await start_part_b(system, demo, lotte["dossier"])
    await page.goto(f"{system.portal_url}/school/dossiers/{lotte['dossier']}")
    assert await page.get_by_role("button", name="Terugzetten naar deel A").count() == 0
    await log_out(page)
    await log_in(page, system, lotte["email"], PASSWORD)
    await page.goto(f"{system.portal_url}/leerling/dossiers/{lotte['dossier']}")
    assert "Je mentor vult nu deel B in" in await page.inner_text("main")
    assert await page.get_by_role("button", name="Terugzetten naar deel A").count() == 0


async def test_back_to_part_a_from_the_agreement_page(page, system: System, people) -> None:
    mila = people["Mila"]
    await log_in(page, system, mila["email"], PASSWORD)
    await page.get_by_role("link", name="Start de akkoordverklaring").click()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Terug naar deel A").click()
    await page.wait_for_load_state()
    assert "Je dossier staat weer in deel A" in await page.inner_text("main")
    await page.goto(system.portal_url + "/leerling")
    assert "Deel A invullen" in await page.inner_text("table")


async def test_parents_read_and_object_under_inspection_without_blocking(browser, page, system: System,
                                                                         people) -> None:
    finn = people["Finn"]
    await log_in(page, system, finn["email"], PASSWORD)
    await page.get_by_role("link", name="Start de akkoordverklaring").click()
    parent_email = f"ouder-finn-{system.tag}@thuis.example.nl"
    await page.get_by_label("E-mailadres van je ouder of verzorger").fill(parent_email)
    await page.get_by_role("button", name="Link sturen").click()
    await page.wait_for_load_state()
    assert "krijgt een e-mail" in await page.inner_text("main")

    context = await browser.new_context(locale="nl-NL")
    parent = await context.new_page()
    await parent.goto(system.link_in(await system.mail_to(parent_email), "/ouder"))
    text = await parent.inner_text("main")
    assert "Wilt u reageren op dit dossier?" in text and "De school vraagt ook uw akkoord" not in text
    await accessible(parent, "81-ouder-inzage")
    await parent.get_by_label("Ik heb bezwaar").check()
    await parent.get_by_label("Toelichting (niet verplicht)").fill("Wij twijfelen nog over de opleiding.")
    await parent.get_by_role("button", name="Versturen").click()
    await parent.wait_for_load_state()
    assert "Uw reactie is opgeslagen" in await parent.inner_text("main")
    await context.close()

    # the objection is shown to the student, and does not stop completion (inspection)
    await page.reload()
    assert "niet akkoord" in await page.inner_text("main")
    await page.get_by_role("button", name="Afronden").click()
    await page.wait_for_load_state()
    assert "afgerond" in await page.inner_text("main")
