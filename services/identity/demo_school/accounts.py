"""The living school's students in identity: on the roster of Het Voorbeeld College (classes 4a
and 4b, with a parent the school knows), each with an account and a redeemed code, so they can log
in with the demo password. Idempotent, and through the outbox like demo.py's data."""
from __future__ import annotations

import asyncpg

from services.identity.demo import MENTOR_OF, VO_SCHOOL, demo_id, redeemed_account
from services.identity.demo_school.cast import NEW_STUDENTS, PASSWORD, Student
from services.identity.domain.roster_csv import RosterRow
from services.identity.hasher import PasswordHasher
from services.identity.settings import IdentitySettings
from services.identity.store.roster import import_rows
from services.identity.vault import Vault
from shared.outbox import Outbox


def roster_row(line: int, s: Student) -> RosterRow:
    return RosterRow(line=line, student_number=s.number, roepnaam=s.roepnaam, voornamen=s.voornamen,
                     tussenvoegsel=s.tussenvoegsel, achternaam=s.achternaam, date_of_birth=s.date_of_birth,
                     class_name=s.class_name, school_year=4, email=s.login, bsn=s.bsn,
                     mentor_emails=(MENTOR_OF[s.class_name],),
                     parents=({"name": s.parent, "email": s.parent_email, "relation": "ouder"},))


async def load_students(pool: asyncpg.Pool, settings: IdentitySettings) -> None:
    """The students of ``cast.NEW_STUDENTS`` on the roster, with accounts (demo.load_demo first)."""
    outbox = Outbox("identity")
    vault = Vault(settings.encryption_key_bytes(), settings.hmac_key_bytes())
    hasher = PasswordHasher(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib,
                            parallelism=settings.argon2_parallelism, threads=settings.password_hash_threads)
    try:
        password_hash = await hasher.hash(PASSWORD)
    finally:
        hasher.close()
    school_id = demo_id(f"school:{VO_SCHOOL}")
    async with pool.acquire(timeout=30) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", 7_316_103)
        await import_rows(conn, outbox, vault, school_id, [roster_row(i + 2, s) for i, s in enumerate(NEW_STUDENTS)])
        for s in NEW_STUDENTS:
            row = await conn.fetchrow("SELECT * FROM students WHERE school_id = $1 AND student_number = $2",
                                      school_id, s.number)
            await redeemed_account(conn, outbox, vault, settings, row, email=s.login, bsn=s.bsn,
                                   password_hash=password_hash, class_name=s.class_name)
