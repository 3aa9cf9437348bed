"""Reminders for students who stay too long in the agreement step: on request (mentor,
counsellor) and automatically, once a day by one process, at most one per dossier per day."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from services.dossier import store
from services.dossier.actors import Actor
from services.dossier.context import dossier_url, now, settings_of, today
from shared.app import DB, OUTBOX
from shared.events.dossier_events import AgreementReminderIssued
from shared.logs import log_fields
from shared.periodic import claim_day, periodic_when

log = logging.getLogger(__name__)

JOB = "agreement_reminders"
SYSTEM = Actor(role="system", account_id=None, ref=None, name="Doorstroom (automatisch)")


async def issue_reminder(app: web.Application, conn: asyncpg.Connection, row: Mapping[str, Any], *,
                         automatic: bool, actor: Actor, day: date) -> bool:
    """Record and publish one reminder; False when this dossier had one today already."""
    fresh = await conn.fetchval(
        """INSERT INTO reminders (dossier_id, day, automatic, requested_by) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING RETURNING true""", row["id"], day, automatic, actor.account_id)
    if not fresh:
        return False
    waiting = max(0, (now() - row["state_changed_at"]).days)
    await store.history(conn, row["id"], actor, "reminder_sent", row["state"], row["state"],
                        {"automatic": automatic, "waiting_days": waiting})
    await store.audit(conn, actor, "change", "reminder_sent", dossier_id=row["id"], student_id=row["student_id"])
    await app[OUTBOX].add(conn, AgreementReminderIssued(
        dossier_id=row["id"], student_id=row["student_id"], student_email=row["student_email"],
        student_name=row["roepnaam"] or "leerling", waiting_days=waiting, automatic=automatic,
        mentor_name=row["mentor_name"], dossier_url=dossier_url(app, row["id"])), subject=str(row["id"]))
    return True


async def run_daily(app: web.Application, day: date | None = None) -> int | None:
    """Today's automatic reminders, if this process wins today's run; None when another process
    did it (or does it now). Safe with many processes: the job row is the election."""
    settings = settings_of(app)
    day = day or today()
    async with app[DB].acquire(timeout=10) as conn, conn.transaction():
        if not await claim_day(conn, JOB, day):
            return None
        rows = await conn.fetch(
            """SELECT d.id, d.student_id, d.state, d.state_changed_at, d.mentor_name,
                      """ + store.STUDENT_EMAIL + """ AS student_email, s.roepnaam
               FROM dossiers d LEFT JOIN students s ON s.student_id = d.student_id
               WHERE d.state = 'agreement' AND NOT d.archived AND d.state_changed_at < now() - $1::interval
                 AND coalesce(s.active, true)
                 AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.dossier_id = d.id AND r.day > $2::date - $3::int)
               ORDER BY d.state_changed_at""",
            timedelta(days=settings.agreement_overdue_days), day, settings.reminder_repeat_days)
        sent = 0
        for row in rows:
            sent += await issue_reminder(app, conn, row, automatic=True, actor=SYSTEM, day=day)
    log.info("agreement reminders sent", extra=log_fields(count=sent, day=day.isoformat()))
    return sent


reminder_task = periodic_when(  # every process checks now and then; the first one each day does the run
    "agreement-reminders", lambda app: settings_of(app).reminder_auto, lambda app: settings_of(app).reminder_check_seconds, run_daily)
