"""Demo data: ``python -m services.identity.demo`` (idempotent; refuses when ENVIRONMENT=production).

Loads three MBO institutions with programmes, the VO school "Het Voorbeeld College" with classes
4a and 4b, its staff, a platform admin, an MBO staff member and six students; the staff (and one
student, Roos de Winter, whose code is already redeemed) get the known demo passwords printed at
the end, so a newcomer can log in. The events go through the outbox like any other change: the
identity service publishes them once it runs.

Run as a command, it then makes the living school (``demo_school``): eight more students with
accounts, and dossiers in every state of the workflow made through identity's and dossier's HTTP
APIs (IDENTITY_URL, DOSSIER_URL), so every screen has content on first login.
"""
from __future__ import annotations

import asyncio
import sys
import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg

from services.identity.domain.activation_codes import hash_code, new_code, normalize_code
from services.identity.domain.roster_csv import RosterRow
from services.identity.hasher import PasswordHasher
from services.identity.schemas import LocationIn, ProgrammeIn, SchoolIn
from services.identity.settings import IdentitySettings
from services.identity.store.roster import import_rows
from services.identity.store.schools import publish_school, upsert_location, upsert_programme, upsert_school
from services.identity.store.staff import create_staff, ensure_account, publish_staff
from services.identity.store.students import ACCOUNT_EMAIL, student_event
from services.identity.vault import Vault
from shared import db
from shared.auth import ROLE_LABELS
from shared.events.identity_events import ActivationCodeRedeemed
from shared.loops import keep_trying
from shared.outbox import Outbox

NS = uuid.UUID("6f1d7c52-1b5e-4d1c-9a53-0d0c5e0d0001")


def demo_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NS, name)


MBOS = [
    ("MBO Utrecht", "Utrecht", [("Australiëlaan", "Australiëlaan 23", "Utrecht"),
                                ("Vondellaan", "Vondellaan 178", "Utrecht")], [
        ("Juridisch secretaresse", "25196", 4, "BOL", "Australiëlaan"),
        ("Juridisch secretaresse", "25196", 4, "BBL", "Australiëlaan"),
        ("Toezicht en veiligheid: handhaver", "25409", 3, "BOL", "Vondellaan"),
        ("Toezicht en veiligheid: beveiliger", "25406", 2, "BBL", "Vondellaan")]),
    ("ROC van Twente", "Hengelo", [("Gieterij", "Gieterij 200", "Hengelo")], [
        ("Metaalbewerken: basismedewerker", "25275", 2, "BBL", "Gieterij"),
        ("Metaalbewerken: allround metaalbewerker", "25272", 3, "BOL", "Gieterij"),
        ("Metaalbewerken: allround metaalbewerker", "25272", 3, "BBL", "Gieterij")]),
    ("Grafisch Lyceum Rotterdam", "Rotterdam", [("Heer Bokelweg", "Heer Bokelweg 255", "Rotterdam")], [
        ("Art & Design: allround mediavormgever", "25410", 4, "BOL", "Heer Bokelweg"),
        ("Art & Design: ruimtelijk vormgever", "25403", 4, "BOL", "Heer Bokelweg")]),
]
# receiving schools that are not MBOs: (name, kind, city, takes part in Doorstroom, [(programme, profile)])
RECEIVING = [
    ("Stedelijk Lyceum", "havo", "Enschede", True, [("HAVO 4", "Natuur en Gezondheid"),
                                                     ("HAVO 4", "Economie en Maatschappij")]),
    ("De Waerdenborch", "vmbo", "Holten", False, [("VMBO 4", "gemengde leerweg")]),
]
VO_SCHOOL = "Het Voorbeeld College"
SCHOOL_DOMAIN = "voorbeeldcollege.example"

