"""What an access token says about an account, read fresh from identity's tables."""
from __future__ import annotations

import uuid

import asyncpg

from services.identity.domain.names import full_name
from shared.auth import Principal


async def principal_for(conn: asyncpg.Connection, account_id: uuid.UUID, session_id: uuid.UUID) -> Principal | None:
    """What the token says about an account now: role, school, staff or student record, classes."""
    account = await conn.fetchrow("SELECT kind, active FROM accounts WHERE id = $1", account_id)
    if account is None or not account["active"]:
        return None
    if account["kind"] == "student":
        s = await conn.fetchrow("SELECT id, school_id, roepnaam, tussenvoegsel, achternaam FROM students "
                                "WHERE account_id = $1", account_id)
        return Principal(account_id=account_id, role="student", session_id=str(session_id),
                         school_id=s["school_id"] if s else None, student_id=s["id"] if s else None,
                         name=full_name(s["roepnaam"], s["tussenvoegsel"], s["achternaam"]) if s else None)
    staff = await conn.fetchrow("SELECT id, role, school_id, name FROM staff WHERE account_id = $1 AND active",
                                account_id)
    if staff is None:
        return None
    class_ids = None
    if staff["role"] == "mentor":
        class_ids = tuple(r["class_id"] for r in await conn.fetch(
            "SELECT class_id FROM class_mentors WHERE staff_id = $1 ORDER BY class_id", staff["id"]))
    mbo = staff["role"] == "mbo_staff"
    return Principal(account_id=account_id, role=staff["role"], session_id=str(session_id), name=staff["name"],
                     staff_id=staff["id"], school_id=None if mbo else staff["school_id"],
                     institution_id=staff["school_id"] if mbo else None, class_ids=class_ids)
