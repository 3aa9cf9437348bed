"""The daily digest for MBO staff (issue 12.6), against real PostgreSQL, RabbitMQ and an SMTP sink:
what notification learns from dossier.completed, identity.staff_changed and identity.school_changed
becomes one mail per staff member per institution per day, with the number of new dossiers only."""
from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, timedelta

from services.notification import digest
from services.notification.app import WORKER, make_app
from services.notification.settings import NotificationSettings
from shared.app import CONSUMER, DB, SETTINGS
from shared.devtools.smtp_sink import SmtpSink
from shared.events.dossier_events import DossierCompleted
from shared.events.envelope import Envelope
from shared.events.identity_events import SchoolChanged, StaffChanged
from tests.support.apps import serve, settings
from tests.support.event_samples import sample_payload

DAY = date(2026, 11, 30)
BASE = "https://doorstroom.example"


def _env(event_type: str, payload, time: datetime | None = None) -> Envelope:
    return Envelope(source="/test", type=event_type, data=payload.model_dump(mode="json"),
                    **({"time": time} if time else {}))


def completed(institution_id: uuid.UUID) -> Envelope:
    data = sample_payload(DossierCompleted).model_copy(update={"dossier_id": uuid.uuid4(),
                                                               "institution_id": institution_id})
    return _env("dossier.completed", data)


def staff(institution_id: uuid.UUID | None, email: str, *, role: str = "mbo_staff", active: bool = True,
          daily_digest: bool = True, staff_id: uuid.UUID | None = None, time: datetime | None = None) -> Envelope:
    return _env("identity.staff_changed", StaffChanged(
        staff_id=staff_id or uuid.uuid4(), account_id=uuid.uuid4(), school_id=institution_id, role=role,
        name=email.split("@")[0].title(), email=email, active=active, daily_digest=daily_digest), time)


def institution(institution_id: uuid.UUID, name: str) -> Envelope:
    return _env("identity.school_changed", SchoolChanged(school_id=institution_id, kind="mbo", name=name))


def app_for(db: str, unique: str, port: int):
    return make_app(settings(NotificationSettings, db, smtp_port=port, event_exchange=f"ex.{unique}",
                             delivery_poll_seconds=60, digest_auto=False, public_base_url=BASE + "/"))


async def send_all(app) -> None:
    while await app[WORKER].run_once():
        pass


async def deliveries(app) -> list:
    async with app[DB].acquire() as conn:
        return await conn.fetch("SELECT recipient, status, event_id FROM deliveries WHERE template = $1 "
                                "ORDER BY recipient", digest.TEMPLATE)


async def test_one_digest_per_institution_per_day_with_the_number_only(unique):
    utrecht, oost = uuid.uuid4(), uuid.uuid4()
    a, b, off, gone, other = (f"{who}-{unique}@mbo.example" for who in ("anna", "bram", "uit", "weg", "oost"))
    async with SmtpSink() as sink:
        app = app_for(f"digest_{unique}", unique, sink.port)
        async with serve(app):
            app[WORKER].pause()
            process = app[CONSUMER].process
            for env in (institution(utrecht, "MBO Utrecht"), institution(oost, "ROC Oost"),
                        staff(utrecht, a), staff(utrecht, b), staff(utrecht, off, daily_digest=False),
                        staff(utrecht, gone, active=False), staff(oost, other),
                        staff(utrecht, f"mentor-{unique}@vo.example", role="mentor")):
                assert await process(env) is True
            envs = [completed(utrecht) for _ in range(3)] + [completed(oost)]
            for env in envs:
                assert await process(env) is True
            assert await process(envs[0]) is False, "a redelivered dossier.completed is not counted twice"

            made = await digest.run_daily(app, DAY)
            assert made == {"institutions": 2, "dossiers": 4, "mails": 3}
            await send_all(app)
            mails = {m["To"]: m for m in sink.messages}
            assert sorted(mails) == sorted([a, b, other]), "opted out, inactive and VO staff get nothing"
            mail = mails[a]
            body = mail.get_body().get_content()
            assert mail["Subject"] == "3 nieuwe doorstroomdossiers voor MBO Utrecht"
            assert "Beste Anna" in body and "zijn er 3 nieuwe afgeronde doorstroomdossiers voor MBO Utrecht" in body
            assert f"{BASE}/mbo" in body.splitlines(), "the link to the inbox, on the configured portal"
            assert "Dagelijks overzicht per e-mail" in body and f"{BASE}/account/meldingen" in body
            assert "Met vriendelijke groet" in body
            student = sample_payload(DossierCompleted).student
            for personal in (student.roepnaam, student.achternaam, str(student.student_id)):
                assert personal not in body, "nothing about a student in the digest"
            assert mails[other]["Subject"] == "1 nieuw doorstroomdossier voor ROC Oost"
            assert "is er 1 nieuw afgerond doorstroomdossier voor ROC Oost" in mails[other].get_body().get_content()
            assert all(r["status"] == "sent" for r in await deliveries(app)), "through the deliveries table"
            async with app[DB].acquire() as conn:
                assert await conn.fetchval("SELECT count(*) FROM deliveries WHERE template = $1 AND context <> '{}'",
                                           digest.TEMPLATE) == 0, "the context is emptied once sent"

            # the same day again: nothing, even with a new dossier (it waits for tomorrow)
            assert await process(completed(utrecht)) is True
            assert await digest.run_daily(app, DAY) is None
            async with app[DB].acquire() as conn, conn.transaction():  # past the day's claim: the digest row holds
                assert await digest.make_digests(conn, app[SETTINGS], DAY) == {
                    "institutions": 0, "dossiers": 0, "mails": 0}
            await send_all(app)
            assert len(sink.messages) == 3

            # the next day: the one that waited; the day after, nothing new: no mail
            assert await digest.run_daily(app, DAY + timedelta(days=1)) == {
                "institutions": 1, "dossiers": 1, "mails": 2}
            await send_all(app)
            assert sorted(m["To"] for m in sink.messages[3:]) == sorted([a, b])
            assert sink.messages[3]["Subject"] == "1 nieuw doorstroomdossier voor MBO Utrecht"
            assert await digest.run_daily(app, DAY + timedelta(days=2)) == {
                "institutions": 0, "dossiers": 0, "mails": 0}
            await send_all(app)
            await asyncio.sleep(0.3)
            assert len(sink.messages) == 5


