"""The roster: what a school admin's CSV does to classes, mentors and students (the upload:
``routes/roster_imports.py``; its job: ``roster_import_worker.py``; staff read and search the
students they may see, with the state of each student's activation code: ``routes/students.py``).

Import rules:
- all or nothing at the door: a file with any error imports nothing and lists every error (line,
  field, reason); a valid file's classes and mentors are applied at once, its students in chunks;
- students are matched by student number (leerlingnummer): a re-import updates, never duplicates;
  students missing from a file are left as they are (a file may hold one class or one year), unless
  the school admin, after a preview of what the file changes (``preview_import``), marks them as
  left (``mark_left``); a student who left and is in a later file is active again;
- the optional parent columns (ouder 1 and 2: naam, e-mail, relatie) replace the parents the roster
  knows of each student in the file; a file without them leaves those as they are;
- classes are made as needed; when rows of a class name mentors (by e-mail), those become the
  class's mentors (replacing the earlier ones); a class whose rows name none keeps its mentors;
- a mentor address not yet on staff becomes a staff record (mentor) linked to the class, without
  an invitation: the import lists them under ``new_mentors``, the school admin invites them;
- events (identity.student_changed, identity.class_mentors_changed, identity.staff_changed) only
  for what really changed, written with the change in one transaction, in bulk.
"""
from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Mapping

import asyncpg

from services.identity.domain.names import full_name
from services.identity.domain.roster_csv import RosterError, RosterRow
from services.identity.schemas import NewMentor
from services.identity.store.classes import publish_class_mentors
from services.identity.store.students import ACCOUNT_EMAIL, student_event
from services.identity.vault import Vault
from shared.events.identity_events import StaffChanged
from shared.outbox import Outbox
from shared.problems import Problem

ROSTER_LOCK = 7_316_102  # per school, for the length of a transaction


def roster_problem(errors: list[RosterError]) -> Problem:
    n = len(errors)
    return Problem(422, f"Het bestand is niet ingelezen: {'er is 1 fout' if n == 1 else f'er zijn {n} fouten'}. "
                   "Verbeter het bestand en lees het opnieuw in; er is niets veranderd.", code="roster-invalid",
                   errors=[{"line": e.line, "field": e.field, "message": e.reason} for e in errors])


@dataclass
class Prepared:
    """What the request did with a valid file before its students are imported."""
    class_id: dict[str, uuid.UUID]  # class name -> id
    classes_created: list[str]
    classes_with_changed_mentors: list[str]
    new_mentors: list[NewMentor]
    not_in_file: int


def _class_years(rows: list[RosterRow]) -> dict[str, int]:
    """Each class of the file with the leerjaar most of its rows give."""
    years: dict[str, Counter] = {}
    for r in rows:
        years.setdefault(r.class_name, Counter())[r.school_year] += 1
    return {name: counts.most_common(1)[0][0] for name, counts in years.items()}


async def _mentors_of(conn: asyncpg.Connection, school_id: uuid.UUID, rows: list[RosterRow]):
    """The mentors the file names, by e-mail address among the school's staff: (staff found, first
    line of each address, addresses per class); a 422 Problem for an inactive or wrong member of staff."""
    first_line: dict[str, int] = {}
    wanted: dict[str, set[str]] = {}
    for r in rows:
        for e in r.mentor_emails:
            first_line.setdefault(e, r.line)
            wanted.setdefault(r.class_name, set()).add(e)
    staff = {r["email"]: r for r in await conn.fetch(
        "SELECT id, email, role, active FROM staff WHERE school_id = $1 AND email = ANY($2::text[])",
        school_id, list(first_line))}
    errors = []
    for email, s in staff.items():
        if not s["active"]:
            errors.append(RosterError(first_line[email], "Mentor", f"{email} is niet meer actief op deze school. "
                                      "Maak de medewerker weer actief of haal het adres uit het bestand."))
        elif s["role"] not in ("mentor", "counsellor"):
            errors.append(RosterError(first_line[email], "Mentor", f"{email} is geen mentor of decaan."))
    if errors:
        raise roster_problem(sorted(errors, key=lambda e: e.line))
    return staff, first_line, wanted


