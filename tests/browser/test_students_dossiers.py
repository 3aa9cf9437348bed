"""A student applies to two or three programmes (manual chapter 2), and staff reach every dossier:
"Mijn leerlingen" opens a student's row with all their dossiers, archived ones too ("+", manual 3.3;
a link, so also without JavaScript), from where the mentor opens the second and the archived one and
reactivates it. Also: the counsellor's view log of a dossier (wie keek, wanneer, waarom), the
history with saves taken together, the tiles of "Te behandelen", "Deel B alvast invullen" for a
student without a dossier, and the activation mail's steps walked on the real pages."""
from __future__ import annotations

import re

import pytest
import pytest_asyncio

from tests.browser.support import accessible, log_in, log_out
from tests.browser.system import (PASSWORD, Demo, System, code_in, dossier_api, import_roster, invite_mentor,
                                  issue_codes_by_mail, student_with_dossier, to_mentor)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def people(system: System, demo: Demo) -> dict:
    """Lotte has three dossiers: one with the mentor (part B), one still in part A and one that the
    mentor archived; Sem has none; Fleur has only her activation mail."""
    t = system.tag
    lotte, fleur = f"lotte-{t}@leerling.example.nl", f"fleur-{t}@leerling.example.nl"
    await import_roster(system, demo, [
        f"5001;Lotte;Lotte;;Bos;12-04-2010;4c;4;{lotte};{demo.mentor}",
        f"5002;Sem;Sem;;Yilmaz;23-11-2009;4c;4;;{demo.mentor}",
        f"5003;Fleur;Fleur;van;Leeuwen;02-02-2010;4c;4;{fleur};{demo.mentor}"])
    await invite_mentor(system, demo)
    await issue_codes_by_mail(system, demo, "4c")
    first = await student_with_dossier(system, lotte, "111222333")
    student = await system.login(lotte)
    second = (await dossier_api(system, "POST", "/v1/dossiers", student, json={}))["id"]
    third = (await dossier_api(system, "POST", "/v1/dossiers", student, json={}))["id"]
    await to_mentor(system, demo, lotte, first)
    mentor = await system.login(demo.mentor)
    view = await dossier_api(system, "GET", f"/v1/dossiers/{third}", mentor)
    await dossier_api(system, "POST", f"/v1/dossiers/{third}/archive", mentor, view["version"], json={})
    return {"lotte": lotte, "fleur": fleur, "first": first, "second": second, "archived": third}


async def test_te_behandelen_tiles_have_no_bullets_and_lead_to_the_archive(page, system: System, demo: Demo,
                                                                            people) -> None:
    await log_in(page, system, demo.counsellor, PASSWORD)
    tiles = page.locator("ul.counts > li")
    assert await tiles.count() >= 5
    styles = await tiles.evaluate_all("els => els.map(e => getComputedStyle(e).listStyleType)")
    assert set(styles) == {"none"}, styles
    assert await page.locator("ul.counts").evaluate("e => getComputedStyle(e).paddingLeft") == "0px"
    await accessible(page, "80-te-behandelen-tegels")
    await page.get_by_role("link", name=re.compile("1 Gearchiveerd")).click()
    await page.wait_for_load_state()
    assert page.url.endswith("/school/leerlingen?gearchiveerd=1")
    assert await page.locator("#f-gearchiveerd").is_checked()
    table = await page.inner_text("table")
    assert "Lotte Bos" in table and "Sem Yilmaz" not in table and "waarvan 1 gearchiveerd" in table
    await log_out(page)


