"""The retention rule, applied once a day by one process (the rule in dates: ``domain/retention.py``).

This service decides for every service: it knows when a dossier was completed, and from identity's
events when a student left (``left_on``) and each school's rule (``retention_years``). A run:

1. plans what becomes due within the notice period (``retention_plan``): a student who left, with
   all their dossiers; a completed dossier of a student still at school. A planned row whose reason
   no longer holds goes (the student is back on the roster, the school lengthened its rule);
2. tells each school once what will be erased, and from when: ``dossier.retention_notice`` (the
   notification service mails the school admins; the portal lists the dossiers and students);
3. erases what is due and was noticed at least ``retention_notice_days`` ago, per school in one
   transaction: the dossiers with their sections, history, parent links, reminders and access log,
   the student-specific part B and the roster copy, and publishes ``dossier.erased`` for each dossier
   (the document service deletes its PDFs) and ``dossier.student_erased`` for each student (identity
   erases the roster record and the account). What stays is the audit line afterwards: a
   ``retention_log`` row per school and run, and an ``erase`` line in the access log, in counts only.
"""
from __future__ import annotations

import logging
import uuid
from datetime import date, timedelta

import asyncpg
from aiohttp import web

from services.dossier.context import settings_of, today
from services.dossier.domain.retention import first_erasure
from shared.app import DB, OUTBOX
from shared.events.dossier_events import DossierErased, RetentionNotice, StudentErased
from shared.logs import log_fields
from shared.periodic import claim_day, periodic_when

log = logging.getLogger(__name__)
JOB = "retention"
LEFT = "NOT s.active AND s.left_on IS NOT NULL"
COMPLETED_ON = "(d.completed_at AT TIME ZONE 'Europe/Amsterdam')::date"


async def run_daily(app: web.Application, day: date | None = None) -> dict | None:
    """Today's run, if this process wins it (None when another process did it today). ``day``: the
    day the run counts as (tests move the clock)."""
    day = day or today()
    async with app[DB].acquire(timeout=10) as conn, conn.transaction():
        won = await claim_day(conn, JOB, day)
    if not won:
        return None
    return await run(app, day)


async def run(app: web.Application, day: date) -> dict:
    """Plan, notice and erase as of ``day``; answers the counts (for the log and the tests)."""
    notice = timedelta(days=settings_of(app).retention_notice_days)
    async with app[DB].acquire(timeout=10) as conn:
        async with conn.transaction():
            planned = await plan(conn, day, notice)
        async with conn.transaction():
            noticed = await send_notices(app, conn, day, notice)
        schools = [r["school_id"] for r in await conn.fetch(
            """SELECT DISTINCT school_id FROM retention_plan
               WHERE noticed_on IS NOT NULL AND due_on <= $1 AND noticed_on + $2::interval <= $1""", day, notice)]
        erased = {"dossiers": 0, "students": 0, "student_dossiers": 0}
        for school_id in schools:
            async with conn.transaction():
                done = await erase_school(app, conn, school_id, day, notice)
            for k, v in done.items():
                erased[k] += v
    result = {"planned": planned, "schools_noticed": noticed, **erased}
    if any(result.values()):
        log.info("retention run", extra=log_fields(day=day.isoformat(), **result))
    return result


