"""The whole journey of the manual in a real browser, through the portal's pages only, with every
mail read from the SMTP sink: the school admin imports the roster and invites the mentor, the
counsellor issues activation codes, the student makes an account, fills part A and sends it to the
mentor, the mentor fills part B and sends it back, the student agrees and completes, and the MBO
marks the dossier handled. A screenshot and an accessibility check of each main screen."""
from __future__ import annotations

import re
import pytest

from tests.browser.support import accessible, log_in, log_out, screenshot
from tests.browser.system import PASSWORD, Demo, System

pytestmark = pytest.mark.asyncio(loop_scope="session")

BSN = "111222333"  # passes the eleven test


async def fill(page, answers: dict) -> None:
    """Fill a section form by field id: text for text fields, True/False for ja/nee, option values."""
    for field_id, value in answers.items():
        target = page.locator(f"[name='{field_id}']").first
        kind = await target.evaluate("el => el.tagName.toLowerCase() + ':' + (el.type || '')")
        if kind == "input:radio":
            wanted = "ja" if value is True else "nee" if value is False else value
            await page.locator(f"input[name='{field_id}'][value='{wanted}']").check()
        elif kind.startswith("select"):
            await target.select_option(value)
        else:
            await target.fill(value)


def student_csv(system: System, demo: Demo) -> bytes:
    lines = ["leerlingnummer;roepnaam;voornamen;tussenvoegsel;achternaam;geboortedatum;klas;leerjaar;email;mentor",
             f"1001;Roos;Rosalie Anna;de;Winter;15-01-2008;4a;4;roos-{system.tag}@leerling.example.nl;{demo.mentor}",
             f"1002;Jaap;Jacobus;;Rierink;02-03-2010;4a;4;jaap-{system.tag}@leerling.example.nl;{demo.mentor}",
             f"1003;Mirjam;Mirjam;;Hoenderloo;09-09-2009;4b;4;;{demo.mentor}"]
    return ("\n".join(lines) + "\n").encode()


