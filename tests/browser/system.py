"""The whole system in process for browser tests: identity, dossier, document, notification and the
portal on loopback ports, one event exchange of their own, and an SMTP sink that the tests read the
mails from. Seeding goes through identity's own HTTP API (and, for the very first platform admin,
identity's own staff functions: there is no one yet to invite them)."""
from __future__ import annotations

import asyncio
import re
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.document.app import make_app as make_document
from services.document.settings import DocumentSettings
from services.dossier.app import make_app as make_dossier
from services.dossier.settings import DossierSettings
from services.identity.app import make_app as make_identity
from services.identity.settings import IdentitySettings
from services.notification.app import make_app as make_notification
from services.notification.settings import NotificationSettings
from services.portal.app import make_app as make_portal
from services.portal.settings import PortalSettings
from shared.app import DB, OUTBOX, SETTINGS
from shared.devtools.smtp_sink import SmtpSink
from tests.support import answers, env
from tests.support.apps import free_port, settings

PASSWORD = "een lange zin als wachtwoord 2026"


async def _serve(stack: AsyncExitStack, app: web.Application, port: int | None = None) -> str:
    server = TestServer(app, host="127.0.0.1", port=port or free_port())
    await server.start_server()
    stack.push_async_callback(server.close)
    return str(server.make_url("")).rstrip("/")


