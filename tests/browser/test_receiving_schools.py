"""A HAVO choice, in a real browser (issue 11, item 5): a student chooses a HAVO school and its
profile from the list; the dossier is completed and the receiving staff of that participating HAVO
school find it in their inbox. Another student types in a school that is not in the list; once the
dossier is completed, the student's page says that school does not receive dossiers through
Doorstroom and offers the PDF to hand over."""
from __future__ import annotations

import pytest
import pytest_asyncio

from tests.browser.support import accessible, log_in, log_out
from tests.browser.system import (PART_A, PASSWORD, Demo, System, dossier_api, import_roster, invite_mentor,
                                  issue_codes_by_mail, send_part_b, student_with_dossier)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(system: System, demo: Demo) -> dict:
    t = system.tag
    admin = demo.admin_token
    havo = await system.api("POST", "/v1/schools", admin, json={
        "kind": "havo", "name": f"Stedelijk Lyceum {t}", "city": "Enschede", "participates": True})
    await system.api("POST", f"/v1/schools/{havo['school_id']}/programmes", admin, json={
        "name": "HAVO 4", "profile": "Natuur en Gezondheid"})
    staff = f"intake-{t}@lyceum.example.nl"
    await system.api("POST", "/v1/staff", admin, json={"role": "mbo_staff", "name": "Ilse Intake", "email": staff,
                                                       "school_id": havo["school_id"], "invite": True})
    await system.accept_invitation(staff)
    await import_roster(system, demo, [
        f"7001;Fenna;Fenna;;Mulder;01-02-2008;4a;4;fenna-{t}@leerling.example.nl;{demo.mentor}",
        f"7002;Ravi;Ravi;;Bos;01-03-2008;4a;4;ravi-{t}@leerling.example.nl;{demo.mentor}"])
    await invite_mentor(system, demo)
    await issue_codes_by_mail(system, demo, "4a")
    fenna, ravi = f"fenna-{t}@leerling.example.nl", f"ravi-{t}@leerling.example.nl"
    return {"havo": havo, "staff": staff, "fenna": fenna, "ravi": ravi,
            "fenna_dossier": await student_with_dossier(system, fenna, "111222333"),
            "ravi_dossier": await student_with_dossier(system, ravi, "123456782")}


async def choose_in_the_browser(page, system: System, email: str, dossier_id: str, choose) -> None:
    await log_in(page, system, email, PASSWORD)
    await page.goto(f"{system.portal_url}/leerling/dossiers/{dossier_id}/deel-a/follow_up_programme")
    await choose(page)
    await page.get_by_label("Ja", exact=True).first.check()
    await page.get_by_role("button", name="Opslaan", exact=True).click()
    await page.wait_for_load_state()


async def complete_through_the_api(system: System, demo: Demo, email: str, dossier_id: str) -> None:
    """The rest of part A (the choice stays as the browser saved it), part B, the agreement."""
    student = await system.login(email)
    view = await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}", student)
    for section, values in PART_A.items():
        if section == "follow_up_programme":
            continue
        view = await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}", student)
        await dossier_api(system, "PUT", f"/v1/dossiers/{dossier_id}/part-a/{section}", student,
                          view["versions"].get(section, 0), json={"answers": values})
    mentor_id = (await dossier_api(system, "GET", "/v1/me/mentors", student))["mentors"][0]["staff_id"]
    view = await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}", student)
    await dossier_api(system, "POST", f"/v1/dossiers/{dossier_id}/submit", student, view["version"],
                      json={"mentor_id": mentor_id})
    await send_part_b(system, demo, dossier_id)
    view = await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}", student)
    done = await dossier_api(system, "POST", f"/v1/dossiers/{dossier_id}/complete", student, view["version"],
                             json={})
    assert done["state"] == "completed", done


async def test_a_havo_choice_reaches_the_inbox_of_the_participating_havo_school(page, system: System, demo: Demo,
                                                                               world) -> None:
    t = system.tag

    async def choose(page) -> None:
        await page.locator("#f-keuzevervolgopleiding").select_option(label="HAVO 4 – Natuur en Gezondheid")

    await choose_in_the_browser(page, system, world["fenna"], world["fenna_dossier"], choose)
    assert "Natuur en Gezondheid" in await page.inner_text("main")
    await accessible(page, "95-havo-keuze")
    await log_out(page)
    await complete_through_the_api(system, demo, world["fenna"], world["fenna_dossier"])

    # the receiving staff of the HAVO school: the dossier in their inbox, as MBO staff have it
    await log_in(page, system, world["staff"], PASSWORD)
    assert page.url.endswith("/mbo")
    inbox = await page.inner_text("main")
    assert "Fenna" in inbox and "Mulder" in inbox
    await page.get_by_role("link", name="Fenna Mulder").first.click()
    await page.wait_for_load_state()
    assert f"Stedelijk Lyceum {t}" in await page.inner_text("main")
    await log_out(page)

    # the student's own page: sent, no hand-over notice
    await log_in(page, system, world["fenna"], PASSWORD)
    await page.goto(f"{system.portal_url}/leerling/dossiers/{world['fenna_dossier']}")
    text = await page.inner_text("main")
    assert "verstuurd naar je nieuwe school" in text and "neemt niet deel" not in text
    await log_out(page)


