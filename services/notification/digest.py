"""The daily digest for MBO staff without an integration (issue 12.6): once a day, for every
institution that received completed dossiers since its previous digest, one mail to each of its
MBO staff who have not switched it off, with the number of new dossiers and a link to the inbox.

What it knows comes from events, kept in its own tables (migration 003):

- ``dossier.completed``: the dossier id, its institution and when (no student data);
- ``identity.staff_changed``: the MBO staff of each institution, their address and their choice
  (``daily_digest``, switched on the portal's page "E-mailmeldingen", stored by identity);
- ``identity.school_changed``: the institution's name, for the mail.

Once a day: every process checks every ``digest_check_seconds``; from ``digest_hour`` (Europe/
Amsterdam) the first one to claim the day (``shared.periodic.claim_day``) makes the digests, in one
transaction with that claim. A ``digests`` row per institution and day (its primary key) makes each
institution's digest exactly once, and its id is the deliveries' event id: the mails go through the
deliveries table like every other mail (retries, failures, the operator's view)."""
from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
from aiohttp import web

from services.notification.deliveries import create_delivery
from services.notification.domain import digest as rules
from services.notification.settings import NotificationSettings
from services.notification.templates import SIGNATURE, Mail, template
from shared.app import DB, SETTINGS
from shared.consumer import Subscription
from shared.events.dossier_events import DossierCompleted
from shared.events.envelope import Envelope
from shared.events.identity_events import SchoolChanged, StaffChanged
from shared.logs import log_fields
from shared.periodic import claim_day, periodic_when

log = logging.getLogger(__name__)

JOB = "mbo_digest"
TEMPLATE = "mbo_daily_digest"
INBOX_PATH = "/mbo"
PREFERENCES_PATH = "/account/meldingen"  # the portal's page with "Dagelijks overzicht per e-mail"
KEEP_DAYS = 90  # counted dossiers and old digests are forgotten after this


@template(TEMPLATE)
def daily_digest(ctx: dict) -> Mail:
    return Mail(subject=rules.subject(ctx["count"], ctx.get("institution_name")),
                body=rules.body(name=ctx["name"], count=ctx["count"], institution=ctx.get("institution_name"),
                                inbox_url=ctx["inbox_url"], preferences_url=ctx["preferences_url"]) + SIGNATURE)


# --- what the digest learns from events (idempotent: replays and redeliveries change nothing) -------


async def on_dossier_completed(conn: asyncpg.Connection, env: Envelope, data: DossierCompleted) -> None:
    await conn.execute(
        """INSERT INTO digest_dossiers (dossier_id, institution_id, completed_at) VALUES ($1, $2, $3)
           ON CONFLICT (dossier_id) DO NOTHING""", data.dossier_id, data.institution_id, data.completed_at)


async def on_staff_changed(conn: asyncpg.Connection, env: Envelope, data: StaffChanged) -> None:
    """MBO staff only; an older event arriving after a newer one changes nothing. Someone no longer
    active keeps no address here."""
    if data.role != "mbo_staff":
        await conn.execute("DELETE FROM digest_staff WHERE staff_id = $1", data.staff_id)
        return
    active = data.active and data.school_id is not None
    await conn.execute(
        """INSERT INTO digest_staff (staff_id, institution_id, name, email, active, daily_digest, changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (staff_id) DO UPDATE SET institution_id = EXCLUDED.institution_id, name = EXCLUDED.name,
               email = EXCLUDED.email, active = EXCLUDED.active, daily_digest = EXCLUDED.daily_digest,
               changed_at = EXCLUDED.changed_at
           WHERE digest_staff.changed_at <= EXCLUDED.changed_at""",
        data.staff_id, data.school_id, data.name if active else "", str(data.email).lower() if active else "",
        active, data.daily_digest, env.time)


