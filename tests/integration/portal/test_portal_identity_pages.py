"""The portal's pages on identity's search, paging, import jobs and data export, against a real
identity (demo data, small import chunks) and dossier: the status of activation codes and the staff
list searched and paged by identity (no name in a URL), the roster import's progress page and
result, and the student's one download with both services' data."""
from __future__ import annotations

import asyncio
import json
import re
import uuid
from contextlib import AsyncExitStack

import aiohttp
import pytest

from services.dossier.app import make_app as make_dossier
from services.dossier.settings import DossierSettings
from services.portal.app import make_app as make_portal
from services.portal.settings import PortalSettings
from tests.integration.identity.conftest import CSV_HEADER, LOGINS, World, world
from tests.integration.portal.support import serve_portal
from tests.support.apps import serve, settings

pytestmark = pytest.mark.asyncio


class Site:
    def __init__(self, identity: World, portal) -> None:
        self.identity, self.portal = identity, portal

    async def browser(self, who: str) -> aiohttp.ClientSession:
        """A logged-in browser (its own cookies) for a demo login."""
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[str(self.portal.make_url("")).rstrip("/")])
        http = aiohttp.ClientSession(base_url=str(self.portal.make_url("")), cookie_jar=jar)
        email, password = LOGINS[who]
        page = await (await http.get("/inloggen")).text()
        async with http.post("/inloggen", data={"email": email, "password": password, "csrf_token": csrf(page)},
                             allow_redirects=False) as r:
            assert r.status == 303, await r.text()
        return http


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [re.sub(r"<[^>]+>", "", cells).strip() for cells in re.findall(r"<tr>\s*<td>(.*?)</td>", body, re.S)]


@pytest.fixture(scope="module")
async def site():
    tag = uuid.uuid4().hex[:10]
    async with AsyncExitStack() as stack:
        w = await stack.enter_async_context(world(f"pid_{tag}", roster_import_chunk_size=2,
                                                  roster_import_poll_seconds=0.05))
        identity_url = str(w.client.make_url("")).rstrip("/")
        common = dict(event_exchange=w.settings.event_exchange, auth_jwks_url=identity_url + "/.well-known/jwks.json")
        dossier = await stack.enter_async_context(serve(make_dossier(settings(
            DossierSettings, f"pdo_{tag}", reminder_auto=False, **common))))
        portal = await stack.enter_async_context(serve_portal(make_portal(settings(
            PortalSettings, f"ppo_{tag}", identity_url=identity_url,
            dossier_url=str(dossier.make_url("")).rstrip("/"), document_url="http://127.0.0.1:9", page_size=5,
            **common))))
        yield Site(w, portal)


