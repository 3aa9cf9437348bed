"""The administrators' screens in a real browser: the platform administrator finds, adds and edits
schools and MBO institutions with their locations and catalogue (what students can choose follows
at once); the school admin chooses the rule for parents; bad input is refused beside its field."""
from __future__ import annotations

import re

import pytest

from tests.browser.support import accessible, log_in, log_out
from tests.browser.system import PASSWORD, Demo, System

pytestmark = pytest.mark.asyncio(loop_scope="session")


def admin_email(system: System) -> str:
    return f"beheer-{system.tag}@doorstroom.example.nl"


async def test_the_platform_admin_adds_an_institution_with_its_catalogue(page, system: System, demo: Demo) -> None:
    await log_in(page, system, admin_email(system), PASSWORD)
    assert page.url.endswith("/platform")
    assert "Scholen en instellingen" in await page.inner_text("h1")
    await accessible(page, "90-platform-scholen")
    await page.get_by_role("link", name="Nieuwe school of instelling").click()
    # nothing chosen, no name: refused, beside the fields
    await page.get_by_role("button", name="Toevoegen").click()
    await page.wait_for_load_state()
    assert ("Kies of het een VO-school of een MBO-instelling is, of een ontvangende school voor havo of vmbo."
            in await page.inner_text("main"))
    assert await page.locator("#f-name").get_attribute("aria-invalid") == "true"
    await page.get_by_label("MBO-instelling").check()
    await page.locator("#f-name").fill(f"Zadkine {system.tag}")
    await page.get_by_label("BRIN-nummer").fill("2x")
    await page.get_by_label("Plaats").fill("Rotterdam")
    await page.get_by_role("button", name="Toevoegen").click()
    await page.wait_for_load_state()
    assert await page.locator("#f-brin").get_attribute("aria-invalid") == "true", "a BRIN is 2 digits, 2 letters"
    await page.get_by_label("BRIN-nummer").fill("")
    await page.get_by_role("button", name="Toevoegen").click()
    await page.wait_for_load_state()
    assert f"Zadkine {system.tag}" in await page.inner_text("h1")

    await page.get_by_label("Naam van de locatie").fill("Benthemstraat")
    await page.get_by_label("Adres").fill("Benthemstraat 20")
    await page.locator("#f-location_city").fill("Rotterdam")
    await page.get_by_role("button", name="Locatie toevoegen").click()
    await page.wait_for_load_state()
    assert "Locatie Benthemstraat is toegevoegd." in await page.inner_text("main")

    await page.get_by_label("Naam van de opleiding").fill("Kok")
    await page.get_by_label("Crebocode").fill("2546")
    await page.get_by_role("button", name="Opleiding toevoegen").click()
    await page.wait_for_load_state()
    text = await page.inner_text("main")
    assert "Een crebocode heeft 5 cijfers." in text and "Kies het niveau." in text and "Kies BOL of BBL." in text
    await page.get_by_label("Crebocode").fill("25463")
    await page.locator("#f-level").select_option(label="Niveau 2")
    await page.get_by_label("BBL").check()
    await page.get_by_label("Locatie", exact=True).select_option(label="Benthemstraat")
    await page.get_by_role("button", name="Opleiding toevoegen").click()
    await page.wait_for_load_state()
    assert "Kok staat in de catalogus." in await page.inner_text("main")
    await accessible(page, "91-platform-instelling")
    school_url = page.url

    # students choose from the public catalogue: the new programme is there, until it is taken out
    catalogue = await system.api("GET", "/v1/institutions?q=" + system.tag)
    assert "Kok" in [p["name"] for i in catalogue["institutions"] for p in i["programmes"]]
    await page.get_by_role("button", name=re.compile("Uit de catalogus halen")).click()
    await page.wait_for_load_state()
    assert "uit de catalogus gehaald" in await page.inner_text("main")
    catalogue = await system.api("GET", "/v1/institutions?q=" + system.tag)
    assert "Kok" not in [p["name"] for i in catalogue["institutions"] for p in i["programmes"]]

    # the list finds it by name and by kind; the search is a plain address (no personal data)
    await page.goto(system.portal_url + "/platform")
    await page.get_by_label("Zoeken op naam, plaats of BRIN").fill(f"zadkine {system.tag}")
    await page.get_by_label("Soort").select_option(label="MBO-instelling")
    await page.get_by_role("button", name="Zoeken").click()
    await page.wait_for_load_state()
    rows = await page.locator("tbody tr").all_inner_texts()
    assert len(rows) == 1 and "Zadkine" in rows[0]
    await page.get_by_role("link", name=re.compile("Zadkine")).click()
    assert page.url == school_url
    # no longer taking part: still in the students' list (issue 11 item 5), marked as not taking
    # part, so its students hand the completed dossier over as a PDF
    await page.get_by_label("Nee", exact=True).check()
    await page.get_by_role("button", name="Opslaan").click()
    await page.wait_for_load_state()
    assert "Neemt niet deel aan Doorstroom" in await page.inner_text("main")
    catalogue = await system.api("GET", "/v1/institutions?q=zadkine")
    [listed] = [i for i in catalogue["institutions"] if system.tag in i["name"]]
    assert listed["participates"] is False
    await log_out(page)


