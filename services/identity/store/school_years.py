"""A new school year in SQL (the rules: ``domain/school_year.py``; the API: ``routes/school_years.py``):
the plan the school admin previews, and the change itself in one transaction under the school's
roster lock, with identity.student_changed for every student that changed (leavers, moved up,
stayed behind) and identity.class_mentors_changed for every class."""
from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from services.identity.context import today
from services.identity.domain.names import full_name
from services.identity.domain.school_year import (ClassNow, allowed_from, name_conflicts, new_class_name,
                                                  next_school_year, plan_classes, stay_behind_class)
from services.identity.store.classes import publish_class_mentors
from services.identity.store.roster import lock_roster, mark_left
from services.identity.store.roster_imports import open_import
from services.identity.store.students import ACCOUNT_EMAIL, student_event
from shared.forms.model import school_year_on
from shared.outbox import Outbox
from shared.problems import Problem


async def school_year_of(conn: asyncpg.Connection, school_id: uuid.UUID) -> str:
    """The school year the school's roster is in (the calendar's until it started one)."""
    return await conn.fetchval("SELECT roster_school_year FROM schools WHERE id = $1", school_id) \
        or school_year_on(today())


async def plan(conn: asyncpg.Connection, school_id: uuid.UUID, final_leerjaar: int | None,
               stay_numbers: list[str], day: date | None = None) -> dict:
    """What a new school year would do, as the preview shows it (nothing changes)."""
    day = day or today()
    year = await school_year_of(conn, school_id)
    to_year = next_school_year(year)
    rows = await conn.fetch(
        """SELECT c.id, c.name, c.school_year,
                  (SELECT count(*) FROM students s WHERE s.class_id = c.id AND s.active) AS students
           FROM classes c WHERE c.school_id = $1 AND c.ended_school_year IS NULL""", school_id)
    classes = [ClassNow(r["id"], r["name"], r["school_year"], r["students"]) for r in rows]
    if final_leerjaar is None:  # the highest leerjaar with students: the exam year of the school
        final_leerjaar = max([c.leerjaar for c in classes if c.students] or [4])
    steps = plan_classes(classes, final_leerjaar, year)
    numbers = list(dict.fromkeys(n.strip() for n in stay_numbers if n.strip()))
    found = await conn.fetch(
        """SELECT s.id, s.student_number, s.roepnaam, s.tussenvoegsel, s.achternaam, s.school_year, s.class_id,
                  c.name AS class_name FROM students s JOIN classes c ON c.id = s.class_id
           WHERE s.school_id = $1 AND s.active AND s.student_number = ANY($2::text[])
           ORDER BY c.name, s.achternaam, s.roepnaam""", school_id, numbers)
    by_id = {s.class_id: s for s in steps}
    stay = []
    for s in found:
        step = by_id.get(s["class_id"])
        if step is None:
            continue
        target = stay_behind_class(steps, step.name, step.leerjaar)
        stay.append({"student_id": str(s["id"]), "student_number": s["student_number"],
                     "name": full_name(s["roepnaam"], s["tussenvoegsel"], s["achternaam"]),
                     "class_name": s["class_name"], "leerjaar": step.leerjaar,
                     "to_class_id": str(target) if target else None,
                     "to_class_name": by_id[target].to_name if target else new_class_name(steps, step.name,
                                                                                         step.leerjaar)})
    staying = {}
    for s in found:
        staying[s["class_id"]] = staying.get(s["class_id"], 0) + 1
    known = {s["student_number"] for s in found}
    return {
        "from_school_year": year, "to_school_year": to_year, "final_leerjaar": final_leerjaar,
        "allowed_from": allowed_from(to_year), "allowed": day >= allowed_from(to_year),
        "classes": [{"class_id": str(s.class_id), "name": s.name, "leerjaar": s.leerjaar, "students": s.students,
                     "to_name": s.to_name, "to_leerjaar": s.to_leerjaar, "ends": s.ends,
                     "staying": staying.get(s.class_id, 0)} for s in steps],
        "students_moving": sum(s.students - staying.get(s.class_id, 0) for s in steps if not s.ends),
        "students_leaving": sum(s.students - staying.get(s.class_id, 0) for s in steps if s.ends),
        "stay_behind": stay,
        "unknown_numbers": [n for n in numbers if n not in known],
        "conflicts": name_conflicts(steps),
    }