async def test_the_whole_journey_of_the_manual(page, system: System, demo: Demo, tmp_path) -> None:
    roos = f"roos-{system.tag}@leerling.example.nl"

    # -- the school admin imports the roster and invites the new mentor ---------------------------------
    await log_in(page, system, demo.school_admin, PASSWORD)
    assert page.url.endswith("/beheer")
    await accessible(page, "10-beheer")
    await page.get_by_role("link", name="Leerlingenbestand inlezen").first.click()
    roster = tmp_path / "leerlingen.csv"
    roster.write_bytes(student_csv(system, demo))
    await page.locator("#f-bestand").set_input_files(str(roster))
    await page.get_by_role("button", name="Inlezen").click()
    await page.wait_for_load_state()
    assert "Er is nog niets veranderd" in await page.inner_text("main")  # first what the file changes
    await page.get_by_role("button", name="Inlezen").click()
    await page.wait_for_load_state()
    assert "Het bestand is ingelezen" in await page.inner_text("main")
    assert "Nieuw: 3" in await page.inner_text("main")
    await accessible(page, "11-leerlingenbestand-ingelezen")
    await page.get_by_role("link", name="Nodig ze uit bij Medewerkers").click()
    await page.get_by_role("button", name=re.compile("^Uitnodigen")).first.click()
    assert "De uitnodiging is verstuurd" in await page.inner_text("main")
    await accessible(page, "12-medewerkers")
    await log_out(page)

    # -- the mentor follows the invitation and chooses a password ---------------------------------------
    invitation = await system.mail_to(demo.mentor)
    await page.goto(system.link_in(invitation, "/account/uitnodiging"))
    assert "token" not in page.url  # the token left the address bar at once
    await page.locator("#f-password").fill(PASSWORD)
    await page.locator("#f-password_repeat").fill(PASSWORD)
    await page.get_by_role("button", name="Account activeren").click()
    assert "Log in met je e-mailadres" in await page.inner_text("main")

    # -- the counsellor issues activation codes to class 4a by e-mail ------------------------------------
    await log_in(page, system, demo.counsellor, PASSWORD)
    assert page.url.endswith("/school")
    await accessible(page, "20-te-behandelen-leeg")
    await page.get_by_role("link", name="Activatiecodes").first.click()
    await page.get_by_label("Eén klas").check()
    await page.locator("#f-class_id").select_option(label="4a")
    await page.get_by_label("Per e-mail").check()
    await page.get_by_role("button", name="Codes verstrekken").click()
    await page.wait_for_load_state()
    assert "De activatiecodes zijn verstrekt" in await page.inner_text("main") or \
        "verstrekt" in (await page.inner_text(".notice-success")).lower()
    await accessible(page, "21-activatiecodes-verstrekt")
    await page.get_by_role("link", name="Status activatiecodes per leerling").click()
    assert "Roos de Winter" in await page.inner_text("table")
    await accessible(page, "22-status-activatiecodes")
    await log_out(page)
    code_mail = await system.mail_to(roos, "activatiecode")
    code = re.search(r"\b([A-HJ-NP-Z2-9]{4}(?:-[A-HJ-NP-Z2-9]{2,6})+)\b", system.body(code_mail)).group(1)

    # -- the student makes an account (manual 1.1 steps 1 to 4) -------------------------------------------
    await page.goto(system.portal_url + "/")
    await page.get_by_role("link", name="Maak een nieuw account").click()
    await page.get_by_label("BSN").fill(BSN)
    await page.locator("#f-email").fill(roos)
    await accessible(page, "30-account-maken")
    await page.get_by_role("button", name="Account maken").click()
    assert "Kijk in je e-mail" in await page.inner_text("h1")
    verification = await system.mail_to(roos, "bevestig")
    await page.goto(system.link_in(verification, "/account/verifieren"))
    assert "token" not in page.url
    await page.locator("#f-password").fill(PASSWORD)
    await page.locator("#f-password_repeat").fill(PASSWORD)
    await accessible(page, "31-wachtwoord-kiezen")
    await page.get_by_role("button", name="Account activeren").click()

    # -- steps 5 to 7: log in, Nieuw dossier with the activation code ---------------------------------------
    await log_in(page, system, roos, PASSWORD)
    assert page.url.endswith("/leerling")
    await accessible(page, "32-home-leerling-leeg")
    await page.get_by_role("link", name="Nieuw dossier").first.click()
    await page.locator("#f-code").fill(code.lower())
    await accessible(page, "33-nieuw-dossier")
    await page.get_by_role("button", name="Nieuw dossier").click()
    await page.wait_for_load_state()
    assert "/deel-a/personal_details" in page.url, await page.inner_text("main")

    # -- part A: a form with errors first, then every section ------------------------------------------------
    await fill(page, {"roepnaam": "Roos", "phone": "12345"})
    await page.get_by_role("button", name="Opslaan", exact=True).click()
    await page.wait_for_load_state()
    phone = page.locator("#f-phone")
    assert await phone.get_attribute("aria-invalid") == "true"
    assert "telefoonnummer" in (await page.locator("#e-phone").inner_text()).lower()
    assert await page.locator(".error-summary a[href='#f-phone']").count() == 1
    await accessible(page, "34-deel-a-met-fouten")
    sections = {
        "personal_details": {"roepnaam": "Roos", "voornaam": "Rosalie Anna", "initials": "R.A.",
                             "tussenvoegsel": "de", "achternaam": "Winter", "geslacht": "vrouw",
                             "phone": "030-1234567", "phone_secret": False},
        "family_living_leisure": {"living_situation": "parents", "leisure": "Hockey en tekenen", "side_job": False},
        "competences": {"strengths": "Plannen en netjes werken", "areas_to_improve": "Presenteren"},
        "internships_work_training": {"stage": "Advocatenkantoor, twee weken"},
        "support": {"support_received": False, "support_needed": False},
        "previous_school": {"learning_track": "kb", "profile": "Economie en ondernemen", "diploma_expected": True},
        "choice_preparation": {"beroepskeuzetest": True, "lobdossier": True, "portfolio": False, "pop": False,
                               "motivatiebrief": True, "open_day": False},
        "motivation": {"motivation": "Ik wil juridisch werken.", "expectations": "Veel leren over recht."},
        "follow_up_programme": {"keuzevervolgopleiding": f"mbo:{demo.mbo_id}:{demo.programme_id}:95392",
                                "first_choice": True},
    }
    for index, (section, answers) in enumerate(sections.items()):
        if index:
            await page.get_by_role("navigation", name="Onderdelen van Deel A").get_by_role(
                "link", name=re.compile(section_title(section))).click()
        await fill(page, answers)
        await page.get_by_role("button", name="Opslaan", exact=True).click()
        await page.wait_for_load_state()
        assert await page.locator(".error-summary").count() == 0, await page.inner_text("main")
        if section == "personal_details":
            await accessible(page, "35-deel-a-persoonlijke-gegevens")
    menu = await page.inner_text(".section-menu")
    assert not re.search(r"(?<!\d)[1-9]?\d%", menu.replace("100%", "")) and "Persoonlijke gegevens" in menu
    await page.get_by_role("link", name="Versturen naar mentor").first.click()
    await page.get_by_label("Mentor", exact=False).first.check()
    await accessible(page, "36-versturen-naar-mentor")
    await page.get_by_role("button", name="Versturen naar mentor").click()
    await page.wait_for_load_state()
    assert "verstuurd naar je mentor" in await page.inner_text("main")
    assert "Deel B invullen" in await page.inner_text("table")
    await accessible(page, "37-home-leerling-verstuurd")
    await log_out(page)

    # -- the mentor gets a signal mail, fills part B and sends it ------------------------------------------
    await system.mail_to(demo.mentor, "deel a")
    await log_in(page, system, demo.mentor, PASSWORD)
    assert "Roos de Winter" in await page.inner_text("main")
    await accessible(page, "40-te-behandelen")
    await page.get_by_label("Zoeken op naam").fill("jaap")
    await page.get_by_role("button", name="Zoeken").click()
    await page.wait_for_load_state()
    assert "Geen dossiers te behandelen met 'jaap'" in await page.inner_text("main") and "jaap" not in page.url
    await page.get_by_label("Zoeken op naam").fill("winter")
    await page.get_by_role("button", name="Zoeken").click()
    await page.wait_for_load_state()
    assert "Roos de Winter" in await page.inner_text("table")
    await page.get_by_role("link", name=re.compile("Start deel B")).click()
    await accessible(page, "41-dossier-mentor")
    pdf = await page.request.get(system.portal_url + page.url.split(system.portal_url)[1] + "/pdf/a")
    assert pdf.status == 200 and (await pdf.body()).startswith(b"%PDF")
    await page.get_by_role("button", name="Start deel B").click()
    await page.wait_for_load_state()
    assert "/deel-b/guidance" in page.url
    await fill(page, {k: False for k in ("support_received_dutch", "support_received_maths",
                                         "support_expected_dutch", "support_expected_maths", "support_other",
                                         "frequent_absence", "lwoo", "extra_guidance", "contactleerplicht")})
    await page.get_by_role("button", name="Opslaan en verder").click()
    await page.wait_for_load_state()
    assert "/deel-b/assessment_advice" in page.url
    await fill(page, {"argumentatie": "Past goed bij haar.", "advies": "positive", "opp": True,
                      "contactpersoon": "Mevrouw Jansen", "functie": "Zorgcoördinator",
                      "contactemail": "zorg@vo.example.nl", "contacttelefoon": "030-7654321",
                      "contactnodig": False})
    await page.get_by_role("button", name="Opslaan", exact=True).click()
    await page.wait_for_load_state()
    assert await page.locator(".error-summary").count() == 0, await page.inner_text("main")
    assert "100%" in await page.inner_text(".section-menu")
    await accessible(page, "42-deel-b")
    await page.get_by_role("link", name="Opsturen naar leerling").first.click()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Opsturen naar leerling").click()
    await page.wait_for_load_state()
    assert "opgestuurd naar de leerling" in await page.inner_text("main")
    await page.get_by_role("link", name="Historie").click()
    assert "Deel A" in await page.inner_text("table")
    await accessible(page, "43-historie")
    await page.get_by_role("link", name="Mijn leerlingen").first.click()
    await page.locator("#f-q").fill("winter")
    await page.get_by_role("button", name="Zoeken").click()
    await page.wait_for_load_state()
    assert await page.locator("table").count() == 1, await page.inner_text("main")
    table = await page.inner_text("table")
    assert "Roos de Winter" in table and "Jaap" not in table and "Akkoordverklaring" in table
    assert "winter" not in page.url.lower()  # the search term stays out of the URL
    await accessible(page, "44-mijn-leerlingen")
    await log_out(page)

    # -- the student reads A and B, adds a remark and completes (Afronden) -----------------------------------
    await system.mail_to(roos, "deel b")
    await log_in(page, system, roos, PASSWORD)
    await page.get_by_role("link", name="Start de akkoordverklaring").click()
    body = await page.inner_text("main")
    assert "Mevrouw Jansen" in body and "Hockey en tekenen" in body
    await accessible(page, "50-akkoordverklaring")
    await page.get_by_label(re.compile("Opmerking over deel B")).fill("Ik ben het eens met mijn mentor.")
    await page.get_by_role("button", name="Afronden").click()
    await page.wait_for_load_state()
    assert "afgerond" in await page.inner_text("main")
    assert "Afgerond" in await page.inner_text("table")
    await log_out(page)

    # -- the MBO sees it first (warm handover) and marks it handled --------------------------------------------
    await log_in(page, system, demo.mbo_staff, PASSWORD)
    assert page.url.endswith("/mbo")
    inbox = await page.inner_text("table")
    assert "Roos" in inbox and "Warme overdracht" in inbox
    await accessible(page, "60-mbo-ontvangen-dossiers")
    # the search: no name in the address, a clear word when nothing matches
    search = page.get_by_label("Zoeken op naam, school of opleiding")
    await search.fill("onbekende naam")
    await page.get_by_role("button", name="Zoeken").click()
    await page.wait_for_load_state()
    assert "Geen dossiers gevonden" in await page.inner_text("main") and "onbekende" not in page.url
    await search.fill("roos")
    await page.get_by_label("Alleen warme overdracht of contact gewenst").check()
    await page.get_by_role("button", name="Zoeken").click()
    await page.wait_for_load_state()
    assert "Roos" in await page.inner_text("table") and "roos" not in page.url.lower()
    await page.get_by_role("link", name=re.compile("Roos")).first.click()
    assert "Ik ben het eens met mijn mentor." in await page.inner_text("main")
    await accessible(page, "61-mbo-dossier")
    await page.get_by_role("button", name="Afgehandeld").click()
    await page.wait_for_load_state()
    assert "afgehandeld" in (await page.inner_text("main")).lower()
    await page.goto(system.portal_url + "/mbo?toon=afgehandeld")
    assert "Roos" in await page.inner_text("table")
    await log_out(page)

    # -- and the student sees that the school handled it -------------------------------------------------------
    await log_in(page, system, roos, PASSWORD)
    assert "Afgehandeld door de school" in await page.inner_text("table")
    await screenshot(page, "62-home-leerling-afgehandeld")


def section_title(section_id: str) -> str:
    from shared.forms.model import get_form

    return re.escape(get_form("part_a", "2026-2027").section(section_id).title)