async def test_the_school_admin_sets_the_rule_for_parents(page, system: System, demo: Demo) -> None:
    await log_in(page, system, demo.school_admin, PASSWORD)
    await page.get_by_role("link", name="Instellingen van de school").click()
    assert await page.get_by_label("Geen: de leerling rondt zelf af").is_checked(), "the school's current rule"
    explained = await page.get_by_role("region", name="Wat elke keuze wel en niet bewijst").inner_text()
    assert "typt de leerling het e-mailadres van de ouder zelf in" in explained and "niet dat het de ouder" in explained
    assert "staan de ouders in het leerlingenbestand" in explained
    await accessible(page, "92-school-instellingen")
    await page.get_by_label(re.compile("^Akkoord: ")).check()
    await page.get_by_role("button", name="Opslaan").click()
    await page.wait_for_load_state()
    assert "De instelling is opgeslagen." in await page.inner_text("main")
    assert await page.get_by_label(re.compile("^Akkoord: ")).is_checked()
    school = await system.api("GET", f"/v1/schools/{demo.vo_school_id}", demo.admin_token)
    assert school["parent_rule"] == "consent"
    # the platform pages are not for a school admin
    response = await page.goto(system.portal_url + "/platform")
    assert response.status == 404


async def test_a_logged_in_user_changes_the_password(page, system: System, demo: Demo) -> None:
    await log_in(page, system, demo.counsellor, PASSWORD)
    await page.get_by_role("link", name="Wachtwoord wijzigen").click()
    await accessible(page, "93-wachtwoord-wijzigen")
    await page.get_by_label("Huidig wachtwoord").fill("niet het goede wachtwoord")
    await page.locator("#f-new_password").fill("een nieuw lang wachtwoord")
    await page.get_by_label("Herhaal het nieuwe wachtwoord").fill("een nieuw lang wachtwoord")
    await page.get_by_role("button", name="Wachtwoord wijzigen").click()
    await page.wait_for_load_state()
    assert "Je huidige wachtwoord klopt niet." in await page.inner_text("main")
    assert await page.locator("#f-current_password").get_attribute("aria-invalid") == "true"
    await page.get_by_label("Huidig wachtwoord").fill(PASSWORD)
    await page.locator("#f-new_password").fill("een nieuw lang wachtwoord")
    await page.get_by_label("Herhaal het nieuwe wachtwoord").fill("een nieuw lang wachtwoord")
    await page.get_by_role("button", name="Wachtwoord wijzigen").click()
    await page.wait_for_load_state()
    assert "Je wachtwoord is gewijzigd." in await page.inner_text("main") and page.url.endswith("/school")
    await system.mail_to(demo.counsellor, "wachtwoord")
    await log_out(page)
    await log_in(page, system, demo.counsellor, "een nieuw lang wachtwoord")
    assert page.url.endswith("/school")