async def start(conn: asyncpg.Connection, outbox: Outbox, school_id: uuid.UUID, account_id: uuid.UUID | None,
                to_year: str, final_leerjaar: int | None, stay_numbers: list[str],
                day: date | None = None) -> dict:
    """The new school year, in the caller's transaction; answers the plan it carried out."""
    day = day or today()
    await lock_roster(conn, school_id)
    p = await plan(conn, school_id, final_leerjaar, stay_numbers, day)
    if to_year != p["to_school_year"]:
        raise Problem(409, f"Het schooljaar van de leerlingenlijst is {p['from_school_year']}: het volgende "
                      f"schooljaar is {p['to_school_year']}, niet {to_year}.", code="school-year-mismatch",
                      to_school_year=p["to_school_year"])
    if not p["allowed"]:
        raise Problem(409, f"Schooljaar {to_year} kan vanaf {p['allowed_from']:%d-%m-%Y} worden gestart.",
                      code="school-year-too-early")
    if await open_import(conn, school_id):
        raise Problem(409, "Er wordt nog een leerlingenbestand ingelezen. Wacht tot dat klaar is.",
                      code="import-running")
    errors = []
    if p["unknown_numbers"]:
        errors.append({"field": "stay_behind", "message": "Deze leerlingnummers staan niet (actief) in de "
                       "leerlingenlijst: " + ", ".join(p["unknown_numbers"]) + "."})
    if p["conflicts"]:
        errors.append({"field": "classes", "message": "Na de overgang zouden meerdere klassen zo heten: "
                       + ", ".join(p["conflicts"]) + ". Geef een van die klassen eerst een andere naam."})
    if errors:
        raise Problem(422, "Het nieuwe schooljaar is niet gestart; er is niets veranderd.", code="invalid-input",
                      errors=errors)
    year = p["from_school_year"]
    ending = [uuid.UUID(c["class_id"]) for c in p["classes"] if c["ends"]]
    moving = [c for c in p["classes"] if not c["ends"]]
    stay_ids = [uuid.UUID(s["student_id"]) for s in p["stay_behind"]]

    # the students of the last leerjaar leave (those who stay behind excepted)
    leaving = [r["id"] for r in await conn.fetch(
        "SELECT id FROM students WHERE class_id = ANY($1::uuid[]) AND active AND NOT id = ANY($2::uuid[])",
        ending, stay_ids)]
    left = await mark_left(conn, outbox, school_id, leaving, day)

    # classes: the ending ones free their names, then the others move up (through a name no one has)
    moving_ids = [uuid.UUID(c["class_id"]) for c in moving]
    await conn.execute("UPDATE classes SET name = name || ' ~' || id WHERE id = ANY($1::uuid[])", moving_ids)
    await conn.execute(
        """UPDATE classes c SET name = t.n, ended_school_year = $3 FROM unnest($1::uuid[], $2::text[]) AS t(i, n)
           WHERE c.id = t.i""", ending, [c["to_name"] for c in p["classes"] if c["ends"]], year)
    await conn.execute("DELETE FROM class_mentors WHERE class_id = ANY($1::uuid[])", ending)
    await conn.execute(
        """UPDATE classes c SET name = t.n, school_year = t.y FROM unnest($1::uuid[], $2::text[], $3::int[]) AS t(i, n, y)
           WHERE c.id = t.i""", moving_ids, [c["to_name"] for c in moving], [c["to_leerjaar"] for c in moving])
    moved = [r["id"] for r in await conn.fetch(
        """UPDATE students SET school_year = school_year + 1, updated_at = now()
           WHERE class_id = ANY($1::uuid[]) AND active AND NOT id = ANY($2::uuid[]) RETURNING id""",
        moving_ids, stay_ids)]

    # who stays behind keeps their leerjaar, in the class that has their class's name and leerjaar now
    new_classes: dict[str, uuid.UUID] = {}
    for s in p["stay_behind"]:
        if s["to_class_id"] is None and s["to_class_name"] not in new_classes:
            new_classes[s["to_class_name"]] = await conn.fetchval(
                """INSERT INTO classes (id, school_id, name, school_year) VALUES (gen_random_uuid(), $1, $2, $3)
                   RETURNING id""", school_id, s["to_class_name"], s["leerjaar"])
        target = uuid.UUID(s["to_class_id"]) if s["to_class_id"] else new_classes[s["to_class_name"]]
        await conn.execute("UPDATE students SET class_id = $2, updated_at = now() WHERE id = $1",
                           uuid.UUID(s["student_id"]), target)

    changed = await conn.fetch(
        f"""SELECT s.*, c.name AS class_name, {ACCOUNT_EMAIL.format(alias="s")}
            FROM students s JOIN classes c ON c.id = s.class_id WHERE s.id = ANY($1::uuid[])""", moved + stay_ids)
    await outbox.add_many(conn, [(student_event(s, s["class_name"]), str(s["id"])) for s in changed])
    await publish_class_mentors(conn, outbox, [*ending, *moving_ids, *new_classes.values()])
    await conn.execute("UPDATE schools SET roster_school_year = $2, updated_at = now() WHERE id = $1",
                       school_id, to_year)
    await conn.execute(
        """INSERT INTO school_years (school_id, school_year, started_by, classes_moved, classes_ended,
                                     students_moved, students_left, stayed_behind)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        school_id, to_year, account_id, len(moving), len(ending), len(moved), left, len(stay_ids))
    return {**p, "students_moving": len(moved), "students_leaving": left}
