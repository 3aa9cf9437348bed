"""A real school's first season, in a real browser: a student without an address in the roster gets
the activation code by letter, registers with an address of their own, and is mailed there when part
B is ready; the mentor's page says so when no mail can reach a student; the parent's objection is
visible to the mentor and the MBO; the MBO's page and PDF carry what its intake matches the
application with (date of birth, student number, e-mail, school of origin)."""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
import pytest_asyncio
from pypdf import PdfReader

from services.dossier.oso.mapping import XSD_PATH
from shared.app import DB
from tests.browser.support import accessible, log_in, log_out
from tests.browser.system import (PASSWORD, Demo, System, import_roster, invite_mentor,
                                  issue_codes_by_mail, send_part_b, student_with_dossier, to_mentor)

pytestmark = pytest.mark.asyncio(loop_scope="session")

CODE = re.compile(r"\b([2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2})\b")
BORN = date(date.today().year - 15, 5, 30)  # under 18: the parents have a say
OBJECTION = "Wij zijn het niet eens met het advies over plannen."
OSO_XSD = XSD_PATH


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def school(system: System, demo: Demo) -> dict:
    # the school lets parents inspect (an objection does not block), and has a BRIN number
    await system.api("PATCH", f"/v1/schools/{demo.vo_school_id}", demo.admin_token,
                     json={"parent_rule": "inspection", "brin": "12AB"})
    t, born = system.tag, BORN.strftime("%d-%m-%Y")
    await import_roster(system, demo, [
        f"6001;Sem;Sem;;Bakker;{born};4a;4;;{demo.mentor}",  # no address: the code goes by letter
        f"6002;Lotte;Lotte;;Smit;{born};4b;4;lotte-{t}@leerling.example.nl;{demo.mentor}"])
    await invite_mentor(system, demo)
    return {"sem": f"sem.eigen-{t}@thuis.example.nl", "lotte": f"lotte-{t}@leerling.example.nl"}


