"""The school admin's pages of a school year's life cycle, against a real identity (demo data) and
dossier: a new school year previewed (with who stays behind) and started, the retention rule chosen
on the school's settings, and the retention overview (the browser tests: tests/browser/test_life_cycle.py)."""
from __future__ import annotations

import re

import pytest

from tests.integration.identity.conftest import VO_SCHOOL_ID
from tests.integration.portal.test_portal_identity_pages import csrf, rows, site  # noqa: F401  (the fixture)

pytestmark = pytest.mark.asyncio


async def test_a_new_school_year_is_previewed_and_then_started(site):  # noqa: F811
    w = site.identity
    await w.execute("UPDATE schools SET roster_school_year = '2025-2026' WHERE id = $1", VO_SCHOOL_ID)
    async with await site.browser("school_admin") as http:
        html = await (await http.get("/beheer")).text()
        assert 'href="/beheer/schooljaar"' in html and 'href="/beheer/bewaartermijn"' in html
        html = await (await http.get("/beheer/schooljaar")).text()
        assert "Nieuw schooljaar 2026-2027" in html and "schooljaar 2025-2026" in html
        assert rows(html)[:2] == ["4a", "4b"] and "Stopt: de leerlingen verlaten de school" in html
        assert 'name="schooljaar" value="2026-2027"' in html
        async with http.post("/beheer/schooljaar/voorbeeld", data={
                "csrf_token": csrf(html), "laatste_leerjaar": "4", "zittenblijvers": "100235, 999999"}) as r:
            html = await r.text()
        assert r.status == 200 and "Mirjam Hoenderloo" in html and "4a (leerjaar 4), een nieuwe klas" in html
        assert "Deze leerlingnummers staan niet in de leerlingenlijst: 999999." in html
        assert 'action="/beheer/schooljaar"' not in html  # an unknown number: no start button
        # nothing changed by looking
        assert await w.fetchval("SELECT count(*) FROM students WHERE NOT active") == 0
        async with http.post("/beheer/schooljaar", data={
                "csrf_token": csrf(html), "schooljaar": "2026-2027", "laatste_leerjaar": "4",
                "zittenblijvers": "100235"}) as r:
            html = await r.text()
        assert str(r.url).endswith("/beheer")
        assert "Schooljaar 2026-2027 is gestart: 0 leerlingen gingen een leerjaar omhoog, 5 hebben de school " \
               "verlaten." in html
        assert await w.fetchval("SELECT count(*) FROM students WHERE NOT active") == 5
        assert await w.fetchval("""SELECT c.name FROM students s JOIN classes c ON c.id = s.class_id
                                   WHERE s.student_number = '100235'""") == "4a"
        # a second time: the next year is not due yet, said on the page
        html = await (await http.get("/beheer/schooljaar")).text()
        assert "Nieuw schooljaar 2027-2028" in html and "kan vanaf 01-06-2027 worden gestart" in html
        assert 'action="/beheer/schooljaar"' not in html


async def test_the_school_chooses_its_retention_rule_and_sees_what_it_will_erase(site):  # noqa: F811
    w = site.identity
    async with await site.browser("school_admin") as http:
        html = await (await http.get("/beheer/school")).text()
        assert re.search(r'<option value="2" selected>2 schooljaren \(standaard\)</option>', html)
        async with http.post("/beheer/school", data={"csrf_token": csrf(html), "parent_rule": "consent",
                                                     "retention_years": "11"}) as r:
            assert r.status == 400 and "Kies hoeveel schooljaren" in await r.text()
        async with http.post("/beheer/school", data={"csrf_token": csrf(html), "parent_rule": "consent",
                                                     "retention_years": "3"}) as r:
            assert r.status == 200 and "De instelling is opgeslagen." in await r.text()
        assert await w.fetchval("SELECT retention_years FROM schools WHERE id = $1", VO_SCHOOL_ID) == 3
        html = await (await http.get("/beheer/bewaartermijn")).text()
        assert "Er staat niets klaar om te worden verwijderd." in html and "Er is nog niets verwijderd." in html
    # the retention rule goes with identity.school_changed to the dossier service, which applies it
    [event] = [e for e in await w.events("identity.school_changed") if e["school_id"] == str(VO_SCHOOL_ID)][-1:]
    assert event["retention_years"] == 3