async def test_code_status_is_searched_and_paged_by_identity(site):
    async with await site.browser("counsellor") as http:
        r = await http.get("/school/activatiecodes/status")
        html = await r.text()
        assert r.status == 200 and '<html lang="nl">' in html
        assert rows(html) == ["Mirjam Hoenderloo", "Roos de Winter", "Sem Yilmaz", "Noor van Dijk", "Jaap Rierink"]
        assert "Pagina 1 van 2 (6 in totaal)" in html and "pagina=2" in html
        html = await (await http.get("/school/activatiecodes/status?pagina=2")).text()
        assert rows(html) == ["Daan Smit"] and "Pagina 2 van 2" in html

        # the search term goes into the session: the address shows no name
        page = await (await http.get("/school/activatiecodes/status")).text()
        async with http.post("/school/activatiecodes/status", data={"q": "ROOS winter", "klas": "",
                                                                    "csrf_token": csrf(page)},
                             allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/school/activatiecodes/status"
        html = await (await http.get("/school/activatiecodes/status")).text()
        assert rows(html) == ["Roos de Winter"] and 'value="ROOS winter"' in html
        assert "ingewisseld" in html

        class_4b = str(await site.identity.class_id("4b"))
        async with http.post("/school/activatiecodes/status", data={"q": "", "klas": class_4b,
                                                                    "csrf_token": csrf(html)},
                             allow_redirects=False) as r:
            assert r.headers["Location"] == f"/school/activatiecodes/status?klas={class_4b}"
        html = await (await http.get(r.headers["Location"])).text()
        assert rows(html) == ["Noor van Dijk", "Jaap Rierink", "Daan Smit"]
        async with http.post("/school/activatiecodes/status", data={"q": "niemand", "csrf_token": csrf(html)}) as r:
            assert "Geen leerlingen gevonden." in await r.text()

    async with await site.browser("mentor_4a") as http:
        html = await (await http.get("/school/activatiecodes/status")).text()
        assert rows(html) == ["Mirjam Hoenderloo", "Roos de Winter", "Sem Yilmaz"], "a mentor: the own classes"


async def test_the_staff_list_is_searched_and_paged_by_identity(site):
    w = site.identity
    for name in ("Anne Aarts", "Bas Berg", "Cor Cats"):
        r = await w.client.post("/v1/staff", json={"role": "mentor", "name": name, "invite": False,
                                                   "email": f"{name.split()[0].lower()}@voorbeeldcollege.example"},
                                headers=await w.headers("school_admin"))
        assert r.status == 201, await r.text()
    async with await site.browser("school_admin") as http:
        html = await (await http.get("/beheer/medewerkers")).text()
        assert rows(html) == ["Anne Aarts", "Bas Berg", "Cor Cats", "Fatima El Idrissi", "Karin Jansen"]
        assert "Pagina 1 van 2 (7 in totaal)" in html
        html = await (await http.get("/beheer/medewerkers?pagina=2")).text()
        assert rows(html) == ["Peter de Vries", "Willem Bakker"]
        assert '<label for="f-q">Zoeken op naam of e-mailadres</label>' in html
        async with http.post("/beheer/medewerkers/zoeken", data={"q": "jansen", "csrf_token": csrf(html)},
                             allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/beheer/medewerkers"
        html = await (await http.get("/beheer/medewerkers")).text()
        assert rows(html) == ["Karin Jansen"] and "4a" in html
        async with http.post("/beheer/medewerkers/zoeken", data={"q": "niemand", "csrf_token": csrf(html)}) as r:
            assert "Geen medewerkers gevonden." in await r.text()


def upload(content: bytes, token: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("bestand", content, filename="leerlingen.csv", content_type="text/csv")
    return form


async def read_in(http, csv: bytes, page: str, leavers: tuple[str, ...] = ()) -> tuple[str, str]:
    """Upload a file, see its preview, confirm it (with ``leavers``): (the page it ends on, its address)."""
    async with http.post("/beheer/leerlingenbestand", data=upload(csv, csrf(page)), allow_redirects=False) as r:
        assert r.status == 303, await r.text()
        location = r.headers["Location"]
    preview = await (await http.get(location)).text()
    assert "Wat dit bestand verandert" in preview and "Er is nog niets veranderd" in preview
    async with http.post(location + "/bevestigen", data={"csrf_token": csrf(preview),
                                                         "vertrokken": list(leavers)}) as r:
        return await r.text(), location


async def test_the_roster_import_shows_its_progress_and_then_its_result(site):
    w = site.identity
    csv = (CSV_HEADER + "".join(f"80000{i};Leerling{i};;;Voortgang;01-01-2010;4v;4;;;\n" for i in range(3))
           + "100234;Roos;Roos Maria;de;Winter;14-03-2010;4a;4;roos.dewinter@leerling.example;123456708;\n"
           + "800009;Laatste;;;Voortgang;01-01-2010;4v;4;;;nieuwe.mentor@voorbeeldcollege.example\n").encode()
    async with await site.browser("school_admin") as http:
        page = await (await http.get("/beheer/leerlingenbestand")).text()
        async with http.post("/beheer/leerlingenbestand", data=upload(csv, csrf(page)),
                             allow_redirects=False) as r:
            assert r.status == 303, await r.text()
            location = r.headers["Location"]
        assert re.fullmatch(r"/beheer/leerlingenbestand/[0-9a-f-]{36}", location)
        preview = await (await http.get(location)).text()
        assert "Nieuwe leerlingen</dt><dd>4</dd>" in preview and "Niet in dit bestand: 5 leerlingen" in preview
        async with w.holding_student("100234"):  # the second chunk waits: the import is half-way
            async with http.post(location + "/bevestigen", data={"csrf_token": csrf(preview)},
                                 allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == location, await r.text()
            r = await http.get(location)
            html = await r.text()
            assert r.status == 200 and '<html lang="nl">' in html
            assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in html
            assert 'role="status" aria-live="polite"' in html and "Bezig met inlezen" in html
            assert "2 van 5</span> rijen ingelezen" in html
            assert '<label for="voortgang">' in html and '<progress id="voortgang" max="5" value="2">' in html
            assert f'data-poll="{location}/voortgang"' in html
            progress = await (await http.get(location + "/voortgang")).json()
            assert progress == {"state": "running", "label": "Bezig met inlezen", "done": 2, "total": 5,
                                "finished": False, "page": location}
            # another file meanwhile: the running one is shown
            async with http.post("/beheer/leerlingenbestand", data=upload(csv, csrf(html))) as r:
                html = await r.text()
                assert str(r.url).endswith(location) and "Er wordt al een leerlingenbestand" in html

        async with asyncio.timeout(20):
            while not (await (await http.get(location + "/voortgang")).json())["finished"]:
                await asyncio.sleep(0.05)
        html = await (await http.get(location)).text()
        assert "Het bestand is ingelezen: 5 rijen. Nieuw: 4. Bijgewerkt: 0. Ongewijzigd: 1." in html
        assert "nieuwe.mentor@voorbeeldcollege.example" in html and "Nodig ze uit bij Medewerkers" in html
        assert "http-equiv" not in html and "<progress" not in html and 'role="status"' in html

        # a small file: the result at once once confirmed
        page = await (await http.get("/beheer/leerlingenbestand")).text()
        html, _ = await read_in(http, csv, page)
        assert "Het bestand is ingelezen" in html and "Ongewijzigd: 5." in html

        # a file with errors: nothing imported, every error on the upload page
        bad = (CSV_HEADER + "800010;Fout;;;Datum;31-02-2010;4v;4;;;\n").encode()
        async with http.post("/beheer/leerlingenbestand", data=upload(bad, csrf(page))) as r:
            html = await r.text()
            assert r.status == 422 and "Het bestand is niet ingelezen" in html and "Geboortedatum" in html
        assert await w.fetchval("SELECT count(*) FROM students WHERE student_number = '800010'") == 0


async def test_the_students_download_holds_identity_and_dossier(site):
    async with await site.browser("student") as http:
        r = await http.get("/leerling/mijn-gegevens")
        text = await r.text()
        assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
    data = json.loads(text)
    assert "identity" in data["about"] and "dossier" in data["about"]
    identity = data["identity"]
    assert identity["student"]["student_number"] == "100234" and identity["student"]["class"]["name"] == "4a"
    assert identity["account"]["email"] == "roos.dewinter@leerling.example"
    assert identity["account"]["bsn"] == identity["student"]["bsn"] == "*****6708"
    assert "123456708" not in text
    assert data["dossier"]["about"].startswith("Alle gegevens die de dossierdienst") and "dossiers" in data["dossier"]


async def test_registration_says_the_activation_code_binds_and_a_released_claim_is_told_at_login(site):
    """Knowing a BSN binds nothing (issue 10): the registration pages say so, and the owner of an
    account whose BSN claim was released (someone else redeemed the code) reads why on logging in."""
    from tests.integration.identity.test_activation import PASSWORD, issue, student_account

    w = site.identity
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[str(site.portal.make_url("")).rstrip("/")])
    async with aiohttp.ClientSession(base_url=str(site.portal.make_url("")), cookie_jar=jar) as http:
        page = await (await http.get("/account/maken")).text()
        assert "activatiecode" in page and "hoort bij jou" in page
        r = await http.post("/account/maken", data={"bsn": "123456782", "email": "portal.nieuw@example.nl",
                                                    "csrf_token": csrf(page)})
        page = await r.text()
        assert r.status == 200 and "Kijk in je e-mail" in page and "eens per minuut" in page

    await issue(w, "counsellor", channel="email", student_id=str(await w.student_id("100235")))
    code = [e for e in await w.events("identity.activation_code_issued")
            if e["student_name"] == "Mirjam Hoenderloo"][-1]
    other = await student_account(w, "123456721", "andere.mirjam@example.nl")
    await student_account(w, "123456721", "echte.mirjam@example.nl")
    # the real Mirjam redeems her code in the portal (Nieuw dossier) and reads what happened
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[str(site.portal.make_url("")).rstrip("/")])
    async with aiohttp.ClientSession(base_url=str(site.portal.make_url("")), cookie_jar=jar) as http:
        page = await (await http.get("/inloggen")).text()
        await http.post("/inloggen", data={"email": "echte.mirjam@example.nl", "password": PASSWORD,
                                          "csrf_token": csrf(page)})
        page = await (await http.get("/leerling/dossiers/nieuw")).text()
        r = await http.post("/leerling/dossiers/nieuw", data={"code": code["code"], "csrf_token": csrf(page)})
        html = await r.text()
        assert r.status == 200 and "/leerling/dossiers/" in str(r.url), html
        assert "waren nog andere accounts gemaakt" in html and "alleen dit account hoort bij jou" in html
    assert (await w.client.get("/v1/me", headers=other)).status == 200

    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[str(site.portal.make_url("")).rstrip("/")])
    async with aiohttp.ClientSession(base_url=str(site.portal.make_url("")), cookie_jar=jar) as http:
        page = await (await http.get("/inloggen")).text()
        r = await http.post("/inloggen", data={"email": "andere.mirjam@example.nl", "password": PASSWORD,
                                               "csrf_token": csrf(page)})
        html = await r.text()
        assert r.status == 200 and r.url.path == "/leerling"
        assert "niet meer aan dit account gekoppeld" in html and "mentor of decaan" in html
