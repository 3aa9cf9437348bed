"""The dossier service's own copy of the roster, built from identity's events (idempotent upserts;
an older event never overwrites a newer one: each row keeps the time of its event)."""
from __future__ import annotations

import asyncpg

from services.dossier.domain.names import search_name, sort_name
from shared.consumer import Subscription
from shared.events.envelope import Envelope
from shared.events.identity_events import (
    ActivationCodeRedeemed,
    ClassMentorsChanged,
    SchoolChanged,
    StaffChanged,
    StudentChanged,
)


async def on_school_changed(conn: asyncpg.Connection, env: Envelope, data: SchoolChanged) -> None:
    fresh = await conn.fetchval(
        """INSERT INTO schools (school_id, kind, name, brin, city, participates, parent_rule, source_time,
                               retention_years)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (school_id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name,
               brin = EXCLUDED.brin, city = EXCLUDED.city, participates = EXCLUDED.participates,
               parent_rule = EXCLUDED.parent_rule, source_time = EXCLUDED.source_time,
               retention_years = EXCLUDED.retention_years
           WHERE schools.source_time <= EXCLUDED.source_time
           RETURNING true""",
        data.school_id, data.kind, data.name, data.brin, data.city, data.participates, data.parent_rule, env.time,
        data.retention_years)
    if not fresh:
        return
    # the catalogue comes whole: what is not in it any more is no longer offered (old dossiers keep it)
    await conn.executemany(
        """INSERT INTO locations (location_id, institution_id, name, address, city) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (location_id) DO UPDATE SET institution_id = EXCLUDED.institution_id, name = EXCLUDED.name,
               address = EXCLUDED.address, city = EXCLUDED.city""",
        [(loc.location_id, data.school_id, loc.name, loc.address, loc.city) for loc in data.locations])
    await conn.executemany(
        """INSERT INTO programmes (programme_id, institution_id, name, crebo, level, pathway, location_id, offered,
                                  profile)
           VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8)
           ON CONFLICT (programme_id) DO UPDATE SET institution_id = EXCLUDED.institution_id, name = EXCLUDED.name,
               crebo = EXCLUDED.crebo, level = EXCLUDED.level, pathway = EXCLUDED.pathway,
               location_id = EXCLUDED.location_id, offered = true, profile = EXCLUDED.profile""",
        [(p.programme_id, data.school_id, p.name, p.crebo, p.level, p.pathway, p.location_id, p.profile)
         for p in data.programmes])
    await conn.execute(
        "UPDATE programmes SET offered = false WHERE institution_id = $1 AND NOT (programme_id = ANY($2::uuid[]))",
        data.school_id, [p.programme_id for p in data.programmes])


async def on_student_changed(conn: asyncpg.Connection, env: Envelope, data: StudentChanged) -> None:
    await conn.execute(
        """INSERT INTO students (student_id, school_id, student_number, roepnaam, voornamen, tussenvoegsel,
               achternaam, date_of_birth, class_id, class_name, leerjaar, email, account_id, active,
               sort_name, search_name, source_time, account_email, left_on, parents)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
           ON CONFLICT (student_id) DO UPDATE SET school_id = EXCLUDED.school_id,
               student_number = EXCLUDED.student_number, roepnaam = EXCLUDED.roepnaam,
               voornamen = EXCLUDED.voornamen, tussenvoegsel = EXCLUDED.tussenvoegsel,
               achternaam = EXCLUDED.achternaam, date_of_birth = EXCLUDED.date_of_birth,
               class_id = EXCLUDED.class_id, class_name = EXCLUDED.class_name, leerjaar = EXCLUDED.leerjaar,
               email = EXCLUDED.email, account_id = coalesce(EXCLUDED.account_id, students.account_id),
               -- an event without the field (an older producer) keeps the address known
               account_email = coalesce(EXCLUDED.account_email, students.account_email),
               active = EXCLUDED.active, sort_name = EXCLUDED.sort_name, search_name = EXCLUDED.search_name,
               source_time = EXCLUDED.source_time, left_on = EXCLUDED.left_on,
               -- parents: null is "not told" (an older producer, a file without parent columns): keep them
               parents = coalesce(EXCLUDED.parents, students.parents)
           WHERE students.source_time <= EXCLUDED.source_time""",
        data.student_id, data.school_id, data.student_number, data.roepnaam, data.voornamen, data.tussenvoegsel,
        data.achternaam, data.date_of_birth, data.class_id, data.class_name, data.school_year,
        str(data.email).lower() if data.email else None, data.account_id, data.active,
        sort_name(data.roepnaam, data.tussenvoegsel, data.achternaam),
        search_name(data.roepnaam, data.voornamen, data.tussenvoegsel, data.achternaam), env.time,
        str(data.account_email).lower() if data.account_email else None, data.left_on,
        [p.model_dump(mode="json") for p in data.parents] if data.parents is not None else None)
    if data.account_id:
        await _link_account(conn, data.student_id, data.account_id)


