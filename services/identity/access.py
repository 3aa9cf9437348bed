"""Who may see what (least privilege), from the verified caller and identity's own tables.

- mentor: the students of the classes linked to them (read fresh from the database, not the token)
- counsellor, school_admin: their school
- student: themselves
- mbo_staff: nothing of a roster
- admin: schools, catalogue and staff; no student's personal data
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from shared.auth import Principal, require

ROSTER_READERS = ("mentor", "counsellor", "school_admin")
CODE_ISSUERS = ("mentor", "counsellor")


@dataclass(frozen=True)
class Caller:
    principal: Principal
    class_ids: frozenset[uuid.UUID] = frozenset()

    @property
    def role(self) -> str:
        return self.principal.role

    @property
    def school_id(self) -> uuid.UUID | None:
        """The VO school of staff or a student, the institution of MBO staff."""
        return self.principal.school_id or self.principal.institution_id

    def student_condition(self, alias: str, param: int) -> tuple[str, object]:
        """SQL condition (with placeholder ``$param``) and its value: the students this caller may see."""
        if self.role == "mentor":
            return f"{alias}.class_id = ANY(${param}::uuid[])", list(self.class_ids)
        if self.role in ("counsellor", "school_admin"):
            return f"{alias}.school_id = ${param}", self.school_id
        return "false AND $%d::text IS NULL" % param, None

    def may_see_class(self, class_id: uuid.UUID, school_id: uuid.UUID) -> bool:
        if self.role == "mentor":
            return class_id in self.class_ids
        return self.role in ("counsellor", "school_admin") and school_id == self.school_id


async def caller(request: web.Request, conn: asyncpg.Connection, *roles: str) -> Caller:
    """The caller (401/403 as ``require``), with a mentor's classes as they are now."""
    principal = await require(request, *roles)
    if principal.role == "mentor" and principal.staff_id:
        rows = await conn.fetch("SELECT class_id FROM class_mentors WHERE staff_id = $1", principal.staff_id)
        return Caller(principal, frozenset(r["class_id"] for r in rows))
    return Caller(principal)