# (key, role, name, e-mail, school or None, password)
STAFF = [
    ("admin", "admin", "Beheerder Doorstroom", "beheer@doorstroom.example", None, "Demo-beheerder-2026"),
    ("school_admin", "school_admin", "Willem Bakker", f"w.bakker@{SCHOOL_DOMAIN}", VO_SCHOOL, "Demo-schoolbeheer-2026"),
    ("counsellor", "counsellor", "Fatima El Idrissi", f"decaan@{SCHOOL_DOMAIN}", VO_SCHOOL, "Demo-decaan-2026"),
    ("mentor_4a", "mentor", "Karin Jansen", f"k.jansen@{SCHOOL_DOMAIN}", VO_SCHOOL, "Demo-mentor-4a-2026"),
    ("mentor_4b", "mentor", "Peter de Vries", f"p.devries@{SCHOOL_DOMAIN}", VO_SCHOOL, "Demo-mentor-4b-2026"),
    ("mbo_staff", "mbo_staff", "Sanne Mulder", "s.mulder@mboutrecht.example", "MBO Utrecht", "Demo-mbo-utrecht-2026"),
    ("havo_staff", "mbo_staff", "Bas Kuipers", "b.kuipers@stedelijklyceum.example", "Stedelijk Lyceum",
     "Demo-havo-2026"),
]
MENTOR_OF = {"4a": f"k.jansen@{SCHOOL_DOMAIN}", "4b": f"p.devries@{SCHOOL_DOMAIN}"}

# number, roepnaam, voornamen, tussenvoegsel, achternaam, date of birth, class, e-mail, BSN
STUDENTS = [
    ("100234", "Roos", "Roos Maria", "de", "Winter", date(2010, 3, 14), "4a", "roos.dewinter@leerling.example",
     "123456708"),
    ("100235", "Mirjam", "Mirjam", "", "Hoenderloo", date(2010, 7, 2), "4a", "mirjam.hoenderloo@leerling.example",
     "123456721"),
    ("100236", "Sem", "Sem Ali", "", "Yilmaz", date(2009, 11, 23), "4a", None, None),
    ("100237", "Jaap", "Jacobus", "", "Rierink", date(2010, 1, 9), "4b", "jaap.rierink@leerling.example", None),
    ("100238", "Noor", "Noor", "van", "Dijk", date(2010, 5, 30), "4b", "noor.vandijk@leerling.example", "123456733"),
    ("100239", "Daan", "Daniël", "", "Smit", date(2010, 9, 17), "4b", None, "123456745"),
]
STUDENT_LOGIN = ("roos.dewinter@leerling.example", "Demo-leerling-2026")


@dataclass(frozen=True)
class Login:
    role: str
    name: str
    email: str
    password: str


