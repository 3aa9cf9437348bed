"""Staff in SQL: staff records and their accounts, invitations (a fresh single-use link to set a
password), the list as the API shows it, and identity.staff_changed written in the change's
transaction."""
from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from services.identity.domain.emails import normalize_email
from services.identity.schemas import ClassRef, StaffOut
from services.identity.settings import IdentitySettings
from services.identity.store.email_links import issue_email_token
from shared.auth import ROLE_LABELS
from shared.events.identity_events import StaffChanged, StaffInvited
from shared.outbox import Outbox
from shared.problems import Problem


async def publish_staff(conn: asyncpg.Connection, outbox: Outbox, staff_id: uuid.UUID) -> None:
    s = await conn.fetchrow("SELECT * FROM staff WHERE id = $1", staff_id)
    await outbox.add(conn, StaffChanged(staff_id=s["id"], account_id=s["account_id"], school_id=s["school_id"],
                                        role=s["role"], name=s["name"], email=s["email"], active=s["active"],
                                        daily_digest=s["daily_digest"]),
                     subject=str(staff_id))


async def create_staff(conn: asyncpg.Connection, outbox: Outbox, *, role: str, name: str, email: str,
                       school_id: uuid.UUID | None, staff_id: uuid.UUID | None = None) -> uuid.UUID:
    """A staff record (no account yet); 409 when the address is taken."""
    email = normalize_email(email)
    if await conn.fetchval("SELECT true FROM accounts WHERE email = $1", email):
        raise Problem(409, "Er bestaat al een account met dit e-mailadres.", code="email-taken")
    existing = await conn.fetchval("SELECT id FROM staff WHERE school_id IS NOT DISTINCT FROM $1 AND email = $2",
                                   school_id, email)
    if existing:
        raise Problem(409, "Deze medewerker staat al in de lijst van deze school.", code="staff-exists",
                      staff_id=str(existing))
    staff_id = staff_id or uuid.uuid4()
    await conn.execute("INSERT INTO staff (id, school_id, role, name, email) VALUES ($1, $2, $3, $4, $5)",
                       staff_id, school_id, role, name, email)
    await publish_staff(conn, outbox, staff_id)
    return staff_id


async def ensure_account(conn: asyncpg.Connection, staff: asyncpg.Record) -> uuid.UUID:
    """The staff member's account (made without a password when missing)."""
    if staff["account_id"]:
        return staff["account_id"]
    if await conn.fetchval("SELECT true FROM accounts WHERE email = $1", staff["email"]):
        raise Problem(409, "Er bestaat al een ander account met het e-mailadres van deze medewerker.",
                      code="email-taken")
    account_id = uuid.uuid4()
    await conn.execute("INSERT INTO accounts (id, email, kind) VALUES ($1, $2, 'staff')", account_id, staff["email"])
    await conn.execute("UPDATE staff SET account_id = $2, updated_at = now() WHERE id = $1", staff["id"], account_id)
    return account_id


async def invite(conn: asyncpg.Connection, outbox: Outbox, settings: IdentitySettings, staff_id: uuid.UUID) -> None:
    """Account (if needed) plus a fresh single-use link to set a password; earlier links stop working."""
    staff = await conn.fetchrow(
        """SELECT s.*, sc.name AS school_name, a.password_hash IS NOT NULL AS has_password
           FROM staff s LEFT JOIN schools sc ON sc.id = s.school_id LEFT JOIN accounts a ON a.id = s.account_id
           WHERE s.id = $1 FOR UPDATE OF s""", staff_id)
    if not staff["active"]:
        raise Problem(409, "Deze medewerker is niet actief; maak hem eerst weer actief.", code="staff-inactive")
    if staff["has_password"]:
        raise Problem(409, "Deze medewerker heeft al een wachtwoord. Bij een vergeten wachtwoord: "
                      "'wachtwoord vergeten' op de inlogpagina.", code="already-active")
    had_account = staff["account_id"] is not None
    account_id = await ensure_account(conn, staff)
    await conn.execute("""UPDATE email_tokens SET used_at = now()
                          WHERE account_id = $1 AND purpose = 'invitation' AND used_at IS NULL""", account_id)
    token, expires_at = await issue_email_token(conn, purpose="invitation", email=staff["email"],
                                                ttl=timedelta(hours=settings.invitation_ttl_hours),
                                                account_id=account_id)
    await conn.execute("UPDATE staff SET invited_at = now() WHERE id = $1", staff_id)
    if not had_account:
        await publish_staff(conn, outbox, staff_id)
    await outbox.add(conn, StaffInvited(
        staff_id=staff_id, account_id=account_id, email=staff["email"], name=staff["name"], role=staff["role"],
        school_name=staff["school_name"], accept_url=settings.link(f"/account/uitnodiging?token={token}"),
        expires_at=expires_at), subject=str(staff_id))


async def load_staff(conn: asyncpg.Connection, where: str, *args, limit: int | None = None,
                     offset: int = 0) -> list[StaffOut]:
    page = f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}" if limit is not None else ""
    rows = await conn.fetch(
        f"""SELECT s.*, a.password_hash IS NOT NULL AS has_password,
                   coalesce(json_agg(json_build_object('class_id', c.id, 'name', c.name) ORDER BY c.name)
                            FILTER (WHERE c.id IS NOT NULL), '[]') AS classes
            FROM staff s LEFT JOIN accounts a ON a.id = s.account_id
            LEFT JOIN class_mentors cm ON cm.staff_id = s.id LEFT JOIN classes c ON c.id = cm.class_id
            WHERE {where} GROUP BY s.id, a.password_hash ORDER BY s.name, s.id{page}""",
        *args, *((limit, offset) if limit is not None else ()))
    out = []
    for r in rows:
        status = ("inactief" if not r["active"] else "actief" if r["has_password"]
                  else "uitgenodigd" if r["invited_at"] else "niet uitgenodigd")
        out.append(StaffOut(staff_id=r["id"], role=r["role"], role_label=ROLE_LABELS[r["role"]], name=r["name"],
                            email=r["email"], school_id=r["school_id"], account_id=r["account_id"],
                            active=r["active"], status=status,
                            invited_at=r["invited_at"].isoformat() if r["invited_at"] else None,
                            classes=[ClassRef(**c) for c in r["classes"]]))
    return out
