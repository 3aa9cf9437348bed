"""A school year's life cycle in a real browser: the school admin reads in a roster file, sees first
what it changes and marks the student who left; deactivates a mentor, who is refused at login, and
makes them active again; and the retention rule, run directly with its clock moved on, tells the
school admin beforehand and then erases an old completed dossier with its PDFs."""
from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date, timedelta

import pytest
import pytest_asyncio

from services.dossier import retention
from services.dossier.domain.retention import erase_on
from shared.app import DB
from tests.browser.support import accessible, log_in, log_out
from tests.browser.system import (PASSWORD, Demo, System, dossier_api, import_roster, invite_mentor,
                                  issue_codes_by_mail, student_with_dossier, to_agreement)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def roster(system: System, demo: Demo) -> None:
    """Three students of 4a and their mentor, with a password."""
    t = system.tag
    await import_roster(system, demo, [
        f"5001;Lotte;Lotte;;Bakker;12-02-2008;4a;4;lotte-{t}@leerling.example.nl;{demo.mentor}",
        f"5002;Sven;Sven;;Visser;03-04-2010;4a;4;;{demo.mentor}",
        f"5003;Iris;Iris;de;Boer;21-06-2010;4a;4;;{demo.mentor}"])
    await invite_mentor(system, demo)


async def identity_row(system: System, sql: str, *args):
    async with system.identity_app[DB].acquire() as conn:
        return await conn.fetchrow(sql, *args)


async def test_a_roster_reimport_marks_a_leaver_after_the_preview(page, system: System, demo: Demo, roster,
                                                                  tmp_path) -> None:
    await log_in(page, system, demo.school_admin, PASSWORD)
    await page.get_by_role("link", name="Leerlingenbestand inlezen").first.click()
    csv = tmp_path / "leerlingen.csv"  # Iris (5003) is no longer in the school's file
    csv.write_text("leerlingnummer;roepnaam;voornamen;achternaam;geboortedatum;klas;leerjaar;email;mentor\n"
                   f"5001;Lotte;Lotte;Bakker;12-02-2008;4a;4;lotte-{system.tag}@leerling.example.nl;{demo.mentor}\n"
                   f"5002;Sven;Sven;Visser;03-04-2010;4a;4;;{demo.mentor}\n", encoding="utf-8")
    await page.locator("#f-bestand").set_input_files(str(csv))
    await page.get_by_role("button", name="Inlezen").click()
    await page.wait_for_load_state()
    text = await page.inner_text("main")
    assert "Er is nog niets veranderd" in text and "Niet in dit bestand: 1 leerling" in text
    assert "Iris de Boer" in text
    await accessible(page, "95-leerlingenbestand-controleren")
    # the preview changed nothing
    assert (await identity_row(system, "SELECT active FROM students WHERE student_number = '5003'"))["active"]

    await page.get_by_label("Iris de Boer heeft de school verlaten").check()
    await page.get_by_role("button", name="Inlezen").click()
    await page.wait_for_load_state()
    text = await page.inner_text("main")
    assert "Het bestand is ingelezen" in text and "De school verlaten: 1." in text
    iris = await identity_row(system, "SELECT active, left_on FROM students WHERE student_number = '5003'")
    assert iris["active"] is False and iris["left_on"] is not None
    lotte = await identity_row(system, "SELECT active FROM students WHERE student_number = '5001'")
    assert lotte["active"]
    # the counsellor's list no longer has her (the dossier service heard it too)
    counsellor = await system.login(demo.counsellor)
    async with asyncio.timeout(15):
        while True:
            found = await dossier_api(system, "POST", "/v1/overviews/students/search", counsellor, json={"q": "Iris"})
            if found["total"] == 0:
                break
            await asyncio.sleep(0.1)
    await log_out(page)


async def test_a_deactivated_mentor_is_refused_at_login(page, system: System, demo: Demo, roster) -> None:
    await log_in(page, system, demo.school_admin, PASSWORD)
    await page.goto(system.portal_url + "/beheer/medewerkers")
    mentor = (await system.api("GET", "/v1/staff", demo.admin_token))["staff"]
    name = next(s["name"] for s in mentor if s["email"] == demo.mentor)
    await page.get_by_role("button", name=f"Op inactief zetten {name}").click()
    await page.wait_for_load_state()
    assert "is op inactief gezet" in await page.inner_text("main")
    assert await page.get_by_role("button", name=f"Weer actief maken {name}").count() == 1
    await accessible(page, "96-medewerker-inactief")
    await log_out(page)

    await log_in(page, system, demo.mentor, PASSWORD)
    assert page.url.endswith("/inloggen")
    assert "Je account is niet meer actief" in await page.inner_text("main")

    # made active again, the mentor logs in
    await log_in(page, system, demo.school_admin, PASSWORD)
    await page.goto(system.portal_url + "/beheer/medewerkers")
    await page.get_by_role("button", name=f"Weer actief maken {name}").click()
    await page.wait_for_load_state()
    assert "is weer actief" in await page.inner_text("main")
    await log_out(page)
    await log_in(page, system, demo.mentor, PASSWORD)
    assert page.url.endswith("/school")
    await log_out(page)
    # and is the class's mentor again (the retention test below needs one)
    admin = await system.login(demo.school_admin)
    staff_id = next(s["staff_id"] for s in (await system.api("GET", "/v1/staff", admin))["staff"]
                    if s["email"] == demo.mentor)
    class_id = next(c["class_id"] for c in (await system.api("GET", "/v1/classes", admin))["classes"]
                    if c["name"] == "4a")
    await system.api("PUT", f"/v1/classes/{class_id}/mentors", admin, json={"staff_ids": [staff_id]})


