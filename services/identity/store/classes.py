"""Classes in SQL: a school's classes with their students counted and their mentors, and
identity.class_mentors_changed written in the change's transaction."""
from __future__ import annotations

import uuid

import asyncpg

from services.identity.schemas import ClassOut
from shared.events.identity_events import ClassMentorsChanged, Mentor
from shared.outbox import Outbox


async def load_classes(conn: asyncpg.Connection, where: str, arg) -> list[ClassOut]:
    """The classes that match ``where`` (with ``$1`` = ``arg``), each with its count of active students and
    its active mentors; not the classes that ended at a new school year."""
    rows = await conn.fetch(
        f"""SELECT c.*, (SELECT count(*) FROM students s WHERE s.class_id = c.id AND s.active) AS students
            FROM classes c WHERE {where} AND c.ended_school_year IS NULL ORDER BY c.school_year, c.name""", arg)
    links = await conn.fetch(
        """SELECT cm.class_id, s.id, s.account_id, s.name, s.email FROM class_mentors cm
           JOIN staff s ON s.id = cm.staff_id WHERE cm.class_id = ANY($1::uuid[]) AND s.active ORDER BY s.name""",
        [r["id"] for r in rows])
    return [ClassOut(class_id=r["id"], name=r["name"], school_year=r["school_year"], students=r["students"],
                     mentors=[Mentor(staff_id=m["id"], account_id=m["account_id"], name=m["name"], email=m["email"])
                              for m in links if m["class_id"] == r["id"]]) for r in rows]


async def publish_class_mentors(conn: asyncpg.Connection, outbox: Outbox, class_ids: list[uuid.UUID]) -> None:
    """identity.class_mentors_changed (the full list) for each class."""
    if not class_ids:
        return
    classes = await conn.fetch("SELECT * FROM classes WHERE id = ANY($1::uuid[]) ORDER BY name", class_ids)
    links = await conn.fetch(
        """SELECT cm.class_id, s.id, s.account_id, s.name, s.email FROM class_mentors cm
           JOIN staff s ON s.id = cm.staff_id WHERE cm.class_id = ANY($1::uuid[]) AND s.active
           ORDER BY s.name""", class_ids)
    await outbox.add_many(conn, [(ClassMentorsChanged(
        school_id=c["school_id"], class_id=c["id"], class_name=c["name"], school_year=c["school_year"],
        mentors=[Mentor(staff_id=m["id"], account_id=m["account_id"], name=m["name"], email=m["email"])
                 for m in links if m["class_id"] == c["id"]]), str(c["id"])) for c in classes])