async def _set_password(conn: asyncpg.Connection, account_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute("""UPDATE accounts SET password_hash = $2, password_changed_at = now(),
                          email_verified_at = coalesce(email_verified_at, now()), active = true WHERE id = $1""",
                       account_id, password_hash)


async def redeemed_account(conn: asyncpg.Connection, outbox: Outbox, vault: Vault, settings: IdentitySettings,
                           student: asyncpg.Record, *, email: str, bsn: str, password_hash: str,
                           class_name: str) -> None:
    """``student`` (a roster row) gets a verified account with ``password_hash`` and a redeemed code, as if
    they had registered and typed their code (idempotent: an account already there is kept)."""
    account_id = await conn.fetchval("SELECT id FROM accounts WHERE email = $1", email)
    if account_id is None:
        account_id = demo_id(f"account:{email}")
        await conn.execute("INSERT INTO accounts (id, email, kind, bsn_ciphertext, bsn_hmac) "
                           "VALUES ($1, $2, 'student', $3, $4)",
                           account_id, email, vault.encrypt_bsn(bsn), vault.bsn_hash(bsn))
    await _set_password(conn, account_id, password_hash)
    if student["account_id"] is not None:
        return
    vo = student["school_id"]
    batch_id = demo_id(f"batch:{student['student_number']}")
    counsellor = await conn.fetchval("SELECT account_id FROM staff WHERE email = $1", STAFF[2][3])
    await conn.execute(
        """INSERT INTO activation_batches (id, school_id, channel, scope, requested_by, fingerprint)
           VALUES ($1, $2, 'email', 'student', $3, 'demo') ON CONFLICT DO NOTHING""", batch_id, vo, counsellor)
    await conn.execute("UPDATE activation_codes SET invalidated_at = now() "
                       "WHERE student_id = $1 AND invalidated_at IS NULL", student["id"])
    await conn.execute(
        """INSERT INTO activation_codes (id, student_id, batch_id, code_hash, channel, expires_on, redeemed_at,
                                         redeemed_by)
           VALUES ($1, $2, $3, $4, 'email', $5, now(), $6)""", uuid.uuid4(), student["id"], batch_id,
        hash_code(normalize_code(new_code()), settings.code_key_bytes()), date(date.today().year + 1, 7, 31),
        account_id)
    student = await conn.fetchrow("UPDATE students SET account_id = $2 WHERE id = $1 RETURNING *, "
                                  + ACCOUNT_EMAIL.format(alias="students"), student["id"], account_id)
    await outbox.add(conn, ActivationCodeRedeemed(student_id=student["id"], account_id=account_id, school_id=vo),
                     subject=str(student["id"]))
    await outbox.add(conn, student_event(student, class_name), subject=str(student["id"]))


async def load_demo(pool: asyncpg.Pool, settings: IdentitySettings) -> list[Login]:
    """Load (or bring back) the demo data; returns the logins."""
    if settings.environment == "production":
        raise RuntimeError("demo data is never loaded when ENVIRONMENT=production")
    outbox = Outbox("identity")
    vault = Vault(settings.encryption_key_bytes(), settings.hmac_key_bytes())
    hasher = PasswordHasher(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib,
                            parallelism=settings.argon2_parallelism, threads=settings.password_hash_threads)
    try:
        hashes = dict(zip([s[0] for s in STAFF] + ["student"],
                          await asyncio.gather(*(hasher.hash(p) for p in [s[5] for s in STAFF] + [STUDENT_LOGIN[1]]))))
    finally:
        hasher.close()
    logins: list[Login] = []
    async with pool.acquire(timeout=30) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", 7_316_103)
        school_ids = {}
        for name, city, locations, programmes in MBOS:
            sid = school_ids[name] = demo_id(f"school:{name}")
            changed = await upsert_school(conn, outbox, sid, SchoolIn(kind="mbo", name=name, city=city))
            loc_ids = {}
            for loc_name, address, loc_city in locations:
                loc_ids[loc_name], c = await upsert_location(
                    conn, sid, LocationIn(name=loc_name, address=address, city=loc_city),
                    demo_id(f"location:{name}:{loc_name}"))
                changed |= c
            for prog, crebo, level, pathway, loc_name in programmes:
                _, c = await upsert_programme(
                    conn, sid, ProgrammeIn(name=prog, crebo=crebo, level=level, pathway=pathway,
                                           location_id=loc_ids[loc_name]),
                    demo_id(f"programme:{name}:{crebo}:{pathway}:{loc_name}"))
                changed |= c
            if changed:
                await publish_school(conn, outbox, sid)
        for name, kind, city, participates, programmes in RECEIVING:
            sid = school_ids[name] = demo_id(f"school:{name}")
            changed = await upsert_school(conn, outbox, sid, SchoolIn(kind=kind, name=name, city=city,
                                                                      participates=participates))
            for prog, profile in programmes:
                _, c = await upsert_programme(conn, sid, ProgrammeIn(name=prog, profile=profile),
                                              demo_id(f"programme:{name}:{prog}:{profile}"))
                changed |= c
            if changed:
                await publish_school(conn, outbox, sid)
        vo = school_ids[VO_SCHOOL] = demo_id(f"school:{VO_SCHOOL}")
        if await upsert_school(conn, outbox, vo, SchoolIn(kind="vo", name=VO_SCHOOL, city="Utrecht",
                                                          brin="99ZZ", parent_rule="inspection")):
            await publish_school(conn, outbox, vo)

        for key, role, name, email, school, password in STAFF:
            school_id = school_ids[school] if school else None
            staff = await conn.fetchrow("SELECT * FROM staff WHERE school_id IS NOT DISTINCT FROM $1 AND email = $2",
                                        school_id, email)
            if staff is None:
                staff_id = await create_staff(conn, outbox, role=role, name=name, email=email, school_id=school_id,
                                              staff_id=demo_id(f"staff:{email}"))
                staff = await conn.fetchrow("SELECT * FROM staff WHERE id = $1", staff_id)
            account_id = await ensure_account(conn, staff)
            await _set_password(conn, account_id, hashes[key])
            if staff["account_id"] is None or not staff["active"]:
                await conn.execute("UPDATE staff SET active = true WHERE id = $1", staff["id"])
                await publish_staff(conn, outbox, staff["id"])
            logins.append(Login(ROLE_LABELS[role], name, email, password))

        rows = [RosterRow(line=i + 2, student_number=n, roepnaam=r, voornamen=v, tussenvoegsel=t, achternaam=a,
                          date_of_birth=d, class_name=c, school_year=4, email=e, bsn=b,
                          mentor_emails=(MENTOR_OF[c],))
                for i, (n, r, v, t, a, d, c, e, b) in enumerate(STUDENTS)]
        await import_rows(conn, outbox, vault, vo, rows)

        # Roos de Winter has an account and has redeemed her code
        email, password = STUDENT_LOGIN
        roos = await conn.fetchrow("SELECT * FROM students WHERE school_id = $1 AND student_number = $2",
                                   vo, STUDENTS[0][0])
        await redeemed_account(conn, outbox, vault, settings, roos, email=email, bsn=STUDENTS[0][8],
                               password_hash=hashes["student"], class_name="4a")
        logins.append(Login(ROLE_LABELS["student"], "Roos de Winter", email, password))
    return logins


async def _main() -> None:
    from services.identity import demo_school  # it builds on this module
    from services.identity.demo_school.accounts import load_students
    from services.identity.demo_school.client import DemoFailed

    settings = demo_school.DemoSettings()
    if settings.environment == "production":
        print("Demodata laad je nooit in productie (ENVIRONMENT=production).", file=sys.stderr)
        raise SystemExit(1)
    dsn = settings.effective_database_url()

    async def connect():
        await db.ensure_database(dsn)
        return await db.create_pool(dsn, min_size=1, max_size=2)

    try:
        # a busy server ("too many clients") or one still starting: wait a while, as the services do
        pool = await keep_trying("PostgreSQL", connect, timeout=settings.startup_timeout_seconds, retry_on=db.UNREACHABLE)
    except db.UNREACHABLE as exc:
        print(f"De database is niet bereikbaar ({type(exc).__name__}). Draait PostgreSQL, en heeft hij vrije "
              "verbindingen (max_connections)? Probeer het daarna opnieuw.", file=sys.stderr)
        raise SystemExit(1) from None
    try:
        await db.migrate(pool, [("shared", "shared.migrations"), ("identity", "services.identity.migrations")])
        logins = await load_demo(pool, settings)
        await load_students(pool, settings)
    finally:
        await pool.close()
    try:
        done = await demo_school.load_school(settings)
    except DemoFailed as exc:
        print(f"De demoschool is niet (helemaal) gemaakt: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print("Demodata geladen: MBO Utrecht, ROC van Twente, Grafisch Lyceum Rotterdam (met opleidingen) en\n"
          f"Het Voorbeeld College (klassen 4a en 4b, {len(STUDENTS) + len(demo_school.cast.NEW_STUDENTS)} leerlingen). "
          "Inloggen (alleen voor de demo):\n")
    width = max(len(login.email) for login in logins)
    print(f"  {'rol':<16} {'naam':<22} {'e-mailadres':<{width}}  wachtwoord")
    for login in logins:
        print(f"  {login.role:<16} {login.name:<22} {login.email:<{width}}  {login.password}")
    print(demo_school.summary(done))
    print("\nDe leerlingen Mirjam Hoenderloo, Jaap Rierink, Noor van Dijk (e-mail) en Sem Yilmaz, Daan Smit\n"
          "(zonder e-mailadres: per brief) hebben nog geen account: verstrek hun een activatiecode als\n"
          "decaan of mentor. Een geldig BSN voor een nieuw account, bijvoorbeeld: 123456721 (Mirjam).")

if __name__ == "__main__":
    asyncio.run(_main())