async def plan(conn: asyncpg.Connection, day: date, notice: timedelta) -> int:
    """Bring ``retention_plan`` up to date; answers how many rows were added."""
    horizon = day + notice
    # what no longer holds goes: a student back on the roster, a dossier gone, a rule made longer
    await conn.execute(
        """DELETE FROM retention_plan p WHERE p.kind = 'student' AND NOT EXISTS (
               SELECT 1 FROM students s JOIN schools sc ON sc.school_id = s.school_id
               WHERE s.student_id = p.subject_id AND """ + LEFT + """
                 AND retention_due(s.left_on, sc.retention_years) <= $1)""", horizon)
    await conn.execute(
        """DELETE FROM retention_plan p WHERE p.kind = 'dossier' AND NOT EXISTS (
               SELECT 1 FROM dossiers d JOIN schools sc ON sc.school_id = d.school_id
               WHERE d.id = p.subject_id AND d.state = 'completed'
                 AND retention_due(""" + COMPLETED_ON + """, sc.retention_years) <= $1)""", horizon)
    students = await conn.execute(
        """INSERT INTO retention_plan (kind, subject_id, school_id, student_id, basis_on, due_on)
           SELECT 'student', s.student_id, s.school_id, s.student_id, s.left_on,
                  retention_due(s.left_on, sc.retention_years)
           FROM students s JOIN schools sc ON sc.school_id = s.school_id
           WHERE """ + LEFT + """ AND retention_due(s.left_on, sc.retention_years) <= $1
           ON CONFLICT (kind, subject_id) DO UPDATE SET basis_on = EXCLUDED.basis_on, due_on = EXCLUDED.due_on
           WHERE (retention_plan.basis_on, retention_plan.due_on) IS DISTINCT FROM (EXCLUDED.basis_on,
                                                                                   EXCLUDED.due_on)""", horizon)
    # a student who goes covers their dossiers: those are not planned (nor counted) twice
    await conn.execute(
        """DELETE FROM retention_plan p WHERE p.kind = 'dossier' AND EXISTS (
               SELECT 1 FROM retention_plan q WHERE q.kind = 'student' AND q.subject_id = p.student_id)""")
    dossiers = await conn.execute(
        """INSERT INTO retention_plan (kind, subject_id, school_id, student_id, basis_on, due_on)
           SELECT 'dossier', d.id, d.school_id, d.student_id, """ + COMPLETED_ON + """,
                  retention_due(""" + COMPLETED_ON + """, sc.retention_years)
           FROM dossiers d JOIN schools sc ON sc.school_id = d.school_id
           WHERE d.state = 'completed' AND retention_due(""" + COMPLETED_ON + """, sc.retention_years) <= $1
             AND NOT EXISTS (SELECT 1 FROM retention_plan q WHERE q.kind = 'student' AND q.subject_id = d.student_id)
           ON CONFLICT (kind, subject_id) DO UPDATE SET due_on = EXCLUDED.due_on
           WHERE retention_plan.due_on IS DISTINCT FROM EXCLUDED.due_on""", horizon)
    return _count(students) + _count(dossiers)


async def send_notices(app: web.Application, conn: asyncpg.Connection, day: date, notice: timedelta) -> int:
    """One dossier.retention_notice per school with rows not noticed yet; answers how many schools."""
    groups = await conn.fetch(
        """SELECT p.school_id, min(p.due_on) AS due_on, count(*) FILTER (WHERE p.kind = 'dossier') AS dossiers,
                  count(*) FILTER (WHERE p.kind = 'student') AS students, sc.name, sc.retention_years
           FROM retention_plan p JOIN schools sc ON sc.school_id = p.school_id
           WHERE p.noticed_on IS NULL GROUP BY p.school_id, sc.name, sc.retention_years""")
    base = settings_of(app).public_base_url.rstrip("/")
    for g in groups:
        recipients = [r["email"] for r in await conn.fetch(
            """SELECT DISTINCT email, role FROM staff WHERE school_id = $1 AND active
                  AND role IN ('school_admin', 'counsellor') ORDER BY role DESC, email""", g["school_id"])
            if r["role"] == "school_admin"]
        if not recipients:  # no school admin: the counsellors hear it
            recipients = [r["email"] for r in await conn.fetch(
                "SELECT DISTINCT email FROM staff WHERE school_id = $1 AND active AND role = 'counsellor' "
                "ORDER BY email", g["school_id"])]
        if not recipients:
            log.warning("retention notice without recipients", extra=log_fields(school_id=str(g["school_id"])))
        await app[OUTBOX].add(conn, RetentionNotice(
            school_id=g["school_id"], school_name=g["name"], retention_years=g["retention_years"],
            erase_on=first_erasure(g["due_on"], day, notice.days), dossiers=g["dossiers"], students=g["students"],
            recipients=recipients, overview_url=f"{base}/beheer/bewaartermijn"), subject=str(g["school_id"]))
        await conn.execute("UPDATE retention_plan SET noticed_on = $2 WHERE school_id = $1 AND noticed_on IS NULL",
                           g["school_id"], day)
    return len(groups)


