"""SQL of the dossier service: loading a dossier with who may see it, changing it with its
history and audit rows, sections, and the student-specific part B."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg
from pydantic import BaseModel

from services.dossier.actors import Actor
from services.dossier.domain import workflow as wf
from shared.auth import Principal
from shared.outbox import Outbox
from shared.problems import Problem

NOT_FOUND = "Dit dossier bestaat niet, of je hebt er geen toegang toe."
STUDENT_NOT_FOUND = "Deze leerling bestaat niet, of je hebt geen toegang tot deze leerling."

# where mail to a student goes: their own account's verified address, the roster's only before
# there is an account (identity.student_changed: account_email, email); null: no mail can go out
STUDENT_EMAIL = "coalesce(s.account_email, s.email)"

DOSSIER_SELECT = """
SELECT d.*, s.roepnaam, s.voornamen, s.tussenvoegsel, s.achternaam, s.date_of_birth, s.class_id,
       s.class_name, s.leerjaar, s.student_number, """ + STUDENT_EMAIL + """ AS student_email,
       sc.name AS school_name, sc.brin AS school_brin, sc.city AS school_city,
       coalesce(sc.parent_rule, 'consent') AS parent_rule,
       s.active AS student_active, s.left_on AS student_left_on, s.parents AS known_parents,
       inst.name AS institution_name, inst.participates AS institution_participates,
       inst.kind AS institution_kind, inst.city AS institution_city,
       p.name AS programme_name, p.crebo, p.level, p.pathway, p.profile,
       l.name AS location_name, l.address AS location_address, l.city AS location_city,
       EXISTS (SELECT 1 FROM class_mentors cm WHERE cm.class_id = s.class_id AND cm.staff_id = $2) AS my_class,
       (SELECT st.name FROM staff st WHERE st.staff_id = $2) AS actor_staff_name,
       nullif(concat_ws(' ', s.roepnaam, nullif(s.tussenvoegsel, ''), s.achternaam), '') AS student_full_name{sections}
FROM dossiers d
LEFT JOIN students s ON s.student_id = d.student_id
LEFT JOIN schools sc ON sc.school_id = d.school_id
LEFT JOIN schools inst ON inst.school_id = d.institution_id
LEFT JOIN programmes p ON p.programme_id = d.programme_id
LEFT JOIN locations l ON l.location_id = p.location_id
WHERE d.id = $1"""

# every section of a dossier, and the student-specific part B as it lives while part B was not
# sent (``living``): what ``dossier_answers`` and ``dossier_view`` read, in one statement
ALL_SECTIONS = """
SELECT section_id, part, answers, progress, version, updated_at, false AS living
FROM dossier_sections WHERE dossier_id = $1
UNION ALL
SELECT section_id, 'part_b_student', answers, progress, version, updated_at, true AS living
FROM student_part_b WHERE student_id = $2 AND $3"""

# the same with the dossier when it is loaded (``load_dossier(with_sections=True)``): no round trip of its own
_SECTIONS_COLUMN = """,
       (SELECT json_agg(json_build_object('section_id', x.section_id, 'part', x.part, 'answers', x.answers,
                                          'progress', x.progress, 'version', x.version, 'living', x.living))
        FROM (SELECT section_id, part, answers, progress, version, false AS living
              FROM dossier_sections WHERE dossier_id = d.id
              UNION ALL
              SELECT section_id, 'part_b_student', answers, progress, version, true
              FROM student_part_b WHERE student_id = d.student_id AND NOT d.part_b_approved) x) AS all_sections"""
# under FOR UPDATE: the version as the statement began (the sections were read as of it), to tell
# whether the lock was waited for; without a lock the statement reads one snapshot, so it is the row's
_SECTIONS_AS_OF = """,
       (SELECT v.version FROM dossiers v WHERE v.id = d.id) AS sections_as_of"""
_SELECTS = {(with_sections, lock): DOSSIER_SELECT.format(
                sections=(_SECTIONS_COLUMN + (_SECTIONS_AS_OF if lock else "")) if with_sections else "")
            + (" FOR UPDATE OF d" if lock else "")
            for with_sections in (False, True) for lock in (False, True)}
DOSSIER_SELECT = _SELECTS[False, False]

# what a student's part A save reads (``load_dossier(part_a_save=True)``): the dossier, what
# ``check_changeable``, ``may_see`` (a student) and ``actor_of`` need of the student, and the
# sections; none of the school and catalogue joins of DOSSIER_SELECT, which only answers need
PART_A_SAVE_SELECT = """
SELECT d.*, s.active AS student_active,
       nullif(concat_ws(' ', s.roepnaam, nullif(s.tussenvoegsel, ''), s.achternaam), '') AS student_full_name""" + (
    _SECTIONS_COLUMN) + """