async def preview_import(conn: asyncpg.Connection, vault: Vault, school_id: uuid.UUID,
                         rows: list[RosterRow]) -> dict:
    """What a valid file would change, without changing anything (the same 422 for staff conflicts as
    the import): students new, changed, unchanged and back after leaving, classes and mentors new,
    and the active students the file does not list (the ones the school admin may mark as left)."""
    class_year = _class_years(rows)
    staff, first_line, _ = await _mentors_of(conn, school_id, rows)
    existing = {r["student_number"]: r for r in await conn.fetch(
        """SELECT s.*, c.name AS class_name FROM students s JOIN classes c ON c.id = s.class_id
           WHERE s.school_id = $1 AND s.student_number = ANY($2::text[])""",
        school_id, [r.student_number for r in rows])}
    created = updated = unchanged = returning = 0
    for r in rows:
        s = existing.get(r.student_number)
        if s is None:
            created += 1
            continue
        parents = list(r.parents) if r.parents is not None else s["parents"]
        same = ((s["roepnaam"], s["voornamen"], s["tussenvoegsel"], s["achternaam"], s["date_of_birth"],
                 s["class_name"], s["school_year"], s["email"], s["bsn_hmac"], s["parents"], s["active"])
                == (r.roepnaam, r.voornamen, r.tussenvoegsel, r.achternaam, r.date_of_birth, r.class_name,
                    r.school_year, r.email, vault.bsn_hash(r.bsn) if r.bsn else None, parents, True))
        unchanged += same
        updated += not same
        returning += not s["active"]
    known_classes = {r["name"] for r in await conn.fetch(
        "SELECT name FROM classes WHERE school_id = $1 AND name = ANY($2::text[])", school_id, list(class_year))}
    missing = await conn.fetch(
        """SELECT s.id, s.student_number, s.roepnaam, s.tussenvoegsel, s.achternaam, c.name AS class_name,
                  s.school_year FROM students s JOIN classes c ON c.id = s.class_id
           WHERE s.school_id = $1 AND s.active AND NOT s.student_number = ANY($2::text[])
           ORDER BY c.name, s.achternaam, s.roepnaam, s.id""", school_id, [r.student_number for r in rows])
    return {
        "created": created, "updated": updated, "unchanged": unchanged, "returning": returning,
        "classes_created": sorted(n for n in class_year if n not in known_classes),
        "new_mentors": sorted(e for e in first_line if e not in staff),
        "parents": any(r.parents is not None for r in rows),
        "not_in_file": [{"student_id": str(m["id"]), "student_number": m["student_number"],
                         "name": full_name(m["roepnaam"], m["tussenvoegsel"], m["achternaam"]),
                         "class_name": m["class_name"], "leerjaar": m["school_year"]} for m in missing],
    }


async def mark_left(conn: asyncpg.Connection, outbox: Outbox, school_id: uuid.UUID, student_ids: list[uuid.UUID],
                    day: date) -> int:
    """Students of the school who left (``left_on`` = ``day``), in the caller's transaction: out of
    every list and count, their unused activation codes void, identity.student_changed (active false)
    for the dossier service. Their account stays, so they can still read and download their own data
    until the retention rule erases it. Only active students change; returns how many did."""
    left = await conn.fetch(
        """UPDATE students s SET active = false, left_on = $3, updated_at = now()
           WHERE s.school_id = $1 AND s.id = ANY($2::uuid[]) AND s.active
           RETURNING s.*, (SELECT name FROM classes c WHERE c.id = s.class_id) AS class_name, """
        + ACCOUNT_EMAIL.format(alias="s"), school_id, student_ids, day)
    if left:
        await conn.execute(
            """UPDATE activation_codes SET invalidated_at = now()
               WHERE student_id = ANY($1::uuid[]) AND invalidated_at IS NULL AND redeemed_at IS NULL""",
            [s["id"] for s in left])
        await outbox.add_many(conn, [(student_event(s, s["class_name"]), str(s["id"])) for s in left])
    return len(left)


