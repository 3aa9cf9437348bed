"""Students as staff read them: the roster record with its class and the state of its activation
code, limited to the students the caller may see; and identity.student_changed for a record."""
from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.identity.access import Caller
from services.identity.domain.activation_codes import code_status
from services.identity.domain.names import full_name, sort_name
from services.identity.schemas import Activation, StudentOut
from shared.events.identity_events import ParentContact, StudentChanged
from shared.problems import Problem

NO_STUDENT = "Deze leerling bestaat niet."

STUDENT_QUERY = """
    SELECT s.*, c.name AS class_name, ac.channel, ac.issued_at, ac.expires_on, ac.redeemed_at
    FROM students s JOIN classes c ON c.id = s.class_id
    LEFT JOIN activation_codes ac ON ac.student_id = s.id AND ac.invalidated_at IS NULL
"""


def student_out(r: asyncpg.Record, now: datetime) -> StudentOut:
    status = code_status(r["issued_at"], r["expires_on"], r["redeemed_at"], now)
    return StudentOut(
        student_id=r["id"], student_number=r["student_number"],
        name=full_name(r["roepnaam"], r["tussenvoegsel"], r["achternaam"]),
        sort_name=sort_name(r["roepnaam"], r["tussenvoegsel"], r["achternaam"]), roepnaam=r["roepnaam"],
        voornamen=r["voornamen"], tussenvoegsel=r["tussenvoegsel"], achternaam=r["achternaam"],
        date_of_birth=r["date_of_birth"], class_id=r["class_id"], class_name=r["class_name"],
        school_year=r["school_year"], email=r["email"], has_bsn=r["bsn_hmac"] is not None,
        account_linked=r["account_id"] is not None,
        activation=Activation(status=status.value, label=status.label, channel=r["channel"], issued_at=r["issued_at"],
                              expires_on=r["expires_on"], redeemed_at=r["redeemed_at"]))


async def visible_student(conn: asyncpg.Connection, who: Caller, student_id: uuid.UUID) -> asyncpg.Record:
    cond, value = who.student_condition("s", 2)
    row = await conn.fetchrow(STUDENT_QUERY + f" WHERE s.id = $1 AND {cond}", student_id, value)
    if row is None:
        raise Problem(404, NO_STUDENT)
    return row


# the verified address of a student's own account, as a column next to ``students.*`` (for RETURNING)
ACCOUNT_EMAIL = ("(SELECT a.email FROM accounts a WHERE a.id = {alias}.account_id "
                 "AND a.email_verified_at IS NOT NULL) AS account_email")


def student_event(s: asyncpg.Record, class_name: str, account_email: str | None = None) -> StudentChanged:
    """identity.student_changed for a students row; the account's verified address from
    ``account_email`` or from the row's ``account_email`` column (``ACCOUNT_EMAIL``), when known."""
    if account_email is None and "account_email" in s.keys():
        account_email = s["account_email"]
    return StudentChanged(
        student_id=s["id"], school_id=s["school_id"], student_number=s["student_number"], roepnaam=s["roepnaam"],
        voornamen=s["voornamen"], tussenvoegsel=s["tussenvoegsel"], achternaam=s["achternaam"],
        date_of_birth=s["date_of_birth"], class_id=s["class_id"], class_name=class_name,
        school_year=s["school_year"], email=s["email"], account_id=s["account_id"],
        account_email=account_email if s["account_id"] else None, active=s["active"],
        left_on=s["left_on"] if not s["active"] else None,
        parents=[ParentContact(**p) for p in s["parents"]] if s["parents"] is not None else None)
