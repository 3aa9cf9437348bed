"""A small world for the dossier HTTP tests: the dossier and notification services in process
(own databases, own exchange), an SMTP sink, a token issuer, and a roster fed to the dossier's
read model as identity events. Every school, class and student is new, so tests share a world
without seeing each other."""
from __future__ import annotations

import asyncio
import re
import uuid
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import AsyncIterator

from aiohttp.test_utils import TestClient

from services.document.app import make_app as make_document
from services.document.settings import DocumentSettings
from services.dossier.app import make_app as make_dossier
from services.dossier.settings import DossierSettings
from services.notification.app import make_app as make_notification
from services.notification.settings import NotificationSettings
from shared.app import CONSUMER, DB
from shared.devtools.smtp_sink import SmtpSink
from shared.events.envelope import Envelope
from shared.events.identity_events import (
    ClassMentorsChanged,
    Location,
    Mentor,
    Programme,
    SchoolChanged,
    StaffChanged,
    StudentChanged,
)
from shared.events.registry import event_type_of
from tests.support import env
from tests.support.answers import GUIDANCE, PART_A
from tests.support.apps import serve, settings
from tests.support.auth import TestIssuer, token_issuer
from tests.support.events import Probe, broker

TODAY = date.today()
MINOR = date(TODAY.year - 16, 1, 15)
ADULT = date(TODAY.year - 19, 1, 15)


@dataclass
class Staff:
    staff_id: uuid.UUID
    name: str
    email: str
    school_id: uuid.UUID
    role: str = "mentor"


@dataclass
class Klass:
    class_id: uuid.UUID
    name: str
    leerjaar: int
    mentors: list[Staff]


@dataclass
class School:
    school_id: uuid.UUID
    name: str
    parent_rule: str
    classes: list[Klass] = field(default_factory=list)
    counsellor: Staff | None = None


@dataclass
class Mbo:
    institution_id: uuid.UUID
    name: str
    programme_id: uuid.UUID
    crebo: str
    programme_name: str
    location_id: uuid.UUID

    def choice(self) -> dict:
        return {"institution_id": str(self.institution_id), "programme_id": str(self.programme_id),
                "crebo": self.crebo}


@dataclass
class Student:
    student_id: uuid.UUID
    account_id: uuid.UUID
    school: School
    klass: Klass
    roepnaam: str
    achternaam: str
    email: str
    date_of_birth: date


def complete_part_a(mbo: Mbo) -> dict[str, dict]:
    return {**PART_A, "follow_up_programme": {"keuzevervolgopleiding": mbo.choice(), "first_choice": True}}


ASSESSMENT = {"argumentatie": "Past goed bij haar.", "advies": "positive", "opp": True, "contactnodig": False,
              "contactpersoon": "Mevrouw Jansen", "functie": "Zorgcoördinator", "contactemail": "zorg@vo.example.nl",
              "contacttelefoon": "030-7654321"}