async def prepare_import(conn: asyncpg.Connection, outbox: Outbox, school_id: uuid.UUID,
                         rows: list[RosterRow]) -> Prepared:
    """Classes and mentors of the file, inside the caller's transaction, which holds the school's
    roster lock (raises a 422 Problem for staff conflicts, before anything is written)."""
    class_year = _class_years(rows)
    staff, first_line, wanted = await _mentors_of(conn, school_id, rows)

    before = {r["name"]: r for r in await conn.fetch(
        "SELECT id, name, school_year FROM classes WHERE school_id = $1 AND name = ANY($2::text[])",
        school_id, list(class_year))}
    class_rows = await conn.fetch(
        """INSERT INTO classes (id, school_id, name, school_year)
           SELECT gen_random_uuid(), $1, n, y FROM unnest($2::text[], $3::int[]) AS t(n, y)
           ON CONFLICT (school_id, name) DO UPDATE SET school_year = EXCLUDED.school_year, ended_school_year = NULL
           RETURNING id, name""", school_id, list(class_year), list(class_year.values()))
    class_id = {r["name"]: r["id"] for r in class_rows}
    class_name = {v: k for k, v in class_id.items()}
    created_classes = sorted(n for n in class_year if n not in before)
    touched = {class_id[n] for n in class_year if n not in before or before[n]["school_year"] != class_year[n]}

    new_emails = sorted(e for e in first_line if e not in staff)
    new_ids = [uuid.uuid4() for _ in new_emails]
    if new_emails:
        await conn.execute(
            """INSERT INTO staff (id, school_id, role, name, email)
               SELECT i, $1, 'mentor', e, e FROM unnest($2::uuid[], $3::text[]) AS t(i, e)""",
            school_id, new_ids, new_emails)
        await outbox.add_many(conn, [(StaffChanged(staff_id=i, school_id=school_id, role="mentor", name=e, email=e),
                                      str(i)) for i, e in zip(new_ids, new_emails)])
    staff_id = {e: s["id"] for e, s in staff.items()} | dict(zip(new_emails, new_ids))
    wanted_ids = {class_id[c]: {staff_id[e] for e in emails} for c, emails in wanted.items()}
    current: dict[uuid.UUID, set[uuid.UUID]] = {}
    for r in await conn.fetch("SELECT class_id, staff_id FROM class_mentors WHERE class_id = ANY($1::uuid[])",
                              list(wanted_ids)):
        current.setdefault(r["class_id"], set()).add(r["staff_id"])
    mentors_changed = [c for c, ids in wanted_ids.items() if current.get(c, set()) != ids]
    if mentors_changed:
        await conn.execute("DELETE FROM class_mentors WHERE class_id = ANY($1::uuid[])", mentors_changed)
        pairs = [(c, s) for c in mentors_changed for s in wanted_ids[c]]
        await conn.execute("INSERT INTO class_mentors (class_id, staff_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])",
                           [p[0] for p in pairs], [p[1] for p in pairs])
    await publish_class_mentors(conn, outbox, sorted(touched | set(mentors_changed)))
    # the import leaves students missing from the file as they are: these stay "not in the file"
    not_in_file = await conn.fetchval(
        "SELECT count(*) FROM students WHERE school_id = $1 AND active AND NOT student_number = ANY($2::text[])",
        school_id, [r.student_number for r in rows])
    return Prepared(class_id=class_id, classes_created=created_classes,
                    classes_with_changed_mentors=sorted(class_name[c] for c in mentors_changed),
                    new_mentors=[NewMentor(staff_id=i, email=e) for i, e in zip(new_ids, new_emails)],
                    not_in_file=not_in_file)


STUDENT_COLUMNS = ("student_number", "roepnaam", "voornamen", "tussenvoegsel", "achternaam", "date_of_birth",
                   "class_id", "school_year", "email", "bsn_ciphertext", "bsn_hmac", "parents")


def student_values(r: RosterRow, class_id: dict[str, uuid.UUID], vault: Vault) -> dict:
    """A row of the file as ``STUDENT_COLUMNS``, the BSN encrypted and hashed: the plain BSN goes no further."""
    return dict(zip(STUDENT_COLUMNS, (
        r.student_number, r.roepnaam, r.voornamen, r.tussenvoegsel, r.achternaam, r.date_of_birth,
        class_id[r.class_name], r.school_year, r.email,
        vault.encrypt_bsn(r.bsn) if r.bsn else None, vault.bsn_hash(r.bsn) if r.bsn else None,
        json.dumps(list(r.parents)) if r.parents is not None else None)))