@dataclass
class System:
    sink: SmtpSink
    portal_url: str
    identity_url: str
    dossier_url: str
    document_url: str
    http: aiohttp.ClientSession
    identity_app: web.Application
    tag: str
    seen_mails: int = 0
    tokens: dict[str, str] = field(default_factory=dict)
    apps: dict[str, web.Application] = field(default_factory=dict)  # every service's app, by name

    # -- mail -----------------------------------------------------------------------------------

    async def mail_to(self, address: str, subject_part: str = "", timeout: float = 20) -> EmailMessage:
        """The newest mail to ``address`` (whose subject contains ``subject_part``), waiting for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for message in reversed(self.sink.messages):
                if address.lower() in [a.lower() for a in message.envelope_to] and \
                        subject_part.lower() in str(message["subject"]).lower():
                    return message
            if loop.time() > deadline:
                subjects = [(m.envelope_to, str(m["subject"])) for m in self.sink.messages]
                raise TimeoutError(f"geen mail aan {address} met '{subject_part}'; wel: {subjects}")
            await asyncio.sleep(0.1)

    @staticmethod
    def body(message: EmailMessage) -> str:
        part = message.get_body(("plain",)) if message.is_multipart() else message
        return part.get_content()

    def link_in(self, message: EmailMessage, path: str) -> str:
        match = re.search(re.escape(self.portal_url) + re.escape(path) + r"[^\s]*", self.body(message))
        assert match, f"geen link naar {path} in: {self.body(message)}"
        return match.group(0)

    # -- identity API (seeding) -------------------------------------------------------------------

    async def api(self, method: str, path: str, token: str | None = None, **kwargs) -> dict:
        headers = {**kwargs.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        async with self.http.request(method, self.identity_url + path, headers=headers, **kwargs) as r:
            body = await r.json(content_type=None) if r.content_length != 0 else {}
            assert r.status < 400, f"{method} {path}: {r.status} {body}"
            return body or {}

    async def login(self, email: str, password: str = PASSWORD) -> str:
        return (await self.api("POST", "/v1/sessions", json={"email": email, "password": password}))["access_token"]

    async def accept_invitation(self, email: str) -> None:
        mail = await self.mail_to(email, "")
        token = self.link_in(mail, "/account/uitnodiging").split("token=", 1)[1]
        await self.api("POST", "/v1/invitations/accept", json={"token": token, "password": PASSWORD})

    async def first_admin(self) -> str:
        from services.identity.store.staff import create_staff, invite

        email = f"beheer-{self.tag}@doorstroom.example.nl"
        app = self.identity_app
        async with app[DB].acquire() as conn, conn.transaction():
            staff_id = await create_staff(conn, app[OUTBOX], role="admin", name="Beheerder", email=email,
                                          school_id=None)
            await invite(conn, app[OUTBOX], app[SETTINGS], staff_id)
        await self.accept_invitation(email)
        return await self.login(email)


@dataclass
class Demo:
    """A VO school with a school admin, a counsellor and (after the roster import) a mentor; an
    MBO institution with one programme and a staff member."""

    tag: str
    vo_school_id: str = ""
    mbo_id: str = ""
    programme_id: str = ""
    school_admin: str = ""
    counsellor: str = ""
    mentor: str = ""
    mbo_staff: str = ""
    admin_token: str = ""

    @property
    def class_name(self) -> str:
        return "4a"


async def seed(system: System) -> Demo:
    demo = Demo(system.tag)
    admin = demo.admin_token = await system.first_admin()
    vo = await system.api("POST", "/v1/schools", admin, json={
        "kind": "vo", "name": f"Vmbo De Brug {system.tag}", "city": "Utrecht", "parent_rule": "none",
        "brin": "12AB"})  # every school has one; the OSO export (issue 12) needs it
    demo.vo_school_id = vo["school_id"]
    mbo = await system.api("POST", "/v1/schools", admin, json={
        "kind": "mbo", "name": f"MBO Utrecht {system.tag}", "city": "Utrecht", "participates": True})
    demo.mbo_id = mbo["school_id"]
    mbo = await system.api("POST", f"/v1/schools/{demo.mbo_id}/locations", admin, json={
        "name": "Australiëlaan", "address": "Australiëlaan 23", "city": "Utrecht"})
    location_id = mbo["locations"][0]["location_id"]
    mbo = await system.api("POST", f"/v1/schools/{demo.mbo_id}/programmes", admin, json={
        "name": "Juridisch secretaresse", "crebo": "95392", "level": 4, "pathway": "BOL",
        "location_id": location_id})
    demo.programme_id = mbo["programmes"][0]["programme_id"]
    for role, school, attr in (("school_admin", demo.vo_school_id, "school_admin"),
                               ("counsellor", demo.vo_school_id, "counsellor"),
                               ("mbo_staff", demo.mbo_id, "mbo_staff")):
        email = f"{attr.replace('_', '-')}-{system.tag}@school.example.nl"
        await system.api("POST", "/v1/staff", admin, json={
            "role": role, "name": {"school_admin": "Bea Beheer", "counsellor": "Daan Decaan",
                                   "mbo_staff": "Mo Intake"}[role], "email": email, "school_id": school,
            "invite": True})
        await system.accept_invitation(email)
        setattr(demo, attr, email)
    demo.mentor = f"mentor-{system.tag}@school.example.nl"
    return demo


async def open_system(stack: AsyncExitStack, *, archive: bool = False) -> System:
    """``archive``: every service declares the event archive stream (``<exchange>.archive``)."""
    tag = uuid.uuid4().hex[:8]
    exchange = env.run_exchange(f"browser_{tag}")
    sink = await stack.enter_async_context(SmtpSink())
    portal_port, identity_port = free_port(), free_port()
    portal_url, identity_url = f"http://127.0.0.1:{portal_port}", f"http://127.0.0.1:{identity_port}"
    jwks = identity_url + "/.well-known/jwks.json"
    common = dict(event_exchange=exchange, auth_jwks_url=jwks, **({"event_archive": True} if archive else {}))

    identity_app = make_identity(settings(IdentitySettings, f"bid_{tag}", public_base_url=portal_url,
                                          environment="test", argon2_time_cost=1, argon2_memory_kib=1024,
                                          **common))
    await _serve(stack, identity_app, identity_port)
    notification = make_notification(settings(NotificationSettings, f"bno_{tag}", smtp_port=sink.port,
                                              delivery_poll_seconds=0.2, **common))
    await _serve(stack, notification)
    dossier = make_dossier(settings(DossierSettings, f"bdo_{tag}", public_base_url=portal_url, reminder_auto=False,
                                    **common))
    dossier_url = await _serve(stack, dossier)
    document = make_document(settings(DocumentSettings, f"bdc_{tag}", dossier_url=dossier_url,
                                      public_base_url=portal_url, render_processes=1, print_job_poll_seconds=0.5,
                                      **common))
    document_url = await _serve(stack, document)
    portal = make_portal(settings(PortalSettings, f"bpo_{tag}", identity_url=identity_url, dossier_url=dossier_url,
                                  document_url=document_url, public_base_url=portal_url, **common))
    await _serve(stack, portal, portal_port)
    http = await stack.enter_async_context(aiohttp.ClientSession())
    return System(sink, portal_url, identity_url, dossier_url, document_url, http, identity_app, tag,
                  apps={"identity": identity_app, "notification": notification, "dossier": dossier,
                        "document": document, "portal": portal})


# -- people made through the APIs, for tests that start half-way -----------------------------------

ROSTER_HEADER = "leerlingnummer;roepnaam;voornamen;tussenvoegsel;achternaam;geboortedatum;klas;leerjaar;email;mentor"


async def import_roster(system: System, demo: Demo, rows: list[str], header: str = ROSTER_HEADER) -> dict:
    token = await system.login(demo.school_admin)
    job = await system.api("POST", "/v1/roster/imports", token, data=("\n".join([header, *rows]) + "\n").encode(),
                           headers={"Content-Type": "text/csv"})
    deadline = asyncio.get_running_loop().time() + 30  # the students are imported by a background job
    while job["state"] not in ("done", "failed"):
        assert asyncio.get_running_loop().time() < deadline, f"roster import not done: {job}"
        await asyncio.sleep(0.1)
        job = await system.api("GET", f"/v1/roster/imports/{job['import_id']}", token)
    assert job["state"] == "done", job
    return job


async def issue_codes_by_mail(system: System, demo: Demo, class_name: str) -> None:
    token = await system.login(demo.counsellor)
    classes = (await system.api("GET", "/v1/classes", token))["classes"]
    class_id = next(c["class_id"] for c in classes if c["name"] == class_name)
    await system.api("POST", "/v1/activation-codes", token, json={"channel": "email", "class_id": class_id})


def code_in(system: System, message) -> str:
    return re.search(r"\b([A-HJ-NP-Z2-9]{4}(?:-[A-HJ-NP-Z2-9]{2,6})+)\b", system.body(message)).group(1)


async def student_account(system: System, email: str, bsn: str) -> None:
    """Registered, verified, with a password (manual 1.1 steps 1 to 4), through identity's API."""
    await system.api("POST", "/v1/registrations", json={"bsn": bsn, "email": email})
    mail = await system.mail_to(email, "bevestig")
    token = system.link_in(mail, "/account/verifieren").split("token=", 1)[1]
    await system.api("POST", "/v1/registrations/confirm", json={"token": token, "password": PASSWORD})