async def test_a_school_not_in_the_list_gets_the_pdf_from_the_student(page, system: System, demo: Demo,
                                                                     world) -> None:
    async def choose(page) -> None:
        await page.locator("#f-keuzevervolgopleiding").select_option(label="Een school die niet in de lijst staat")
        await page.get_by_label("Naam van de school").fill("Het Baudartius")
        await page.get_by_label("Plaats", exact=True).fill("Zutphen")
        await page.get_by_label("Soort school").select_option(label="havo")

    await choose_in_the_browser(page, system, world["ravi"], world["ravi_dossier"], choose)
    text = await page.inner_text("main")
    assert "HAVO – Het Baudartius (Zutphen)" in text, text
    await log_out(page)
    await complete_through_the_api(system, demo, world["ravi"], world["ravi_dossier"])

    await log_in(page, system, world["ravi"], PASSWORD)
    await page.goto(f"{system.portal_url}/leerling/dossiers/{world['ravi_dossier']}")
    notice = await page.locator("#zelf-afgeven").inner_text()
    assert "Het Baudartius neemt niet deel aan Doorstroom" in notice and "lever het zelf in" in notice
    await accessible(page, "96-zelf-afgeven")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Dossier downloaden (pdf) om af te geven").click()
    download = await info.value
    path = await download.path()
    with open(path, "rb") as f:
        assert f.read(5) == b"%PDF-"
    assert download.suggested_filename == "doorstroomdossier-dossier.pdf"
    await log_out(page)

    # the mentor's page says so too, with the same download
    await log_in(page, system, demo.mentor, PASSWORD)
    await page.goto(f"{system.portal_url}/school/dossiers/{world['ravi_dossier']}")
    assert "Het Baudartius neemt niet deel aan Doorstroom" in await page.locator("#zelf-afgeven").inner_text()
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Dossier downloaden (pdf) om af te geven").click()
    with open(await (await info.value).path(), "rb") as f:
        assert f.read(5) == b"%PDF-"
    await log_out(page)

    # nobody at a receiving school has it: the HAVO school's inbox holds Fenna's dossier only
    await log_in(page, system, world["staff"], PASSWORD)
    assert "Ravi" not in await page.inner_text("main")
    await log_out(page)


async def test_the_platform_admin_registers_a_havo_school_with_a_profile(page, system: System, demo: Demo) -> None:
    await log_in(page, system, f"beheer-{system.tag}@doorstroom.example.nl", PASSWORD)  # System.first_admin
    await page.goto(system.portal_url + "/platform/scholen/nieuw")
    await page.get_by_label("Havo (ontvangende school)").check()
    await page.locator("#f-name").fill(f"Het Assink {system.tag}")
    await page.get_by_label("Plaats").fill("Haaksbergen")
    await page.get_by_label("Nee", exact=True).check()
    await page.get_by_role("button", name="Toevoegen").click()
    await page.wait_for_load_state()
    text = await page.inner_text("main")
    assert "Neemt niet deel aan Doorstroom" in text and "Leerjaren, profielen en leerwegen" in text
    await page.get_by_role("button", name="Toevoegen aan de catalogus").click()  # no name: refused beside it
    await page.wait_for_load_state()
    assert "Vul het leerjaar of de naam in." in await page.inner_text("main")
    await page.get_by_label("Leerjaar of naam").fill("HAVO 4")
    await page.get_by_label("Profiel of leerweg").fill("Cultuur en Maatschappij")
    await page.get_by_role("button", name="Toevoegen aan de catalogus").click()
    await page.wait_for_load_state()
    assert "HAVO 4 staat in de catalogus." in await page.inner_text("main")
    await accessible(page, "97-platform-havo")
    catalogue = await system.api("GET", "/v1/institutions?kind=havo&q=" + system.tag)
    [assink] = [i for i in catalogue["institutions"] if i["name"] == f"Het Assink {system.tag}"]
    assert assink["participates"] is False
    assert [(p["name"], p["profile"]) for p in assink["programmes"]] == [("HAVO 4", "Cultuur en Maatschappij")]
    await log_out(page)
