"""Nothing at rest lets its reader log in or act as someone else (issue 10).

A whole journey across every service, with real events: staff invited (one invitation left
unused), a student registers with a verification link, activation codes by mail (one left
unused) and by letter (the PDF downloaded), a dossier through part A, part B and the agreement with
a link for a parent (left working, open in the parent's browser), a password reset asked for and
left open in a browser, logins through the portal and the API, one registration never confirmed.
Then every table of every service's database is read whole (every column as text, and the text of
every PDF kept in it), together with the event archive stream and the parking and retry queues,
and searched for every secret the test knows from the mails, the letters and the logins: link
tokens, activation codes, access and refresh tokens, BSNs and the parent-link signing key. None
may be there in clear (nor URL-encoded, nor as the hex of a bytea)."""
from __future__ import annotations

import asyncio
import base64
import io
import random
import re
import urllib.parse
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import aio_pika
import aiohttp
import asyncpg
import pytest
from pypdf import PdfReader

from services.dossier.context import PARENT_SECRET
from services.identity.domain.bsn import is_valid_bsn
from services.portal import sessions
from shared.archive import read_archive
from shared.bus import QueueTopology
from tests.browser.system import (PASSWORD, ROSTER_HEADER, System, code_in, dossier_api, import_roster,
                                  invite_mentor, issue_codes_by_mail, open_system, seed, student_with_dossier,
                                  to_agreement)
from tests.integration.portal.support import portal_login
from tests.support import env

pytestmark = pytest.mark.asyncio(loop_scope="session")

DATABASES = {"identity": "bid", "notification": "bno", "dossier": "bdo", "document": "bdc", "portal": "bpo"}
TOKEN_IN_LINK = re.compile(r"[?&]token=([A-Za-z0-9_\-.~%]+)")
CODE = re.compile(r"\b([2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2})\b")


def _bsn(rnd: random.Random) -> str:
    while True:
        candidate = f"{rnd.randrange(100_000_000, 999_999_999)}"
        if is_valid_bsn(candidate):
            return candidate


@dataclass
class Secrets:
    """What the test knows lets one act, by kind; each searched for in the forms it could rest in."""

    found: dict[str, set[str | bytes]] = field(default_factory=dict)

    def add(self, kind: str, *values: str | bytes) -> None:
        self.found.setdefault(kind, set()).update(v for v in values if v)

    def forms(self) -> list[tuple[str, str]]:
        out = []
        for kind, values in self.found.items():
            for value in values:
                if isinstance(value, bytes):
                    forms = {value.hex(), base64.b64encode(value).decode(),
                             base64.urlsafe_b64encode(value).rstrip(b"=").decode()}
                else:
                    forms = {value, urllib.parse.quote(value, safe=""), value.encode().hex()}
                    if kind == "activation code":
                        forms |= {value.replace("-", ""), value.replace("-", "").encode().hex()}
                out += [(kind, f) for f in forms]
        return out


async def _dump(dsn: str) -> list[tuple[str, str]]:
    """Every row of every table as text, and the text of every PDF kept in a bytea column."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = [r["table_name"] for r in await conn.fetch(
            """SELECT table_name FROM information_schema.tables
               WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name""")]
        out = []
        for table in tables:
            rows = await conn.fetch(f'SELECT t::text AS row FROM "{table}" t')
            out += [(table, r["row"]) for r in rows]
            for column in [r["column_name"] for r in await conn.fetch(
                    """SELECT column_name FROM information_schema.columns
                       WHERE table_schema = 'public' AND table_name = $1 AND data_type = 'bytea'""", table)]:
                for r in await conn.fetch(f'SELECT "{column}" AS value FROM "{table}" WHERE "{column}" IS NOT NULL'):
                    if bytes(r["value"][:5]) == b"%PDF-":
                        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r["value"])).pages)
                        out.append((f"{table}.{column} (PDF)", text))
        return out
    finally:
        await conn.close()


async def _queued(exchange: str) -> list[tuple[str, str]]:
    """The messages waiting in every consumer's work, retry and parking queues (looked at, put back)."""
    out = []
    connection = await aio_pika.connect(env.AMQP_URL)
    try:
        for service in DATABASES:
            topology = QueueTopology(exchange, service, (), (200, 400))
            for name in (topology.queue, topology.parked, topology.retry_queue(1), topology.retry_queue(2)):
                channel = await connection.channel()
                try:
                    queue = await channel.declare_queue(name, passive=True)
                except aio_pika.exceptions.ChannelClosed:
                    continue  # this service has no consumer
                held = []
                while (message := await queue.get(no_ack=False, fail=False)) is not None:
                    held.append(message)
                    out.append((name, message.body.decode("utf-8", "replace") + repr(message.headers)))
                for message in held:
                    await message.nack(requeue=True)
                await channel.close()
    finally:
        await connection.close()
    return out