class World:
    def __init__(self, dossier: TestClient, notification_app, sink: SmtpSink, issuer: TestIssuer, exchange: str,
                 broker_) -> None:
        self.client = dossier
        self.app = dossier.server.app
        self.notification_app = notification_app
        self.sink = sink
        self.issuer = issuer
        self.exchange = exchange
        self.broker = broker_
        self.n = 0
        self.events: Probe | None = None

    @property
    def db(self):
        return self.app[DB]

    # -------------------------------------------------------------- identity events -> read model

    async def identity(self, payload, time: datetime | None = None) -> None:
        et = event_type_of(payload)
        env = Envelope(source="/doorstroom/identity", type=et.name, data=payload.model_dump(mode="json"),
                       **({"time": time} if time else {}))
        assert await self.app[CONSUMER].process(env)

    def _tag(self) -> str:
        self.n += 1
        return f"{uuid.uuid4().hex[:6]}{self.n}"

    async def school(self, parent_rule: str = "none", classes: int = 1) -> School:
        tag = self._tag()
        school = School(uuid.uuid4(), f"Vmbo De Brug {tag}", parent_rule)
        await self.identity(SchoolChanged(school_id=school.school_id, kind="vo", name=school.name, brin="12AB",
                                          city="Utrecht", parent_rule=parent_rule))
        for c in range(classes):
            mentors = [Staff(uuid.uuid4(), f"Mentor {c}{m} {tag}", f"mentor{c}{m}-{tag}@vo.example.nl", school.school_id)
                       for m in range(2)]
            klass = Klass(uuid.uuid4(), f"4{'abc'[c]}", 4, mentors)
            school.classes.append(klass)
            for m in mentors:
                await self.identity(StaffChanged(staff_id=m.staff_id, school_id=school.school_id, role="mentor",
                                                 name=m.name, email=m.email))
            await self.identity(ClassMentorsChanged(
                school_id=school.school_id, class_id=klass.class_id, class_name=klass.name, school_year=4,
                mentors=[Mentor(staff_id=m.staff_id, name=m.name, email=m.email) for m in mentors]))
        school.counsellor = Staff(uuid.uuid4(), f"Decaan {tag}", f"decaan-{tag}@vo.example.nl", school.school_id,
                                  "counsellor")
        await self.identity(StaffChanged(staff_id=school.counsellor.staff_id, school_id=school.school_id,
                                         role="counsellor", name=school.counsellor.name,
                                         email=school.counsellor.email))
        return school

    async def mbo(self) -> Mbo:
        tag = self._tag()
        mbo = Mbo(uuid.uuid4(), f"MBO Utrecht {tag}", uuid.uuid4(), "25655", "Juridisch secretaresse", uuid.uuid4())
        await self.identity(SchoolChanged(
            school_id=mbo.institution_id, kind="mbo", name=mbo.name, city="Utrecht",
            locations=[Location(location_id=mbo.location_id, name="Australiëlaan", address="Australiëlaan 23",
                                city="Utrecht")],
            programmes=[Programme(programme_id=mbo.programme_id, name=mbo.programme_name, crebo=mbo.crebo, level=4,
                                  pathway="BOL", location_id=mbo.location_id)]))
        return mbo

    async def student(self, school: School, klass: Klass | None = None, *, born: date = ADULT,
                      roepnaam: str = "Roos", achternaam: str = "Winter", email: str | None = "auto") -> Student:
        tag = self._tag()
        klass = klass or school.classes[0]
        if email == "auto":
            email = f"leerling-{tag}@example.nl"
        student = Student(uuid.uuid4(), uuid.uuid4(), school, klass, roepnaam, achternaam, email, born)
        await self.identity(StudentChanged(
            student_id=student.student_id, school_id=school.school_id, student_number=tag, roepnaam=roepnaam,
            tussenvoegsel="de", achternaam=achternaam, date_of_birth=born, class_id=klass.class_id,
            class_name=klass.name, school_year=klass.leerjaar, email=email, account_id=student.account_id))
        return student

    # -------------------------------------------------------------- callers

    def as_student(self, s: Student, **extra) -> dict:
        return self.issuer.headers("student", account_id=s.account_id, student_id=s.student_id,
                                   school_id=s.school.school_id, **extra)

    def as_mentor(self, m: Staff, **extra) -> dict:
        return self.issuer.headers("mentor", staff_id=m.staff_id, school_id=m.school_id, name=m.name, **extra)

    def as_counsellor(self, school: School, **extra) -> dict:
        c = school.counsellor
        return self.issuer.headers("counsellor", staff_id=c.staff_id, school_id=school.school_id, name=c.name,
                                   **extra)

    def as_client(self, mbo: Mbo, scope: str = "dossiers:read dossiers:handle", client_id: uuid.UUID | None = None,
                  **extra) -> dict:
        """A machine client of the institution (issue 12), as identity's POST /oauth/token makes it."""
        cid = client_id or uuid.uuid4()
        return self.issuer.headers("client", account_id=cid, client_id=str(cid), session_id=f"client:{cid}",
                                   institution_id=mbo.institution_id, name="Eduarte MBO Utrecht", scope=scope,
                                   **extra)

    def as_mbo(self, mbo: Mbo, **extra) -> dict:
        return self.issuer.headers("mbo_staff", staff_id=uuid.uuid4(), institution_id=mbo.institution_id,
                                   name="Intake MBO", **extra)

    # -------------------------------------------------------------- HTTP helpers

    async def call(self, method: str, path: str, headers: dict, *, json=None, version=None, expect=None):
        h = dict(headers)
        if version is not None:
            h["If-Match"] = f'"{version}"'
        r = await self.client.request(method, path, headers=h, json=json)
        body = await r.json() if r.content_type.endswith("json") else await r.text()
        if expect is not None:
            assert r.status == expect, (method, path, r.status, body)
        return r.status, body

    async def get(self, dossier_id, headers, **kw) -> dict:
        _, body = await self.call("GET", f"/v1/dossiers/{dossier_id}", headers, expect=200, **kw)
        return body

    async def create(self, s: Student, mbo: Mbo | None = None) -> dict:
        _, body = await self.call("POST", "/v1/dossiers", self.as_student(s),
                                  json={"choice": mbo.choice()} if mbo else {}, expect=201)
        return body

    async def fill_part_a(self, s: Student, dossier: dict, mbo: Mbo, **overrides) -> dict:
        answers = complete_part_a(mbo) | overrides
        for section_id, section_answers in answers.items():
            version = dossier["versions"].get(section_id, 0)
            await self.call("PUT", f"/v1/dossiers/{dossier['id']}/part-a/{section_id}", self.as_student(s),
                            json={"answers": section_answers}, version=version, expect=200)
        return await self.get(dossier["id"], self.as_student(s))

    async def act(self, dossier_id, action: str, headers: dict, *, json=None, expect=200) -> dict:
        """POST a transition with the dossier's current version as If-Match."""
        row = await self.version(dossier_id)
        _, body = await self.call("POST", f"/v1/dossiers/{dossier_id}/{action}", headers, json=json, version=row,
                                  expect=expect)
        return body

    async def version(self, dossier_id) -> int:
        async with self.db.acquire() as conn:
            return await conn.fetchval("SELECT version FROM dossiers WHERE id = $1", uuid.UUID(str(dossier_id)))

    async def save_b(self, dossier_id, section: str, answers: dict, headers: dict, expect=200) -> dict:
        view = await self.get(dossier_id, headers)
        _, body = await self.call("PUT", f"/v1/dossiers/{dossier_id}/part-b/{section}", headers,
                                  json={"answers": answers}, version=view["versions"].get(section, 0), expect=expect)
        return body

    async def to_part_b(self, s: Student, mbo: Mbo, mentor: Staff | None = None) -> dict:
        d = await self.fill_part_a(s, await self.create(s, mbo), mbo)
        mentor = mentor or s.klass.mentors[0]
        return await self.act(d["id"], "submit", self.as_student(s), json={"mentor_id": str(mentor.staff_id)})

    async def to_agreement(self, s: Student, mbo: Mbo, assessment: dict | None = None) -> dict:
        d = await self.to_part_b(s, mbo)
        mentor = self.as_mentor(s.klass.mentors[0])
        await self.save_b(d["id"], "guidance", GUIDANCE, mentor)
        await self.save_b(d["id"], "assessment_advice", assessment or ASSESSMENT, mentor)
        return await self.act(d["id"], "send-part-b", mentor)

    async def to_completed(self, s: Student, mbo: Mbo, assessment: dict | None = None) -> dict:
        d = await self.to_agreement(s, mbo, assessment)
        return await self.act(d["id"], "complete", self.as_student(s))

    async def mails_to(self, address: str, count: int = 1, timeout: float = 15):
        """Wait until ``count`` mails to ``address`` arrived at the sink; return them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.sink.messages_to(address)) < count:
            if loop.time() > deadline:
                raise TimeoutError(f"{len(self.sink.messages_to(address))} of {count} mails to {address}: "
                                   f"{[m['Subject'] for m in self.sink.messages]}")
            await asyncio.sleep(0.05)
        return self.sink.messages_to(address)

    async def event(self, event_type: str, subject: str, timeout: float = 10) -> dict:
        """Wait for the event of a type about a dossier on the broker; the envelope."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for envelope in self.events.received:
                if envelope["type"] == event_type and envelope["subject"] == str(subject):
                    return envelope
            if loop.time() > deadline:
                raise TimeoutError(f"no {event_type} for {subject}")
            await asyncio.sleep(0.05)

    async def probe(self, *keys: str) -> Probe:
        return await Probe.bind(self.broker, *keys)


