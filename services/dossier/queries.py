"""SQL of the overviews that is worth sharing: the "mijn leerlingen" search (the service and the
benchmark's raw baseline run the same statements) and the MBO inbox."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.dossier.domain.names import search_words
from shared.auth import Principal


class Query:
    """A WHERE clause built from conditions with numbered parameters."""

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def where(self, condition: str) -> None:
        self.conditions.append(condition)

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions) or "true"


def scope_students(q: Query, principal: Principal | StudentSearch, alias: str = "s") -> None:
    """Students the caller may see: the mentor's classes, the counsellor's school."""
    if principal.role == "mentor":
        q.where(f"{alias}.class_id IN (SELECT class_id FROM class_mentors WHERE staff_id = {q.arg(principal.staff_id)})")
    else:
        q.where(f"{alias}.school_id = {q.arg(principal.school_id)}")


def scope_dossiers(q: Query, principal: Principal) -> None:
    """Dossiers the caller may see (``d`` joined with its student ``s``): a mentor those of the
    students in the classes linked to them now, whoever part A was sent to (a class that moved to
    another mentor moves with its dossiers); a counsellor the school's. As ``store.may_see``."""
    if principal.role == "mentor":
        scope_students(q, principal)
    else:
        q.where(f"d.school_id = {q.arg(principal.school_id)}")


FURTHEST_ORDER = ("CASE d.state WHEN 'completed' THEN 3 WHEN 'agreement' THEN 2 WHEN 'part_b' THEN 1 ELSE 0 END DESC, "
                  "d.progress DESC, d.updated_at DESC")


@dataclass(frozen=True)
class StudentSearch:
    """One "mijn leerlingen" request: who asks (mentor: their classes; counsellor: the school) and
    the filters. ``q``: every word must occur in the name (accents and case do not matter)."""

    role: str
    staff_id: uuid.UUID | None
    school_id: uuid.UUID | None
    class_id: uuid.UUID | None = None
    leerjaar: int | None = None
    q: str = ""
    overdue_only: bool = False
    archived_only: bool = False
    page: int = 1
    size: int = 25
    overdue: timedelta = timedelta(days=14)


def name_words(q: Query, text: str, column: str = "s.search_name") -> None:
    """Every word of ``text`` must occur in ``column`` (a folded name: see names.fold)."""
    for word in search_words(text):
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q.where(f"{column} LIKE {q.arg('%' + escaped + '%')}")