async def test_a_student_with_a_code_by_letter_is_mailed_at_the_own_address(page, system: System, demo: Demo,
                                                                            school) -> None:
    # the counsellor prints the letters of class 4a (Sem has no address in the roster)
    await log_in(page, system, demo.counsellor, PASSWORD)
    await page.goto(system.portal_url + "/school/activatiecodes")
    await page.get_by_label("Eén klas").check()
    await page.locator("#f-class_id").select_option(label="4a")
    await page.get_by_label("Per geprinte brief").check()
    await page.get_by_role("button", name="Codes verstrekken").click()
    await page.get_by_role("link", name="Brieven downloaden (pdf)").wait_for(timeout=60_000)
    letters = await page.request.get(page.url + "/pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(await letters.body())).pages)
    [code] = set(CODE.findall(text))
    await log_out(page)

    # Sem makes an account with an address of his own (manual 1.1 steps 1 to 4) and redeems the code
    own = school["sem"]
    await page.goto(system.portal_url + "/")
    await page.get_by_role("link", name="Maak een nieuw account").click()
    await page.get_by_label("BSN").fill("111222333")
    await page.locator("#f-email").fill(own)
    await page.get_by_role("button", name="Account maken").click()
    await page.goto(system.link_in(await system.mail_to(own, "bevestig"), "/account/verifieren"))
    await page.locator("#f-password").fill(PASSWORD)
    await page.locator("#f-password_repeat").fill(PASSWORD)
    await page.get_by_role("button", name="Account activeren").click()
    await log_in(page, system, own, PASSWORD)
    await page.get_by_role("link", name="Nieuw dossier").first.click()
    await page.locator("#f-code").fill(code)
    await page.get_by_role("button", name="Nieuw dossier").click()
    await page.wait_for_load_state()
    match = re.search(r"/leerling/dossiers/([0-9a-f-]{36})/deel-a/", page.url)
    assert match, await page.inner_text("main")
    school["sem_dossier"] = match.group(1)
    await log_out(page)

    # part A to the mentor; the mentor's page promises a mail (there is an address now), part B goes back
    await to_mentor(system, demo, own, school["sem_dossier"])
    await log_in(page, system, demo.mentor, PASSWORD)
    await page.goto(system.portal_url + f"/school/dossiers/{school['sem_dossier']}")
    main = await page.inner_text("main")
    assert "De leerling krijgt een e-mail." in main and "geen e-mailadres" not in main
    await log_out(page)
    await send_part_b(system, demo, school["sem_dossier"])
    mail = await system.mail_to(own, "deel b")
    assert "Hallo Sem" in system.body(mail)


async def test_the_mentor_is_told_when_no_mail_can_reach_the_student(page, system: System, demo: Demo,
                                                                     school) -> None:
    await issue_codes_by_mail(system, demo, "4b")
    dossier_id = await student_with_dossier(system, school["lotte"], "123456782")
    await to_mentor(system, demo, school["lotte"], dossier_id)
    # a student the dossier service knows no address of (linked before identity told the account's
    # address, and none in the roster)
    async with system.apps["dossier"][DB].acquire() as conn:
        await conn.execute("UPDATE students SET email = NULL, account_email = NULL WHERE student_number = '6002'")
    await log_in(page, system, demo.mentor, PASSWORD)
    await page.goto(system.portal_url + f"/school/dossiers/{dossier_id}")
    main = await page.inner_text("main")
    assert "Van deze leerling is geen e-mailadres bekend" in main
    assert "De leerling krijgt een e-mail" not in main
    assert "De leerling krijgt geen e-mail: er is geen e-mailadres bekend." in main
    await accessible(page, "47-dossier-mentor-geen-email")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Terugzetten naar deel A").click()
    await page.wait_for_load_state()
    flash = await page.inner_text(".notice-success")
    assert "weer in deel A" in flash and "krijgt geen e-mail" in flash
    await log_out(page)


async def test_the_parents_objection_and_the_intake_data_reach_mentor_and_mbo(browser, page, system: System,
                                                                               demo: Demo, school) -> None:
    dossier_id, own = school["sem_dossier"], school["sem"]
    # Sem sends his parent a link; the parent objects, with a remark
    await log_in(page, system, own, PASSWORD)
    await page.get_by_role("link", name="Start de akkoordverklaring").click()
    parent_email = f"ouder-{system.tag}@thuis.example.nl"
    await page.get_by_label("E-mailadres van je ouder of verzorger").fill(parent_email)
    await page.get_by_role("button", name="Link sturen").click()
    await page.wait_for_load_state()
    context = await browser.new_context(locale="nl-NL")
    parent = await context.new_page()
    await parent.goto(system.link_in(await system.mail_to(parent_email), "/ouder"))
    await parent.get_by_label("Ik heb bezwaar").check()
    await parent.get_by_label("Toelichting (niet verplicht)").fill(OBJECTION)
    await parent.get_by_role("button", name="Versturen").click()
    await parent.wait_for_load_state()
    assert "Uw reactie is opgeslagen" in await parent.inner_text("main")
    await context.close()
    # under "inspection" an objection does not block: Sem completes
    await page.reload()
    await page.get_by_role("button", name="Afronden").click()
    await page.wait_for_load_state()
    assert "afgerond" in await page.inner_text("main")
    await log_out(page)

    # the mentor sees the parent's say on the dossier
    await log_in(page, system, demo.mentor, PASSWORD)
    await page.goto(system.portal_url + f"/school/dossiers/{dossier_id}")
    agreement = await page.inner_text("section[aria-labelledby='akkoordverklaring']")
    assert "Reactie van de ouder of verzorger" in agreement and "Bezwaar" in agreement
    assert OBJECTION in agreement
    await accessible(page, "48-dossier-mentor-bezwaar-ouder")
    await log_out(page)

    # the MBO: the intake data and the parent's objection, on the page and in the PDF
    await log_in(page, system, demo.mbo_staff, PASSWORD)
    await page.goto(system.portal_url + f"/mbo/dossiers/{dossier_id}")
    intake = await page.inner_text("section[aria-labelledby='intake']")
    for expected in ("Geboortedatum", BORN.strftime("%d-%m-%Y"), "Leerlingnummer", "6001", "E-mailadres", own,
                     f"Vmbo De Brug {system.tag}", "12AB", "Utrecht"):
        assert expected in intake, expected
    agreement = await page.inner_text("section[aria-labelledby='akkoordverklaring']")
    assert "Bezwaar" in agreement and OBJECTION in agreement
    await accessible(page, "62-mbo-dossier-intake-en-ouder")
    pdf = await page.request.get(system.portal_url + f"/mbo/dossiers/{dossier_id}/pdf/alles")
    assert pdf.status == 200
    text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(await pdf.body())).pages))
    for expected in (f"Geboortedatum: {BORN.strftime('%d-%m-%Y')}", "Leerlingnummer: 6001", f"E-mailadres: {own}",
                     f"Vmbo De Brug {system.tag}, Utrecht (BRIN 12AB)", "Reactie van de ouder of verzorger",
                     "Bezwaar (op", OBJECTION):
        assert expected in text, expected
    # beside the PDF: the same dossier as an OSO file (issue 12), valid against the national XSD
    link = page.get_by_role("link", name="Downloaden als OSO-bestand (XML)")
    assert await link.get_attribute("href") == f"/mbo/dossiers/{dossier_id}/oso"
    oso = await page.request.get(system.portal_url + f"/mbo/dossiers/{dossier_id}/oso")
    assert oso.status == 200 and oso.headers["content-type"].startswith("application/xml")
    xml = (await oso.body()).decode("utf-8")
    pytest.importorskip("xmlschema").XMLSchema(str(OSO_XSD)).validate(xml)
    for expected in ("<leerlingid>6001</leerlingid>", "<brincode>12AB</brincode>", "<akkoord>Nee</akkoord>",
                     f"<redennietakkoord>{OBJECTION}</redennietakkoord>"):
        assert expected in xml, expected