def token_from(mail) -> str:
    match = re.search(r"token=([A-Za-z0-9_\-.]+)", mail.get_body().get_content())
    assert match, mail.get_body().get_content()
    return match.group(1)


async def open_world(stack: AsyncExitStack, name: str, **dossier_overrides) -> World:
    tag = f"{name}_{uuid.uuid4().hex[:8]}"
    exchange = env.run_exchange(tag)
    sink = await stack.enter_async_context(SmtpSink())
    issuer = await stack.enter_async_context(token_issuer())
    b = await stack.enter_async_context(broker(exchange))
    notification_app = make_notification(settings(NotificationSettings, f"no_{tag}", smtp_port=sink.port,
                                                  event_exchange=exchange, delivery_poll_seconds=0.2))
    await stack.enter_async_context(serve(notification_app))
    values = dict(event_exchange=exchange, auth_jwks_url=issuer.jwks_url, reminder_auto=False,
                  public_base_url="https://portal.example.nl", db_pool_max=20)
    values.update(dossier_overrides)
    dossier_app = make_dossier(settings(DossierSettings, f"do_{tag}", **values))
    client = await stack.enter_async_context(serve(dossier_app))
    w = World(client, notification_app, sink, issuer, exchange, b)
    w.events = await Probe.bind(b, "dossier.#")  # every dossier event is routable, and can be looked at
    return w


@asynccontextmanager
async def beside(world: World, tag: str) -> AsyncIterator[Neighbours]:
    """Document (asking this world's dossier service) and notification, on the world's exchange and
    token issuer, for tests that cover all three APIs."""
    common = dict(auth_jwks_url=world.issuer.jwks_url, event_exchange=world.exchange)
    document = make_document(settings(DocumentSettings, f"{tag}_doc_{uuid.uuid4().hex[:8]}", render_processes=1,
                                      dossier_url=str(world.client.make_url("")).rstrip("/"), **common))
    notification = make_notification(settings(NotificationSettings, f"{tag}_no_{uuid.uuid4().hex[:8]}", **common))
    async with serve(document) as doc_client, serve(notification) as notification_client:
        yield Neighbours(document, doc_client, notification, notification_client)


@dataclass
class Neighbours:
    document: object
    document_client: TestClient
    notification: object
    notification_client: TestClient


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