async def on_school_changed(conn: asyncpg.Connection, env: Envelope, data: SchoolChanged) -> None:
    if data.kind != "mbo":
        return
    await conn.execute(
        """INSERT INTO digest_institutions (institution_id, name, changed_at) VALUES ($1, $2, $3)
           ON CONFLICT (institution_id) DO UPDATE SET name = EXCLUDED.name, changed_at = EXCLUDED.changed_at
           WHERE digest_institutions.changed_at <= EXCLUDED.changed_at""", data.school_id, data.name, env.time)


SUBSCRIPTIONS = [
    Subscription("dossier.completed", on_dossier_completed),
    Subscription("identity.staff_changed", on_staff_changed),
    Subscription("identity.school_changed", on_school_changed),
]


# --- the daily run ----------------------------------------------------------------------------


async def run_daily(app: web.Application, day: date | None = None) -> dict | None:
    """Today's digests, if they are due (from ``digest_hour``) and this process wins the day; None
    otherwise. ``day``: the day the run counts as, due at once (tests and operators move the clock)."""
    settings: NotificationSettings = app[SETTINGS]  # type: ignore[assignment]
    if day is None:
        day = rules.due_day(datetime.now(UTC), settings.digest_hour)
        if day is None:
            return None
    async with app[DB].acquire(timeout=10) as conn, conn.transaction():
        if not await claim_day(conn, JOB, day):
            return None
        result = await make_digests(conn, settings, day)
    log.info("mbo digests made", extra=log_fields(day=day.isoformat(), **result))
    return result


async def make_digests(conn: asyncpg.Connection, settings: NotificationSettings, day: date) -> dict:
    """In the caller's transaction: one digest per institution with uncounted dossiers, unless it
    had one on ``day``; answers the counts (institutions, dossiers, mails)."""
    base = settings.public_base_url.rstrip("/")
    institutions = [r["institution_id"] for r in await conn.fetch(
        "SELECT DISTINCT institution_id FROM digest_dossiers WHERE digest_on IS NULL ORDER BY institution_id")]
    made = {"institutions": 0, "dossiers": 0, "mails": 0}
    for institution_id in institutions:
        digest_id = await conn.fetchval(
            """INSERT INTO digests (id, institution_id, day, dossiers, recipients) VALUES ($1, $2, $3, 0, 0)
               ON CONFLICT (institution_id, day) DO NOTHING RETURNING id""", uuid.uuid4(), institution_id, day)
        if digest_id is None:  # this institution had its digest of the day: the rest waits for tomorrow's
            continue
        count = _count(await conn.execute(
            "UPDATE digest_dossiers SET digest_on = $2 WHERE institution_id = $1 AND digest_on IS NULL",
            institution_id, day))
        name = await conn.fetchval("SELECT name FROM digest_institutions WHERE institution_id = $1", institution_id)
        staff = await conn.fetch(
            """SELECT DISTINCT ON (email) name, email FROM digest_staff
               WHERE institution_id = $1 AND active AND daily_digest AND email <> '' ORDER BY email""",
            institution_id)
        for person in staff:
            await create_delivery(conn, event_id=digest_id, template=TEMPLATE, recipient=person["email"], context={
                "name": person["name"], "count": count, "institution_name": name,
                "inbox_url": base + INBOX_PATH, "preferences_url": base + PREFERENCES_PATH})
        await conn.execute("UPDATE digests SET dossiers = $2, recipients = $3 WHERE id = $1",
                           digest_id, count, len(staff))
        made["institutions"] += 1
        made["dossiers"] += count
        made["mails"] += len(staff)
    await conn.execute("DELETE FROM digest_dossiers WHERE digest_on < $1", day - timedelta(days=KEEP_DAYS))
    await conn.execute("DELETE FROM digests WHERE day < $1", day - timedelta(days=KEEP_DAYS))
    return made


def _count(status: str) -> int:
    return int(status.split()[-1])


digest_task = periodic_when(  # every process checks now and then; the first one each day makes the digests
    "mbo-digest", lambda app: app[SETTINGS].digest_auto, lambda app: app[SETTINGS].digest_check_seconds,
    run_daily)