async def test_counsellor_reads_who_looked_at_a_dossier(page, system: System, demo: Demo, people) -> None:
    # the mentor looks first (so the log has someone else in it); the mentor has no view log
    await log_in(page, system, demo.mentor, PASSWORD)
    await page.goto(system.portal_url + f"/school/dossiers/{people['first']}")
    assert await page.get_by_role("link", name=re.compile("Inzagelog")).count() == 0
    response = await page.goto(system.portal_url + f"/school/dossiers/{people['first']}/inzagelog")
    assert response.status == 404
    await log_out(page)

    await log_in(page, system, demo.counsellor, PASSWORD)
    await page.goto(system.portal_url + f"/school/dossiers/{people['first']}")
    await page.get_by_role("link", name=re.compile("Inzagelog bekijken")).click()
    await page.wait_for_load_state()
    assert "Inzagelog" in await page.inner_text("h1")
    rows = [re.sub(r"\s+", " ", r) for r in await page.locator("table tbody tr").all_inner_texts()]
    # newest first: the counsellor's own look at the dossier just now, before it the mentor's
    assert re.search(r"Daan Decaan \(decaan\)\s*Dossier bekeken \(deel A en deel B\)\s*bekijken", rows[0]), rows[:3]
    assert any(f"{demo.mentor} (mentor)" in r and "Dossier bekeken (deel A en deel B)" in r for r in rows), rows
    assert any("Lotte Bos (leerling)" in r and "Deel A verstuurd naar de mentor" in r and "wijziging" in r
               for r in rows), rows
    assert any("Lotte Bos (leerling) Dossier aangemaakt wijziging" in r for r in rows), rows
    await accessible(page, "81-inzagelog")

    # the history: the student's saves of part A are one line with their count and time span
    await page.get_by_role("link", name="Historie bekijken").click()
    await page.wait_for_load_state()
    lines = [re.sub(r"\s+", " ", r) for r in await page.locator("table tbody tr").all_inner_texts()]
    saves = [line for line in lines if "Deel A opgeslagen" in line]
    assert len(saves) == 1, lines
    assert re.search(r"\d\d-\d\d-\d{4} \d\d:\d\d – (\d\d-\d\d-\d{4} )?\d\d:\d\d Deel A opgeslagen \(\d+ keer\) "
                     r"Lotte Bos", saves[0]), saves
    assert "Dossier aangemaakt" in lines[0]
    await accessible(page, "82-historie-samengevat")
    await log_out(page)


async def test_mentor_opens_every_dossier_of_a_student_and_reactivates_the_archived_one(
        page, system: System, demo: Demo, people) -> None:
    await log_in(page, system, demo.mentor, PASSWORD)
    await page.goto(system.portal_url + "/school/leerlingen")
    row = page.locator("tr", has_text="Lotte Bos").first
    assert "Deel B invullen" in await row.inner_text()  # the furthest dossier, as before
    expand = row.get_by_role("link", name=re.compile("Alle 3 dossiers tonen"))
    assert await expand.get_attribute("aria-expanded") == "false"
    await expand.click()
    await page.wait_for_load_state()
    nested = page.get_by_role("table", name="Alle dossiers van Lotte Bos")
    lines = await nested.locator("tbody tr").all_inner_texts()
    assert len(lines) == 3 and sum("Gearchiveerd" in line for line in lines) == 1, lines
    active = [line for line in lines if "Gearchiveerd" not in line]
    assert sum("Deel A invullen" in line for line in active) == 1 and sum("Deel B invullen" in line for line in active) == 1
    assert await row.get_by_role("link", name=re.compile("Dossiers verbergen")).get_attribute("aria-expanded") == "true"
    await accessible(page, "83-mijn-leerlingen-alle-dossiers")

    # the second dossier (still in part A): not the furthest, reachable only here
    await nested.locator("tbody tr", has_text="Deel A invullen", has_not_text="Gearchiveerd").get_by_role(
        "link", name=re.compile("Dossier openen")).click()
    await page.wait_for_load_state()
    assert page.url.endswith(f"/school/dossiers/{people['second']}")
    assert "Dossier van Lotte Bos" in await page.inner_text("h1")
    await page.go_back()

    # the archived one: open it, and reactivate it from its page
    nested = page.get_by_role("table", name="Alle dossiers van Lotte Bos")
    await nested.locator("tr", has_text="Gearchiveerd").get_by_role("link", name=re.compile("Dossier openen")).click()
    await page.wait_for_load_state()
    assert page.url.endswith(f"/school/dossiers/{people['archived']}")
    assert "Dit dossier is gearchiveerd" in await page.inner_text("main")
    await accessible(page, "84-gearchiveerd-dossier")
    await page.get_by_role("button", name="Opnieuw activeren").click()
    await page.wait_for_load_state()
    assert "weer actief" in await page.inner_text("main")
    assert "Dit dossier is gearchiveerd" not in await page.inner_text("main")

    await page.goto(system.portal_url + "/school/leerlingen")
    row = page.locator("tr", has_text="Lotte Bos").first
    await row.get_by_role("link", name=re.compile("Alle 3 dossiers tonen")).click()
    await page.wait_for_load_state()
    lines = await page.get_by_role("table", name="Alle dossiers van Lotte Bos").locator("tbody tr").all_inner_texts()
    assert len(lines) == 3 and not any("Gearchiveerd" in line for line in lines), lines

    # a student without a dossier: the mentor may fill the student-specific part B early, and the
    # link says so ("Dossier starten" would promise what a mentor cannot do)
    main = await page.inner_text("main")
    assert "Dossier starten" not in main
    sem = page.locator("tr", has_text="Sem Yilmaz").first
    assert "Nog geen dossier" in await sem.inner_text()
    await sem.get_by_role("link", name=re.compile("Deel B alvast invullen")).click()
    await page.wait_for_load_state()
    assert "Deel B alvast invullen" in await page.inner_text("h1")
    assert "Sem Yilmaz" in await page.inner_text("main")
    await log_out(page)