async def _link_account(conn: asyncpg.Connection, student_id, account_id) -> None:
    await conn.execute(
        """INSERT INTO student_accounts (student_id, account_id) VALUES ($1, $2)
           ON CONFLICT (student_id) DO UPDATE SET account_id = EXCLUDED.account_id""", student_id, account_id)


async def on_code_redeemed(conn: asyncpg.Connection, env: Envelope, data: ActivationCodeRedeemed) -> None:
    # the students row first, then student_accounts: the order on_student_changed takes them in, so
    # the two handled at once for one student cannot deadlock (they did, under the demo load)
    await conn.execute("UPDATE students SET account_id = $2 WHERE student_id = $1", data.student_id, data.account_id)
    await _link_account(conn, data.student_id, data.account_id)


async def on_class_mentors_changed(conn: asyncpg.Connection, env: Envelope, data: ClassMentorsChanged) -> None:
    fresh = await conn.fetchval(
        """INSERT INTO classes (class_id, school_id, name, leerjaar, source_time) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (class_id) DO UPDATE SET school_id = EXCLUDED.school_id, name = EXCLUDED.name,
               leerjaar = EXCLUDED.leerjaar, source_time = EXCLUDED.source_time
           WHERE classes.source_time <= EXCLUDED.source_time
           RETURNING true""", data.class_id, data.school_id, data.class_name, data.school_year, env.time)
    if not fresh:
        return
    await conn.execute("DELETE FROM class_mentors WHERE class_id = $1", data.class_id)
    await conn.executemany(
        "INSERT INTO class_mentors (class_id, staff_id, account_id, name, email) VALUES ($1, $2, $3, $4, $5)",
        [(data.class_id, m.staff_id, m.account_id, m.name, str(m.email).lower()) for m in data.mentors])


async def on_staff_changed(conn: asyncpg.Connection, env: Envelope, data: StaffChanged) -> None:
    await conn.execute(
        """INSERT INTO staff (staff_id, account_id, school_id, role, name, email, active, source_time)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (staff_id) DO UPDATE SET account_id = coalesce(EXCLUDED.account_id, staff.account_id),
               school_id = EXCLUDED.school_id, role = EXCLUDED.role, name = EXCLUDED.name,
               email = EXCLUDED.email, active = EXCLUDED.active, source_time = EXCLUDED.source_time
           WHERE staff.source_time <= EXCLUDED.source_time""",
        data.staff_id, data.account_id, data.school_id, data.role, data.name, str(data.email).lower(),
        data.active, env.time)


SUBSCRIPTIONS = [
    Subscription("identity.school_changed", on_school_changed),
    Subscription("identity.student_changed", on_student_changed),
    Subscription("identity.activation_code_redeemed", on_code_redeemed),
    Subscription("identity.class_mentors_changed", on_class_mentors_changed),
    Subscription("identity.staff_changed", on_staff_changed),
]