async def erase_school(app: web.Application, conn: asyncpg.Connection, school_id: uuid.UUID, day: date,
                       notice: timedelta) -> dict[str, int]:
    """Erase the school's due rows (in the caller's transaction) and write the audit line."""
    outbox = app[OUTBOX]
    rows = await conn.fetch(
        """DELETE FROM retention_plan WHERE school_id = $1 AND noticed_on IS NOT NULL AND due_on <= $2
               AND noticed_on + $3::interval <= $2 RETURNING *""", school_id, day, notice)
    student_ids = [r["subject_id"] for r in rows if r["kind"] == "student"]
    # the reason must still hold now (the plan is a day old at most; the roster may have moved since)
    students = await conn.fetch(
        f"""SELECT s.student_id, s.account_id FROM students s WHERE s.student_id = ANY($1::uuid[]) AND {LEFT}
            FOR UPDATE""", student_ids)
    dossiers = await conn.fetch(
        """SELECT d.id, d.student_id, d.institution_id, d.state = 'completed' AND d.student_id <> ALL($2::uuid[])
                  AS own_term
           FROM dossiers d WHERE d.student_id = ANY($2::uuid[]) OR (d.id = ANY($1::uuid[]) AND d.state = 'completed')
           FOR UPDATE""",
        [r["subject_id"] for r in rows if r["kind"] == "dossier"], [s["student_id"] for s in students])
    now = await conn.fetchval("SELECT now()")
    ids = [d["id"] for d in dossiers]
    leaving = [s["student_id"] for s in students]
    await conn.execute("DELETE FROM audit_log WHERE dossier_id = ANY($1::uuid[]) OR student_id = ANY($2::uuid[])",
                       ids, leaving)
    await conn.execute("DELETE FROM dossiers WHERE id = ANY($1::uuid[])", ids)  # sections, history, links, reminders
    await conn.execute("DELETE FROM student_part_b WHERE student_id = ANY($1::uuid[])", leaving)
    await conn.execute("DELETE FROM student_accounts WHERE student_id = ANY($1::uuid[])", leaving)
    await conn.execute("DELETE FROM students WHERE student_id = ANY($1::uuid[])", leaving)
    await outbox.add_many(conn, [(DossierErased(
        dossier_id=d["id"], student_id=d["student_id"], school_id=school_id, institution_id=d["institution_id"],
        reason="completed" if d["own_term"] else "student_left", erased_at=now), str(d["id"])) for d in dossiers])
    await outbox.add_many(conn, [(StudentErased(student_id=s["student_id"], school_id=school_id,
                                                account_id=s["account_id"], erased_at=now), str(s["student_id"]))
                                 for s in students])
    counts = {"dossiers": sum(1 for d in dossiers if d["own_term"]), "students": len(students),
              "student_dossiers": sum(1 for d in dossiers if not d["own_term"])}
    if any(counts.values()):
        years = await conn.fetchval("SELECT retention_years FROM schools WHERE school_id = $1", school_id)
        await conn.execute(
            """INSERT INTO retention_log (school_id, run_on, retention_years, dossiers, students, student_dossiers,
                                          noticed_on) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            school_id, day, years or 2, counts["dossiers"], counts["students"], counts["student_dossiers"],
            min(r["noticed_on"] for r in rows))
        await conn.execute(  # the access log's line: which school, how many, no one's id
            """INSERT INTO audit_log (kind, actor_role, actor_ref, what, purpose)
               VALUES ('erase', 'system', $1, $2, 'retention')""", str(school_id),
            f"retention:dossiers={counts['dossiers']},students={counts['students']},"
            f"student_dossiers={counts['student_dossiers']}")
    return counts


def _count(status: str) -> int:
    return int(status.split()[-1])


retention_task = periodic_when(  # every process checks now and then; the first one each day does the run
    "retention", lambda app: settings_of(app).retention_auto, lambda app: settings_of(app).retention_check_seconds, run_daily)