async def _browser(system: System) -> aiohttp.ClientSession:
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[system.portal_url])
    return aiohttp.ClientSession(base_url=system.portal_url, cookie_jar=jar)


def _cookie(browser: aiohttp.ClientSession) -> str:
    return {c.key: c.value for c in browser.cookie_jar}["doorstroom_sessie"]


async def _portal_login(browser: aiohttp.ClientSession, email: str) -> None:
    await portal_login(browser, email, PASSWORD)


async def _portal_tokens(system: System, cookie: str) -> tuple[str, str]:
    """The tokens of a portal session, as the portal reads them: only with the browser's cookie."""
    conn = await asyncpg.connect(env.database_url(f"bpo_{system.tag}"))
    try:
        row = await conn.fetchrow("SELECT * FROM portal_sessions WHERE id_hash = $1", sessions._hash(cookie))
    finally:
        await conn.close()
    key, csrf = sessions._keys(cookie)
    session = sessions._row_to_session({**row, "principal": None}, key, csrf)
    return session.access_token, session.refresh_token


async def _print_job(system: System, token: str, batch_id: str) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    deadline = datetime.now(UTC) + timedelta(seconds=60)
    while datetime.now(UTC) < deadline:
        async with system.http.get(system.document_url + "/v1/print-jobs", params={"batch_id": batch_id},
                                   headers=headers) as r:
            items = (await r.json())["items"]
        if items and items[0]["state"] in ("done", "failed"):
            return items[0]
        await asyncio.sleep(0.2)
    raise TimeoutError("the letters were not made")