async def test_the_retention_run_erases_an_old_dossier_and_its_pdfs(page, system: System, demo: Demo,
                                                                    roster) -> None:
    email = f"lotte-{system.tag}@leerling.example.nl"
    await issue_codes_by_mail(system, demo, "4a")
    dossier_id = await student_with_dossier(system, email, "111222345")
    await to_agreement(system, demo, email, dossier_id)
    student = await system.login(email)
    view = await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}", student)
    await dossier_api(system, "POST", f"/v1/dossiers/{dossier_id}/complete", student, view["version"])

    # the student opens the PDF: the document service keeps it
    await log_in(page, system, email, PASSWORD)
    response = await page.request.get(system.portal_url + f"/leerling/dossiers/{dossier_id}/pdf/alles")
    assert response.status == 200 and (await response.body()).startswith(b"%PDF")
    document = system.apps["document"]
    async with document[DB].acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM files WHERE dossier_id = $1", uuid.UUID(dossier_id)) == 1
    await log_out(page)

    # the clock moved on: a month before the school year ends in which the term ends, the school is told
    due = erase_on(date.today(), 2)
    dossier_app = system.apps["dossier"]
    await retention.run(dossier_app, due - timedelta(days=30))
    notice = await system.mail_to(demo.school_admin, "verwijdert")
    assert f"Vanaf {due:%d-%m-%Y}" in str(notice["subject"]) and "1 afgerond dossier" in system.body(notice)
    assert "1 leerling die de school heeft verlaten" in system.body(notice)  # Iris, of the first test
    await log_in(page, system, demo.school_admin, PASSWORD)
    await page.goto(system.link_in(notice, "/beheer/bewaartermijn"))
    text = await page.inner_text("main")
    assert "Lotte Bakker" in text and f"{due:%d-%m-%Y}" in text and "Er is nog niets verwijderd." in text
    await accessible(page, "97-bewaartermijn")

    await retention.run(dossier_app, due)
    async with asyncio.timeout(15):  # dossier.erased reaches the document service
        while True:
            async with document[DB].acquire() as conn:
                if not await conn.fetchval("SELECT count(*) FROM files WHERE dossier_id = $1", uuid.UUID(dossier_id)):
                    break
            await asyncio.sleep(0.1)
    await page.reload()
    text = await page.inner_text("main")
    assert "Er staat niets klaar om te worden verwijderd." in text and "Lotte" not in text
    row = await page.locator("table", has_text="alleen aantallen").locator("tbody tr").first.inner_text()
    # Lotte's dossier, and Iris, who left this school year (the first test): the same term ends for her
    assert re.search(r"\t1\t1\t0\t2 schooljaren", row), row
    await log_out(page)
    async with asyncio.timeout(15):  # dossier.student_erased reaches identity: her roster record goes
        while await identity_row(system, "SELECT 1 FROM students WHERE student_number = '5003'"):
            await asyncio.sleep(0.1)

    # the student (still at school) finds the dossier gone, the account still there
    await log_in(page, system, email, PASSWORD)
    assert page.url.endswith("/leerling")
    response = await page.goto(system.portal_url + f"/leerling/dossiers/{dossier_id}")
    assert response.status == 404


async def test_the_parent_link_goes_to_the_parent_the_school_knows(page, system: System, demo: Demo,
                                                                   roster) -> None:
    await system.api("PATCH", f"/v1/schools/{demo.vo_school_id}", demo.admin_token, json={"parent_rule": "consent"})
    t = system.tag
    mother = f"moeder-{t}@thuis.example.nl"
    header = ("leerlingnummer;roepnaam;voornamen;tussenvoegsel;achternaam;geboortedatum;klas;leerjaar;email;mentor;"
              "ouder 1 naam;ouder 1 e-mail;ouder 1 relatie")
    email = f"fenna-{t}@leerling.example.nl"
    await import_roster(system, demo, [f"5004;Fenna;Fenna;;Smit;01-09-2010;4a;4;{email};{demo.mentor};"
                                       f"Els Smit;{mother};moeder"], header=header)
    await issue_codes_by_mail(system, demo, "4a")
    dossier_id = await student_with_dossier(system, email, "111222357")
    await to_agreement(system, demo, email, dossier_id)
    await log_in(page, system, email, PASSWORD)
    await page.goto(system.portal_url + f"/leerling/dossiers/{dossier_id}/akkoordverklaring")
    text = await page.inner_text("main")
    assert f"De link gaat naar {mother} (moeder Els Smit): het adres dat de school van je ouder" in text
    assert await page.get_by_label("E-mailadres van je ouder of verzorger").count() == 0  # nothing to type
    await accessible(page, "98-akkoordverklaring-bekende-ouder")
    await page.get_by_role("button", name="Link sturen").click()
    await page.wait_for_load_state()
    assert f"krijgt een e-mail op {mother}" in await page.inner_text("main")
    assert "/ouder?token=" in system.body(await system.mail_to(mother))