async def test_the_dossiers_of_a_student_open_without_javascript(browser, system: System, demo: Demo,
                                                                 people) -> None:
    context = await browser.new_context(locale="nl-NL", java_script_enabled=False)
    try:
        page = await context.new_page()
        page.set_default_timeout(15_000)
        await log_in(page, system, demo.counsellor, PASSWORD)
        await page.goto(system.portal_url + "/school/leerlingen")
        await page.locator("tr", has_text="Lotte Bos").first.get_by_role(
            "link", name=re.compile("Alle 3 dossiers tonen")).click()
        await page.wait_for_load_state()
        assert "open=" in page.url
        nested = page.get_by_role("table", name="Alle dossiers van Lotte Bos")
        assert await nested.locator("tbody tr").count() == 3
    finally:
        await context.close()


async def test_the_activation_mails_steps_name_what_the_pages_show(page, system: System, demo: Demo,
                                                                   people) -> None:
    """Follow the mail to the letter: every step that asks to click names ('...') what the page
    shows, and nothing else (the old step 5 named a tile the portal does not have)."""
    mail = system.body(await system.mail_to(people["fleur"], "activatiecode"))
    steps = dict(re.findall(r"^(\d)\. (.+)$", mail, re.MULTILINE))
    assert sorted(steps) == [str(n) for n in range(1, 8)], mail
    names = {n: re.findall(r"'([^']+)'", text) for n, text in steps.items()}
    for n in ("1", "2", "4", "5", "7"):
        assert names[n], f"stap {n} noemt niet wat je aanklikt of ziet: {steps[n]}"

    # 1: the address in the step opens the page it names
    url = re.search(r"https?://\S+", steps["1"]).group(0)
    await page.goto(url)
    assert await page.inner_text("h1") == names["1"][0]
    # 2: BSN and address, then the button it names
    await page.get_by_label("BSN").fill("123456782")
    await page.locator("#f-email").fill(people["fleur"])
    [button] = names["2"]
    await page.get_by_role("button", name=button, exact=True).click()
    await page.wait_for_load_state()
    # 3: the link in the mail
    verification = await system.mail_to(people["fleur"], "bevestig")
    await page.goto(system.link_in(verification, "/account/verifieren"))
    # 4: a password, then the button it names
    await page.locator("#f-password").fill(PASSWORD)
    await page.locator("#f-password_repeat").fill(PASSWORD)
    [button] = names["4"]
    await page.get_by_role("button", name=button, exact=True).click()
    await page.wait_for_load_state()
    # 5: log in ('Inloggen' is the page we are on and its button), then 'Nieuw dossier'
    login, new = names["5"]
    assert await page.inner_text("h1") == login
    await page.locator("#f-email").fill(people["fleur"])
    await page.locator("#f-password").fill(PASSWORD)
    await page.get_by_role("button", name=login, exact=True).click()
    await page.wait_for_load_state()
    assert page.url.endswith("/leerling")
    await page.get_by_role("main").get_by_role("link", name=new, exact=True).click()
    await page.wait_for_load_state()
    # 6: the code from the mail
    await page.get_by_label("Activatiecode").fill(code_in(system, await system.mail_to(people["fleur"],
                                                                                        "activatiecode")))
    # 7: the button it names starts the dossier
    [button] = names["7"]
    await page.get_by_role("button", name=button, exact=True).click()
    await page.wait_for_load_state()
    assert "/deel-a/" in page.url, await page.inner_text("main")