async def test_a_whole_journey_leaves_nothing_at_rest_that_lets_one_act():
    started = datetime.now(UTC) - timedelta(minutes=1)
    rnd = random.Random()
    secrets = Secrets()
    async with AsyncExitStack() as stack:
        system = await open_system(stack, archive=True)
        demo = await seed(system)  # staff invited and accepted (invitation links)
        t = system.tag
        await system.api("PATCH", f"/v1/schools/{demo.vo_school_id}", demo.admin_token, json={"parent_rule": "consent"})
        noor, lotte = f"noor-{t}@leerling.example.nl", f"lotte-{t}@leerling.example.nl"
        bsn_noor, bsn_sem, bsn_unconfirmed = _bsn(rnd), _bsn(rnd), _bsn(rnd)
        secrets.add("BSN", bsn_noor, bsn_sem, bsn_unconfirmed)
        minor = date.today().replace(year=date.today().year - 16).strftime("%d-%m-%Y")
        rows = [f"5001;Noor;Noor;van;Dijk;{minor};4a;4;{noor};{demo.mentor};{bsn_noor}",
                f"5002;Sem;Sem;;Bakker;{minor};4a;4;;{demo.mentor};{bsn_sem}",
                f"5003;Lotte;Lotte;;Smit;{minor};4a;4;{lotte};{demo.mentor};"]
        await import_roster(system, demo, rows, header=ROSTER_HEADER + ";bsn")
        await invite_mentor(system, demo)

        # a code by letter for Sem: the counsellor downloads the PDF
        counsellor = await system.login(demo.counsellor)
        [sem] = (await system.api("POST", "/v1/students/search", counsellor, json={"q": "Sem Bakker"}))["students"]
        batch = await system.api("POST", "/v1/activation-codes", counsellor,
                                 json={"channel": "letter", "student_id": sem["student_id"]})
        print_job = await _print_job(system, counsellor, batch["batch_id"])
        assert print_job["state"] == "done", print_job
        async with system.http.get(system.document_url + print_job["download_path"],
                                   headers={"Authorization": f"Bearer {counsellor}"}) as r:
            assert r.status == 200
            letters = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(await r.read())).pages)
        letter_codes = set(CODE.findall(letters))
        assert len(letter_codes) == 1, letters
        secrets.add("activation code", *letter_codes)

        # codes by mail for the class (Noor and Lotte; Lotte never uses hers)
        await issue_codes_by_mail(system, demo, "4a")
        await system.mail_to(lotte, "activatiecode")

        # Noor: verification link, code redeemed, a dossier up to the agreement, a link for a parent
        dossier_id = await student_with_dossier(system, noor, bsn_noor)
        await to_agreement(system, demo, noor, dossier_id)
        student = await system.login(noor)
        view = await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}", student)
        parent_email = f"ouder-{t}@thuis.example.nl"
        await dossier_api(system, "POST", f"/v1/dossiers/{dossier_id}/parent-link", student, view["version"],
                          json={"parent_email": parent_email})
        parent_link = system.link_in(await system.mail_to(parent_email), "/ouder")

        # left open: a registration never confirmed, an invitation never accepted, a password reset
        await system.api("POST", "/v1/registrations", json={"bsn": bsn_unconfirmed, "email": f"later-{t}@leerling.example.nl"})
        await system.mail_to(f"later-{t}@leerling.example.nl", "bevestig")
        second = f"tweede-decaan-{t}@school.example.nl"
        await system.api("POST", "/v1/staff", demo.admin_token, json={
            "role": "counsellor", "name": "Tweede Decaan", "email": second, "school_id": demo.vo_school_id,
            "invite": True})
        await system.mail_to(second, "uitnodiging")
        await system.api("POST", "/v1/password-resets", json={"email": demo.mentor})
        reset_link = system.link_in(await system.mail_to(demo.mentor, "nieuw wachtwoord"), "/account/wachtwoord-herstellen")

        # browsers: the parent reads the dossier, the mentor has the reset page open, the counsellor is logged in
        parent_browser = await stack.enter_async_context(await _browser(system))
        async with parent_browser.get(parent_link.replace(system.portal_url, "")) as r:
            assert r.status == 200 and "token" not in str(r.url) and "Voetbal" in await r.text()
        reset_browser = await stack.enter_async_context(await _browser(system))
        async with reset_browser.get(reset_link.replace(system.portal_url, "")) as r:
            assert r.status == 200 and "Kies een nieuw wachtwoord" in await r.text()
        counsellor_browser = await stack.enter_async_context(await _browser(system))
        await _portal_login(counsellor_browser, demo.counsellor)
        assert "Te behandelen" in await (await counsellor_browser.get("/school")).text()
        secrets.add("access or refresh token (portal)", *await _portal_tokens(system, _cookie(counsellor_browser)))
        async with system.http.post(system.identity_url + "/v1/sessions",
                                    json={"email": demo.mentor, "password": PASSWORD}) as r:
            login = await r.json()
        secrets.add("access or refresh token (API)", login["access_token"], login["refresh_token"])
        secrets.add("session cookie", *[_cookie(b) for b in (parent_browser, reset_browser, counsellor_browser)])
        secrets.add("parent-link signing key", system.apps["dossier"][PARENT_SECRET])
        await system.mail_to(demo.counsellor, "activatiebrieven")

        # everything the mails said
        bodies = [system.body(m) for m in system.sink.messages]
        link_tokens = {urllib.parse.unquote(tok) for body in bodies for tok in TOKEN_IN_LINK.findall(body)}
        mailed_codes = {code for body in bodies for code in CODE.findall(body)}
        assert len(link_tokens) >= 10, "invitations (6), verifications (2), a reset and a parent link"
        assert len(mailed_codes) == 2 and code_in(system, await system.mail_to(noor, "activatiecode")) in mailed_codes
        secrets.add("link token (verification, reset, invitation, parent)", *link_tokens)
        secrets.add("activation code", *mailed_codes)

        # what rests: every table of every service, the archive stream, the queues
        places: list[tuple[str, str]] = []
        for service, prefix in DATABASES.items():
            places += [(f"{service}.{table}", text) for table, text in
                       await _dump(env.database_url(f"{prefix}_{t}"))]
        exchange = env.run_exchange(f"browser_{t}")
        archived = await read_archive(env.AMQP_URL, exchange, since=started, idle_seconds=1.0)
        assert len(archived) > 20, "the archive was read"
        places += [(f"archive {a.type}", a.body.decode() + repr(a.headers)) for a in archived]
        places += await _queued(exchange)
        assert any(p.startswith("identity.outbox") for p, _ in places)

        leaks = sorted({(kind, place) for kind, form in secrets.forms() for place, text in places if form in text})
        assert not leaks, "working secrets at rest:\n" + "\n".join(f"  {kind}: {place}" for kind, place in leaks)
        assert any(b"sealed:v1:" in a.body for a in archived), "the links and codes went out sealed"

        # and all of it still works for the ones who hold the cookie or the link
        async with parent_browser.get("/ouder") as r:
            assert r.status == 200 and "Voetbal" in await r.text()
        async with reset_browser.get("/account/wachtwoord-herstellen") as r:
            assert r.status == 200 and "Kies een nieuw wachtwoord" in await r.text()
