"""The portal's words where a school's first season showed them wrong, against a real identity (demo
data) and dossier: the result of a batch of activation codes gives each skipped student their own
reason (not "geen e-mailadres" for everyone), and a student whose code is redeemed is not asked for
it again on Home."""
from __future__ import annotations

import re

import pytest

from tests.integration.portal.test_portal_identity_pages import csrf, site  # noqa: F401  (the module's fixture)

pytestmark = pytest.mark.asyncio


def _skipped(html: str) -> list[str]:
    notice = html.split('class="notice notice-success"', 1)[1].split("</div>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item)).strip()
            for item in re.findall(r"<li>(.*?)</li>", notice, re.DOTALL)]


async def test_a_code_batch_names_each_skipped_students_own_reason(site):  # noqa: F811
    class_4a = str(await site.identity.class_id("4a"))
    async with await site.browser("counsellor") as http:
        page = await (await http.get("/school/activatiecodes")).text()
        r = await http.post("/school/activatiecodes", data={
            "scope": "class", "class_id": class_4a, "channel": "email", "request_id": "batch-4a-mail",
            "csrf_token": csrf(page)})
        html = await r.text()
        assert r.status == 200, html
    assert "1 activatiecode verstrekt (1 e-mail). 2 leerlingen overgeslagen." in html
    assert "hebben geen e-mailadres" not in html, "not everyone skipped lacks an address"
    skipped = _skipped(html)
    assert skipped == ["Roos de Winter (4a): heeft de code al ingewisseld (account gekoppeld)",
                       "Sem Yilmaz (4a): geen e-mailadres bekend: geef deze leerling de code per brief"], skipped


async def test_home_does_not_ask_a_student_with_a_redeemed_code_for_it_again(site):  # noqa: F811
    async with await site.browser("student") as http:  # Roos de Winter: her code is redeemed, no dossier yet
        html = await (await http.get("/leerling")).text()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Je hebt nog geen dossier" in text
    assert "vul de activatiecode in" not in text.lower()
    assert "Klik op 'Nieuw dossier' om je eerste dossier te maken." in text