async def student_with_dossier(system: System, email: str, bsn: str) -> str:
    """A student with a redeemed code and a new dossier; answers the dossier id."""
    await student_account(system, email, bsn)
    token = await system.login(email)
    code = code_in(system, await system.mail_to(email, "activatiecode"))
    token = (await system.api("POST", "/v1/activation-codes/redeem", token, json={"code": code}))["access_token"]
    async with system.http.post(system.dossier_url + "/v1/dossiers", json={},
                                headers={"Authorization": f"Bearer {token}"}) as r:
        assert r.status == 201, await r.text()
        return (await r.json())["id"]


async def invite_mentor(system: System, demo: Demo) -> None:
    """The mentor made by the roster import gets an invitation and chooses a password."""
    token = await system.login(demo.school_admin)
    staff = (await system.api("GET", "/v1/staff", token))["staff"]
    mentor = next(s for s in staff if s["email"] == demo.mentor)
    await system.api("POST", f"/v1/staff/{mentor['staff_id']}/invitation", token, json={})
    await system.accept_invitation(demo.mentor)



PART_A = {**answers.PART_A,
          "personal_details": {"roepnaam": "Noor", "voornaam": "Noor", "initials": "N.", "tussenvoegsel": "van",
                               "achternaam": "Dijk", "geslacht": "vrouw", "phone": "030-1234567",
                               "phone_secret": False},
          "family_living_leisure": {"living_situation": "parents", "leisure": "Voetbal", "side_job": False}}
PART_B = {
    "guidance": answers.GUIDANCE,
    "assessment_advice": {"argumentatie": "Een goede keuze.", "advies": "positive", "opp": False,
                          "contactnodig": False},
}


async def dossier_api(system: System, method: str, path: str, token: str, version=None, **kwargs) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    async with system.http.request(method, system.dossier_url + path, headers=headers, **kwargs) as r:
        body = await r.json(content_type=None)
        assert r.status < 400, f"{method} {path}: {r.status} {body}"
        return body


async def to_mentor(system: System, demo: Demo, student_email: str, dossier_id: str) -> None:
    """Part A filled and sent to the mentor, who has not started part B yet."""
    student = await system.login(student_email)
    answers = dict(PART_A, follow_up_programme={"keuzevervolgopleiding": {
        "kind": "mbo", "institution_id": demo.mbo_id, "programme_id": demo.programme_id, "crebo": "95392"},
        "first_choice": True})
    versions = (await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}", student))["versions"]
    for section, values in answers.items():
        await dossier_api(system, "PUT", f"/v1/dossiers/{dossier_id}/part-a/{section}", student,
                          versions.get(section, 0), json={"answers": values})
    mentor_id = (await dossier_api(system, "GET", "/v1/me/mentors", student))["mentors"][0]["staff_id"]
    view = await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}", student)
    await dossier_api(system, "POST", f"/v1/dossiers/{dossier_id}/submit", student, view["version"],
                      json={"mentor_id": mentor_id})


async def start_part_b(system: System, demo: Demo, dossier_id: str) -> dict:
    mentor = await system.login(demo.mentor)
    view = await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}", mentor)
    return await dossier_api(system, "POST", f"/v1/dossiers/{dossier_id}/part-b/start", mentor, view["version"],
                             json={})


async def to_agreement(system: System, demo: Demo, student_email: str, dossier_id: str) -> None:
    """Part A filled and sent to the mentor, part B filled and sent back: the agreement step."""
    await to_mentor(system, demo, student_email, dossier_id)
    await send_part_b(system, demo, dossier_id)


async def send_part_b(system: System, demo: Demo, dossier_id: str) -> None:
    """The mentor starts part B, fills it in and sends it back to the student."""
    mentor = await system.login(demo.mentor)
    view = await start_part_b(system, demo, dossier_id)
    for section, values in PART_B.items():
        await dossier_api(system, "PUT", f"/v1/dossiers/{dossier_id}/part-b/{section}", mentor,
                          view["versions"].get(section, 0), json={"answers": values})
    view = await dossier_api(system, "GET", f"/v1/dossiers/{dossier_id}", mentor)
    await dossier_api(system, "POST", f"/v1/dossiers/{dossier_id}/send-part-b", mentor, view["version"], json={})
