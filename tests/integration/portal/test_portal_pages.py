"""The portal on its own: pages, security headers, sessions and CSRF (no other service needed)."""
from __future__ import annotations

import re

import pytest

from services.portal.app import make_app
from services.portal.settings import PortalSettings
from tests.integration.portal.support import serve_portal
from tests.support import apps

pytestmark = pytest.mark.asyncio


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "form without csrf token"
    return match.group(1)


@pytest.fixture
async def portal(unique):
    settings = apps.settings(PortalSettings, f"portal_{unique}", identity_url="http://127.0.0.1:9",
                             dossier_url="http://127.0.0.1:9", document_url="http://127.0.0.1:9",
                             auth_jwks_url="http://127.0.0.1:9/.well-known/jwks.json")
    async with serve_portal(make_app(settings)) as client:
        yield client


async def test_start_page_is_dutch_with_security_headers(portal) -> None:
    r = await portal.get("/")
    html = await r.text()
    assert r.status == 200
    assert '<html lang="nl">' in html
    assert "Maak een nieuw account" in html and "Wachtwoord vergeten" in html and "Help en contact" in html
    assert html.count('class="qhelp"') == 7  # a "?" for each step of chapter 1.1
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["Cache-Control"] == "no-store"
    assert "<script>" not in html and " style=" not in html  # nothing inline: the CSP would block it
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    assert "Strict-Transport-Security" not in r.headers, "not over plain HTTP"


async def test_hsts_when_the_portal_is_served_over_https(unique) -> None:
    settings = apps.settings(PortalSettings, f"portal_hsts_{unique}", identity_url="http://127.0.0.1:9",
                             dossier_url="http://127.0.0.1:9", document_url="http://127.0.0.1:9",
                             auth_jwks_url="http://127.0.0.1:9/.well-known/jwks.json",
                             public_base_url="https://doorstroom.example.nl")
    async with serve_portal(make_app(settings)) as client:
        for path in ("/", "/static/portal.css", "/bestaat-niet"):
            r = await client.get(path)
            assert r.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", path


async def test_help_page_lists_questions_and_contact(portal) -> None:
    html = await (await portal.get("/help")).text()
    assert "Veelgestelde vragen" in html and "helpdesk" in html.lower()
    assert html.count("<details class=\"faq\">") >= 8


async def test_post_without_csrf_token_is_refused_and_changes_nothing(portal) -> None:
    page = await portal.get("/inloggen")
    token = _csrf(await page.text())
    r = await portal.post("/inloggen", data={"email": "a@b.nl", "password": "x" * 12})
    assert r.status == 403
    assert "Pagina verlopen" in await r.text()
    r = await portal.post("/inloggen", data={"email": "a@b.nl", "password": "x", "csrf_token": token + "x"})
    assert r.status == 403
    r = await portal.post("/inloggen", data={"email": "a@b.nl", "password": "x"},
                          headers={"X-CSRF-Token": "nope"})
    assert r.status == 403
    r = await portal.post("/inloggen", data={"email": "a@b.nl", "password": "x", "csrf_token": token},
                          headers={"Origin": "https://evil.example"})
    assert r.status == 403


async def test_login_form_errors_are_tied_to_their_fields(portal) -> None:
    token = _csrf(await (await portal.get("/inloggen")).text())
    r = await portal.post("/inloggen", data={"email": "", "password": "", "csrf_token": token})
    html = await r.text()
    assert r.status == 400
    assert 'class="error-summary"' in html and 'href="#f-email"' in html
    assert re.search(r'id="f-email"[^>]*aria-describedby="e-email"', html)
    assert 'id="e-email"' in html and 'aria-invalid="true"' in html


async def test_unreachable_backend_gives_a_dutch_page(portal) -> None:
    token = _csrf(await (await portal.get("/account/maken")).text())
    r = await portal.post("/account/maken", data={"bsn": "111222333", "email": "leerling@example.nl",
                                                  "csrf_token": token})
    assert r.status == 503
    assert "Even niet bereikbaar" in await r.text()


async def test_pages_need_login_and_unknown_pages_are_404(portal) -> None:
    r = await portal.get("/leerling", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/inloggen"
    r = await portal.get("/school/leerlingen", allow_redirects=False)
    assert r.status == 303
    r = await portal.get("/bestaat-niet")
    assert r.status == 404 and "Niet gevonden" in await r.text()


async def test_mailed_link_token_leaves_the_url(portal) -> None:
    r = await portal.get("/account/verifieren?token=abc123", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/account/verifieren"
    r = await portal.get("/account/verifieren")
    html = await r.text()
    assert r.status == 200 and "Kies je wachtwoord" in html and "abc123" not in html
    # without the session that holds it, the link is "verlopen"
    portal.session.cookie_jar.clear()
    r = await portal.get("/account/verifieren")
    assert r.status == 410 and "werkt niet meer" in await r.text()


async def test_static_files_are_served_with_cache_headers(portal) -> None:
    r = await portal.get("/static/portal.css")
    assert r.status == 200 and "max-age" in r.headers["Cache-Control"]