def student_search_sql(search: StudentSearch) -> tuple[str, list, str, list]:
    """(count statement, its arguments, page statement, its arguments). The name search uses the
    trigram index on students.search_name; the page joins each student's furthest dossier and
    best choice (the dossier marked first choice) with a lateral join on dossiers_student."""
    q = Query()
    q.where("s.active")
    scope_students(q, search)
    if search.class_id is not None:
        q.where(f"s.class_id = {q.arg(search.class_id)}")
    if search.leerjaar is not None:
        q.where(f"s.leerjaar = {q.arg(search.leerjaar)}")
    name_words(q, search.q)
    if search.overdue_only:
        q.where(f"""EXISTS (SELECT 1 FROM dossiers d WHERE d.student_id = s.student_id AND d.state = 'agreement'
                    AND NOT d.archived AND d.state_changed_at < now() - {q.arg(search.overdue)}::interval)""")
    if search.archived_only:  # the way to the archive: students with an archived dossier
        q.where("EXISTS (SELECT 1 FROM dossiers d WHERE d.student_id = s.student_id AND d.archived)")
    overdue_arg = f"${len(q.args) + 1}"
    page_sql = f"""
        SELECT s.student_id, s.roepnaam, s.tussenvoegsel, s.achternaam, s.class_id, s.class_name, s.leerjaar,
               s.email,
               f.id AS f_id, f.state AS f_state, f.progress AS f_progress, f.handled_at AS f_handled_at,
               coalesce(fi.name, f.other_school_name) AS f_institution, fp.name AS f_programme,
               b.id AS b_id, b.state AS b_state, b.progress AS b_progress, b.handled_at AS b_handled_at,
               coalesce(bi.name, b.other_school_name) AS b_institution, bp.name AS b_programme,
               agg.dossiers, agg.archived_dossiers, agg.overdue_since
        FROM (SELECT s.* FROM students s WHERE {q.sql}
              ORDER BY s.sort_name, s.student_id LIMIT {int(search.size)} OFFSET {(int(search.page) - 1) * int(search.size)}) s
        LEFT JOIN LATERAL (SELECT d.* FROM dossiers d WHERE d.student_id = s.student_id AND NOT d.archived
                           ORDER BY {FURTHEST_ORDER} LIMIT 1) f ON true
        LEFT JOIN schools fi ON fi.school_id = f.institution_id
        LEFT JOIN programmes fp ON fp.programme_id = f.programme_id
        LEFT JOIN LATERAL (SELECT d.* FROM dossiers d WHERE d.student_id = s.student_id AND NOT d.archived
                           AND d.first_choice ORDER BY {FURTHEST_ORDER} LIMIT 1) b ON true
        LEFT JOIN schools bi ON bi.school_id = b.institution_id
        LEFT JOIN programmes bp ON bp.programme_id = b.programme_id
        CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE NOT d.archived) AS dossiers,
                   count(*) FILTER (WHERE d.archived) AS archived_dossiers,
                   min(d.state_changed_at) FILTER (WHERE d.state = 'agreement' AND NOT d.archived
                       AND d.state_changed_at < now() - {overdue_arg}::interval) AS overdue_since
            FROM dossiers d WHERE d.student_id = s.student_id) agg
        ORDER BY s.sort_name, s.student_id"""
    return f"SELECT count(*) FROM students s WHERE {q.sql}", list(q.args), page_sql, [*q.args, search.overdue]


@dataclass(frozen=True)
class MboSearch:
    """One page of an MBO institution's inbox of completed dossiers. ``handled``: None for all;
    ``flagged``: only warm handovers and wishes for contact; ``q``: every word must occur in the
    student's name, the school of origin or the programme (accents and case do not matter)."""

    institution_id: uuid.UUID
    handled: bool | None = None
    flagged: bool = False
    q: str = ""
    page: int = 1
    size: int = 25


MBO_INBOX_ORDER = ("(d.warm_handover OR d.contact_wanted) DESC, (d.handled_at IS NULL) DESC, "
                   "d.completed_at DESC, d.id")


def mbo_inbox_sql(search: MboSearch) -> tuple[str, str, list]:
    """(count statement, page statement, their arguments): warm handover and contact wishes first."""
    q = Query()
    q.where("d.state = 'completed'")
    q.where(f"d.institution_id = {q.arg(search.institution_id)}")
    # completed while the school did not take part: handed over as a PDF, never in an inbox
    q.where("coalesce((d.final #>> '{choice,participates}')::boolean, true)")
    if search.handled is not None:
        q.where("d.handled_at IS NOT NULL" if search.handled else "d.handled_at IS NULL")
    if search.flagged:
        q.where("(d.warm_handover OR d.contact_wanted)")
    name_words(q, search.q, column="(coalesce(s.search_name, '') || ' ' || "
                                    "lower(coalesce(d.final #>> '{student,school_name}', '') || ' ' || "
                                    "coalesce(d.final #>> '{choice,programme_name}', '') || ' ' || "
                                    "coalesce(d.final #>> '{choice,crebo}', '')))")
    base = f"FROM dossiers d LEFT JOIN students s ON s.student_id = d.student_id WHERE {q.sql}"
    page_sql = f"""SELECT d.id, d.version, d.final, d.completed_at, d.warm_handover, d.contact_wanted,
                          d.handled_at, d.handled_by_name
                   {base} ORDER BY {MBO_INBOX_ORDER}
                   LIMIT {int(search.size)} OFFSET {(int(search.page) - 1) * int(search.size)}"""
    return f"SELECT count(*) {base}", page_sql, q.args