async def test_the_choice_and_the_staff_list_follow_identity_in_order(unique):
    """Switching off and on again takes effect; an older event that arrives late undoes nothing;
    someone who leaves keeps no address in notification."""
    utrecht, anna_id = uuid.uuid4(), uuid.uuid4()
    anna = f"anna-{unique}@mbo.example"
    now = datetime.now(UTC)
    async with SmtpSink() as sink:
        app = app_for(f"digest_pref_{unique}", unique, sink.port)
        async with serve(app):
            app[WORKER].pause()
            process = app[CONSUMER].process
            await process(staff(utrecht, anna, staff_id=anna_id, daily_digest=False, time=now))
            await process(staff(utrecht, anna, staff_id=anna_id, daily_digest=True, time=now - timedelta(hours=1)))
            await process(completed(utrecht))
            assert await digest.run_daily(app, DAY) == {"institutions": 1, "dossiers": 1, "mails": 0}
            assert await deliveries(app) == [], "switched off, and the late older event did not undo it"

            await process(staff(utrecht, anna, staff_id=anna_id, daily_digest=True, time=now + timedelta(minutes=1)))
            await process(completed(utrecht))
            await process(completed(utrecht))
            assert await digest.run_daily(app, DAY + timedelta(days=1)) == {
                "institutions": 1, "dossiers": 2, "mails": 1}, "on again: only what came since the last digest"
            await send_all(app)
            assert [m["Subject"] for m in sink.messages] == ["2 nieuwe doorstroomdossiers"], \
                "without a known name the mail still says what it is"

            await process(staff(utrecht, anna, staff_id=anna_id, active=False, time=now + timedelta(minutes=2)))
            async with app[DB].acquire() as conn:
                row = await conn.fetchrow("SELECT email, name, active FROM digest_staff WHERE staff_id = $1", anna_id)
            assert row["active"] is False and row["email"] == "" and row["name"] == ""


async def test_two_workers_racing_make_one_mail_per_person(unique):
    utrecht = uuid.uuid4()
    people = [f"p{i}-{unique}@mbo.example" for i in range(4)]
    async with SmtpSink() as sink, AsyncExitStack() as stack:
        db = f"digest_race_{unique}"
        apps = [app_for(db, unique, sink.port) for _ in range(2)]
        for app in apps:
            await stack.enter_async_context(serve(app))
            app[WORKER].pause()
        first, second = apps
        for person in people:
            await first[CONSUMER].process(staff(utrecht, person))
        for _ in range(2):
            await second[CONSUMER].process(completed(utrecht))
        for attempt in range(3):  # the same day, many times over, from both processes at once
            results = await asyncio.gather(*(digest.run_daily(app, DAY) for app in apps for _ in range(3)))
            made = [r for r in results if r is not None]
            assert made == ([{"institutions": 1, "dossiers": 2, "mails": 4}] if attempt == 0 else [])
        await asyncio.gather(send_all(first), send_all(second))
        assert sorted(m["To"] for m in sink.messages) == sorted(people)
        rows = await deliveries(first)
        assert len(rows) == 4 and len({r["event_id"] for r in rows}) == 1


async def test_the_automatic_run_sends_todays_digest_once(unique):
    """Switched on (the hour passed), a process makes today's digest by itself, once."""
    utrecht = uuid.uuid4()
    anna = f"anna-{unique}@mbo.example"
    db = f"digest_auto_{unique}"
    async with SmtpSink() as sink:
        app = app_for(db, unique, sink.port)
        async with serve(app):  # what notification learned before the run's hour
            await app[CONSUMER].process(staff(utrecht, anna))
            await app[CONSUMER].process(completed(utrecht))
        auto = make_app(settings(NotificationSettings, db, smtp_port=sink.port, event_exchange=f"ex.{unique}",
                                 digest_auto=True, digest_hour=0, digest_check_seconds=0.1))
        async with serve(auto):
            [mail] = await sink.wait_for(1)
            assert mail["To"] == anna and mail["Subject"] == "1 nieuw doorstroomdossier"
            await asyncio.sleep(0.5)  # several more checks: the day is done
            assert len(sink.messages) == 1