async def lock_roster(conn: asyncpg.Connection, school_id: uuid.UUID) -> None:
    """One change of a school's roster at a time (until the caller's transaction ends)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", ROSTER_LOCK, str(school_id))


async def import_rows(conn: asyncpg.Connection, outbox: Outbox, vault: Vault, school_id: uuid.UUID,
                      rows: list[RosterRow]) -> None:
    """A whole (small) file in the caller's transaction: the demo data. Uploads become import jobs."""
    await lock_roster(conn, school_id)
    prepared = await prepare_import(conn, outbox, school_id, rows)
    await upsert_students(conn, outbox, school_id, [student_values(r, prepared.class_id, vault) for r in rows])


async def upsert_students(conn: asyncpg.Connection, outbox: Outbox, school_id: uuid.UUID,
                          rows: list[Mapping]) -> tuple[int, int]:
    """Insert or update students by student number, in one statement, inside the caller's
    transaction; events only for the rows that really changed, so a row imported twice changes
    nothing the second time. ``rows`` hold ``STUDENT_COLUMNS`` (the BSN already encrypted; ``parents``
    as JSON text, None when the file had no parent columns: the roster's stay). A student who had left and is in a
    file again is active again. Returns (created, updated)."""
    changed = await conn.fetch(
        """INSERT INTO students AS s (id, school_id, student_number, roepnaam, voornamen, tussenvoegsel, achternaam,
                                      date_of_birth, class_id, school_year, email, bsn_ciphertext, bsn_hmac, parents)
           SELECT gen_random_uuid(), $1, t.* FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                  $7::date[], $8::uuid[], $9::int[], $10::text[], $11::bytea[], $12::bytea[], $13::text[]::jsonb[]) AS t
           ON CONFLICT (school_id, student_number) DO UPDATE SET
               roepnaam = EXCLUDED.roepnaam, voornamen = EXCLUDED.voornamen, tussenvoegsel = EXCLUDED.tussenvoegsel,
               achternaam = EXCLUDED.achternaam, date_of_birth = EXCLUDED.date_of_birth, class_id = EXCLUDED.class_id,
               school_year = EXCLUDED.school_year, email = EXCLUDED.email,
               bsn_ciphertext = CASE WHEN s.bsn_hmac IS NOT DISTINCT FROM EXCLUDED.bsn_hmac THEN s.bsn_ciphertext
                                     ELSE EXCLUDED.bsn_ciphertext END,
               bsn_hmac = EXCLUDED.bsn_hmac, parents = coalesce(EXCLUDED.parents, s.parents),
               active = true, left_on = NULL, updated_at = now()
           WHERE (s.roepnaam, s.voornamen, s.tussenvoegsel, s.achternaam, s.date_of_birth, s.class_id, s.school_year,
                  s.email, s.bsn_hmac, s.active, s.parents)
                 IS DISTINCT FROM (EXCLUDED.roepnaam, EXCLUDED.voornamen, EXCLUDED.tussenvoegsel, EXCLUDED.achternaam,
                  EXCLUDED.date_of_birth, EXCLUDED.class_id, EXCLUDED.school_year, EXCLUDED.email, EXCLUDED.bsn_hmac, true,
                  coalesce(EXCLUDED.parents, s.parents))
           RETURNING s.*, (xmax = 0) AS inserted, """ + ACCOUNT_EMAIL.format(alias="s"),
        school_id, *([r[c] for r in rows] for c in STUDENT_COLUMNS))
    if changed:
        class_name = {r["id"]: r["name"] for r in await conn.fetch(
            "SELECT id, name FROM classes WHERE id = ANY($1::uuid[])", list({s["class_id"] for s in changed}))}
        await outbox.add_many(conn, [(student_event(s, class_name[s["class_id"]]), str(s["id"])) for s in changed])
    created = sum(1 for s in changed if s["inserted"])
    return created, len(changed) - created