FROM dossiers d
LEFT JOIN students s ON s.student_id = d.student_id
WHERE d.id = $1"""


def status_of(row: Mapping[str, Any]) -> wf.DossierStatus:
    return wf.DossierStatus(
        state=wf.State(row["state"]), archived=row["archived"], part_b_started=row["part_b_started"],
        part_b_approved=row["part_b_approved"],
        parent_decision=wf.ParentDecision(row["parent_decision"]) if row["parent_decision"] else None,
        mentor_id=str(row["mentor_id"]) if row["mentor_id"] else None, handled=row["handled_at"] is not None)


def delivered(row: Mapping[str, Any]) -> bool:
    """A completed dossier went to its receiving school through Doorstroom: not when the school did
    not take part at completion (the student and the mentor hand the PDF over instead)."""
    choice = (row["final"] or {}).get("choice") or {}
    return choice.get("participates") is not False


def may_see(principal: Principal, row: Mapping[str, Any]) -> bool:
    """Each role sees only what it must; a parent sees a dossier only through their link. A mentor:
    the dossiers of students of the classes linked to them now (``my_class``, from the read model
    of identity's roster), whoever the student sent part A to; a counsellor: the whole school."""
    match principal.role:
        case "student":
            return principal.student_id is not None and row["student_id"] == principal.student_id
        case "mentor":
            # the class link as it is now (identity.class_mentors_changed), not the mentor the
            # student chose at submit (dossiers.mentor_id): unlinked from the class, no access
            return principal.staff_id is not None and row["my_class"]
        case "counsellor":
            return principal.school_id is not None and row["school_id"] == principal.school_id
        case "mbo_staff":
            return (principal.institution_id is not None and row["state"] == "completed"
                    and row["institution_id"] == principal.institution_id and delivered(row))
        case "client":  # a machine client of the institution (issue 12): as its MBO staff, with dossiers:read
            return (principal.has_scope("dossiers:read") and principal.institution_id is not None
                    and row["state"] == "completed" and row["institution_id"] == principal.institution_id
                    and delivered(row))
    return False


async def load_dossier(conn: asyncpg.Connection, principal: Principal | None, dossier_id: uuid.UUID,
                       *, lock: bool = False, with_sections: bool = False,
                       part_a_save: bool = False) -> asyncpg.Record:
    """The dossier with its roster and catalogue data; 404 when missing or not the caller's to see.
    ``principal=None`` loads without a check (parent links check their own way). ``with_sections``:
    its sections too (``all_sections``, the rows of ``ALL_SECTIONS`` as dicts), in the same statement.
    ``part_a_save``: only what a student's part A save reads (``PART_A_SAVE_SELECT``, with the
    sections, no lock), for a student principal (else the whole row, with the sections)."""
    if part_a_save and principal is not None and principal.role == "student" and principal.staff_id is None:
        assert not lock
        row = await conn.fetchrow(PART_A_SAVE_SELECT, dossier_id)
        if row is None or not may_see(principal, row):
            raise Problem(404, NOT_FOUND)
        return row
    with_sections = with_sections or part_a_save
    staff_id = principal.staff_id if principal else None
    row = await conn.fetchrow(_SELECTS[with_sections, lock], dossier_id, staff_id)
    if row is None or (principal is not None and not may_see(principal, row)):
        raise Problem(404, NOT_FOUND)
    if with_sections and lock and row["sections_as_of"] != row["version"]:
        # the lock was waited for: the row is the one now, but the sections were read as they were
        # when the statement began (every change of a section makes a new version): read them again
        return without_sections(row)
    return row


async def load_student(conn: asyncpg.Connection, principal: Principal, student_id: uuid.UUID) -> asyncpg.Record:
    """A roster student the mentor (their class) or counsellor (their school) may work for; 404 otherwise."""
    row = await conn.fetchrow(
        """SELECT s.*, EXISTS (SELECT 1 FROM class_mentors cm WHERE cm.class_id = s.class_id AND cm.staff_id = $2)
                  AS my_class
           FROM students s WHERE s.student_id = $1""", student_id, principal.staff_id)
    allowed = row is not None and (
        (principal.role == "mentor" and row["my_class"])
        or (principal.role == "counsellor" and principal.school_id is not None
            and row["school_id"] == principal.school_id))
    if not allowed:
        raise Problem(404, STUDENT_NOT_FOUND)
    return row


async def actor_of(conn: asyncpg.Connection, principal: Principal, row: Mapping[str, Any] | None = None) -> Actor:
    """The acting person with the name the history shows; from the loaded dossier ``row``
    (``actor_staff_name``, ``student_full_name``) when it has it, else as ``actor_name``."""
    if principal.name or row is None:
        return Actor.of(principal, await actor_name(conn, principal))
    if principal.staff_id:
        return Actor.of(principal, row["actor_staff_name"])
    if principal.student_id and principal.student_id == row["student_id"]:
        return Actor.of(principal, row["student_full_name"])
    return Actor.of(principal, await actor_name(conn, principal))


async def actor_name(conn: asyncpg.Connection, principal: Principal) -> str | None:
    """The name the history shows: from the token, else from the roster."""
    if principal.name:
        return principal.name
    if principal.staff_id:
        return await conn.fetchval("SELECT name FROM staff WHERE staff_id = $1", principal.staff_id)
    if principal.student_id:
        return await conn.fetchval(
            "SELECT concat_ws(' ', roepnaam, nullif(tussenvoegsel, ''), achternaam) FROM students WHERE student_id = $1",
            principal.student_id)
    return None


async def audit(conn: asyncpg.Connection, actor: Actor, kind: str, what: str, *, dossier_id=None,
                student_id=None, purpose: str | None = None) -> None:
    # a machine client's name is kept with the line (it has no staff record to take it from)
    await conn.execute(
        """INSERT INTO audit_log (kind, actor_role, actor_account_id, actor_ref, dossier_id, student_id, what, purpose,
                                  actor_name)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        kind, actor.role, actor.account_id, actor.ref, dossier_id, student_id, what, purpose,
        actor.name if actor.role == "client" else None)


async def history(conn: asyncpg.Connection, dossier_id: uuid.UUID, actor: Actor, action: str,
                  from_state: str | None, to_state: str | None, detail: dict | None = None) -> None:
    await conn.execute(
        """INSERT INTO history (dossier_id, action, actor_role, actor_account_id, actor_name, from_state, to_state, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        dossier_id, action, actor.role, actor.account_id, actor.name, from_state, to_state, detail)


def outbox_row(outbox: Outbox, payload: BaseModel, *, subject: str | None = None) -> tuple[uuid.UUID, str, dict]:
    """The outbox row ``Outbox.add`` writes for ``payload`` (event id, type, envelope), for a
    statement that writes it together with the change it reports (``change(event=...)``): one round
    trip less, and still in the change's transaction."""
    env = outbox.envelope(payload, subject=subject)
    return env.id, env.type, env.wire()


_STATUS_COLUMNS = ("state", "archived", "part_b_started", "part_b_approved", "parent_decision")

# a change in one statement: the dossier with a new version, its history row and its audit row
# (and, for a section save, the section): one round trip instead of three or four. The rows hang on
# the update (``FROM u``): when ``if_version`` finds the dossier changed, nothing is written at all
_CHANGE = """
WITH u AS (UPDATE dossiers SET version = version + 1, updated_at = now(), updated_by = $2{assignments}
           WHERE id = $1{guard} RETURNING *),
     h AS (INSERT INTO history (dossier_id, action, actor_role, actor_account_id, actor_name, from_state, to_state,
                                detail)
           SELECT $1, $3::text, $4::text, $2::uuid, $5::text, $6::text, $7::text, $8::jsonb FROM u),
     a AS (INSERT INTO audit_log (kind, actor_role, actor_account_id, actor_ref, dossier_id, student_id, what,
                                  actor_name)
           SELECT 'change', $4, $2, $9::text, $1, $10::uuid, $3, $11::text FROM u){section}{extra}
SELECT u.*{section_version} FROM u"""
_SECTION = """,
     s AS (INSERT INTO dossier_sections (dossier_id, section_id, part, answers, progress, version, updated_by)
           SELECT $1, $12::text, $13::text, $14::jsonb, $15::int, $16::int + 1, $2 FROM u
           ON CONFLICT (dossier_id, section_id) DO UPDATE SET answers = EXCLUDED.answers,
               progress = EXCLUDED.progress, version = EXCLUDED.version, updated_at = now(),
               updated_by = EXCLUDED.updated_by
           RETURNING version)"""
# the event of the change (``outbox_row``), written only with it (the outbox trigger wakes the relay)
_EVENT = """,
     o AS (INSERT INTO outbox (event_id, event_type, envelope) SELECT ${}::uuid, ${}::text, ${}::jsonb FROM u)"""
# completing: the parent links end with the change
_REVOKE_PARENT_LINKS = """,
     p AS (UPDATE parent_links pl SET revoked_at = now() FROM u WHERE pl.dossier_id = u.id AND pl.revoked_at IS NULL)"""
# completing: the dossier waits for its position in the institution's feed (``feed_store.enter``)
_FEED_ENTRY = """,
     f AS (INSERT INTO feed_entries (dossier_id, institution_id, completed_at) SELECT u.id, ${}::uuid, ${}::timestamptz
           FROM u ON CONFLICT (dossier_id) DO NOTHING)"""


async def change(conn: asyncpg.Connection, row: Mapping[str, Any], actor: Actor, action: str, *,
                 status: wf.DossierStatus | None = None, sets: Mapping[str, Any] | None = None,
                 detail: dict | None = None, section: tuple[str, str, dict, int, int] | None = None,
                 if_version: int | None = None, event: tuple[uuid.UUID, str, dict] | None = None,
                 revoke_parent_links: bool = False,
                 feed_entry: tuple[uuid.UUID, Any] | None = None) -> asyncpg.Record | None:
    """Write a change to a (locked) dossier: new status and columns, a new version, a history
    row and an audit row, in one statement; ``section``: (section_id, part, answers, progress,
    expected version) upserted at the expected version + 1 with it (the caller checked the version
    under lock). Returns the dossier's columns as they are now, with ``section_version``.

    ``if_version``: for a dossier that is not locked, write only while it is still at this version
    (every change of it or of its sections makes a new one); None when it is not (nothing written).

    With the change, in the same statement (so written only when it is): ``event``, the outbox row of
    its event (``outbox_row``); ``revoke_parent_links``, end the dossier's parent links;
    ``feed_entry``: (institution_id, completed_at) of its entry in the feed (``feed_store.enter``)."""
    values: dict[str, Any] = dict(sets or {})
    if status is not None:
        values.update(state=status.state.value, archived=status.archived, part_b_started=status.part_b_started,
                      part_b_approved=status.part_b_approved,
                      parent_decision=status.parent_decision.value if status.parent_decision else None)
    state_changed = status is not None and status.state.value != row["state"]
    to_state = status.state.value if status is not None else row["state"]
    args: list[Any] = [row["id"], actor.account_id, action, actor.role, actor.name, row["state"], to_state, detail,
                       actor.ref, row["student_id"], actor.name if actor.role == "client" else None]
    if section is not None:
        args.extend(section)
    assignments = []
    for column, value in values.items():
        if not column.isidentifier():
            raise ValueError(column)
        args.append(value)
        assignments.append(f"{column} = ${len(args)}")
    if state_changed:
        assignments.append("state_changed_at = now()")
    guard = ""
    if if_version is not None:
        args.append(if_version)
        guard = f" AND version = ${len(args)}"
    extra = ""
    if event is not None:
        args.extend(event)
        extra += _EVENT.format(len(args) - 2, len(args) - 1, len(args))
    if revoke_parent_links:
        extra += _REVOKE_PARENT_LINKS
    if feed_entry is not None:
        args.extend(feed_entry)
        extra += _FEED_ENTRY.format(len(args) - 1, len(args))
    sql = _CHANGE.format(assignments="".join(", " + a for a in assignments), guard=guard, extra=extra,
                         section=_SECTION if section is not None else "",
                         section_version=", (SELECT version FROM s) AS section_version" if section is not None
                         else ", NULL::int AS section_version")
    return await conn.fetchrow(sql, *args)


async def change_dossier(conn: asyncpg.Connection, row: Mapping[str, Any], actor: Actor, action: str, *,
                         status: wf.DossierStatus | None = None, sets: Mapping[str, Any] | None = None,
                         detail: dict | None = None) -> int:
    """``change`` when only the new version matters."""
    return (await change(conn, row, actor, action, status=status, sets=sets, detail=detail))["version"]


# dossier columns the joined roster and catalogue columns of DOSSIER_SELECT hang on: a change
# that sets one of them makes a row merged with ``changed`` stale
_JOIN_KEYS = frozenset({"student_id", "school_id", "institution_id", "programme_id"})


def changed(row: Mapping[str, Any], updated: Mapping[str, Any], *,
            same_sections: bool = False) -> dict[str, Any] | None:
    """The loaded dossier ``row`` after ``change`` returned ``updated``, without loading it again;
    None when a joined column may have changed with it (load it then). Its sections are kept only
    when the caller says none changed (``same_sections``) and part B was not sent with the change."""
    merged = dict(row.items())
    for key, value in updated.items():
        if key in _JOIN_KEYS and merged.get(key) != value:
            return None
        merged[key] = value
    if not same_sections or updated["part_b_approved"] != row["part_b_approved"]:
        merged.pop("all_sections", None)
    return merged


def with_sections(row: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The row with the sections read for it (``all_sections``) since it was loaded."""
    return {**dict(row.items()), "all_sections": list(rows)}


def loaded_sections(row: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """The sections loaded with the row (``load_dossier(with_sections=True)``); None when it has none."""
    if "all_sections" not in row:
        return None
    return row["all_sections"] or []


def without_sections(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """The loaded row without the sections loaded with it (they are about to change)."""
    if "all_sections" not in row:
        return row
    return {k: v for k, v in row.items() if k != "all_sections"}


async def all_sections(conn: asyncpg.Connection, row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The dossier's sections and, while part B was not sent, the student's living part B
    (``living``): from the loaded row when it has them, else in one statement."""
    if row.get("all_sections", False) is not False:
        return row["all_sections"] or []
    return await conn.fetch(ALL_SECTIONS, row["id"], row["student_id"], not row["part_b_approved"])


async def student_part_b(conn: asyncpg.Connection, student_id: uuid.UUID, *, lock: bool = False) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT section_id, answers, progress, version, updated_at, form_version FROM student_part_b "
        "WHERE student_id = $1" + (" FOR UPDATE" if lock else ""), student_id)


async def lock_student(conn: asyncpg.Connection, student_id: uuid.UUID) -> None:
    """A transaction lock on one student's shared data (the student-specific part B). Take it
    before locking any of the student's dossiers."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", int.from_bytes(student_id.bytes[:8], "big", signed=True))


async def lock_dossier_student(conn: asyncpg.Connection, dossier_id: uuid.UUID) -> None:
    """``lock_student`` for the student of a dossier, in one statement (nothing when there is no such dossier)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(('x' || left(replace(student_id::text, '-', ''), 16))::bit(64)::bigint) "
        "FROM dossiers WHERE id = $1", dossier_id)


async def save_student_section(conn: asyncpg.Connection, student_id: uuid.UUID, section_id: str, form_version: str,
                               answers: dict, progress: int, expected_version: int, actor: Actor,
                               *, audit_what: str | None = None) -> int | None:
    """Write a section of the student-specific part B if it is still at ``expected_version``;
    None when someone else wrote it first (the caller answers 412). ``audit_what``: the audit row
    of the change (kind 'change', the student's), written with it in the same statement."""
    return await conn.fetchval(
        """WITH s AS (INSERT INTO student_part_b (student_id, section_id, form_version, answers, progress, version,
                                                  updated_by)
                      VALUES ($1, $2, $3, $4, $5, $6 + 1, $7)
                      ON CONFLICT (student_id, section_id) DO UPDATE SET form_version = EXCLUDED.form_version,
                          answers = EXCLUDED.answers, progress = EXCLUDED.progress, version = EXCLUDED.version,
                          updated_at = now(), updated_by = EXCLUDED.updated_by
                      WHERE student_part_b.version = $6
                      RETURNING version),
                a AS (INSERT INTO audit_log (kind, actor_role, actor_account_id, actor_ref, student_id, what,
                                             actor_name)
                      SELECT 'change', $9::text, $7, $10::text, $1, $8::text, $11::text FROM s
                      WHERE $8::text IS NOT NULL)
           SELECT version FROM s""",
        student_id, section_id, form_version, answers, progress, expected_version, actor.account_id, audit_what,
        actor.role, actor.ref, actor.name if actor.role == "client" else None)
