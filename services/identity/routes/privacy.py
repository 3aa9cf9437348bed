"""A student's right of access: everything identity holds about them, as JSON.

Identity holds a student's account (with the BSN they registered with), the roster record the
school imported (names, student number, date of birth, class, school, e-mail, BSN), their
activation codes, sessions, the single-use links mailed to them, failure counters and, for 30 days,
the events it published about them. The BSN is only shown masked (``*****1234``); hashes, tokens
and codes never leave. Consent and inspection by parents are kept with the dossier (the dossier
service's own export), not here: identity only knows the school's rule.

Only a student asks: staff get 403 (the endpoint exists, it is not theirs; staff see their own
account at /v1/me).
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.identity.context import VAULT, api
from services.identity.domain.activation_codes import code_status
from services.identity.schemas import Ref
from services.identity.vault import Vault
from shared.api import json_response
from shared.app import DB
from shared.auth import require
from shared.problems import Problem

PARENT_RULES = {"consent": "je ouder of verzorger moet akkoord geven (onder de 18)",
                "inspection": "je ouder of verzorger mag je dossier lezen (onder de 18)",
                "none": "je ouder of verzorger hoeft niets te doen"}
LINK_PURPOSES = {"verification": "e-mailadres bevestigen", "password_reset": "wachtwoord vergeten",
                 "invitation": "uitnodiging"}
THROTTLES = {"login-account": "mislukte inlogpogingen", "redeem": "verkeerde activatiecodes"}


def masked_bsn(vault: Vault, ciphertext: bytes | None) -> str | None:
    """``*****1234``: enough to recognise, never the whole number."""
    if ciphertext is None:
        return None
    return "*****" + vault.decrypt_bsn(ciphertext)[-4:]


class AccountData(BaseModel):
    account_id: uuid.UUID
    email: str
    created_at: datetime
    email_verified_at: datetime | None
    password_changed_at: datetime | None
    active: bool
    bsn: str | None = Field(description="masked: *****1234")


class SchoolRef(Ref):
    city: str | None
    brin: str | None


class RosterData(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    student_id: uuid.UUID
    student_number: str
    roepnaam: str
    voornamen: str
    tussenvoegsel: str
    achternaam: str
    date_of_birth: date
    email: str | None
    school_year: int
    class_: Ref = Field(alias="class")
    school: SchoolRef
    bsn: str | None = Field(description="masked: *****1234")
    active: bool
    left_on: date | None = Field(None, description="the day the school marked you as left")
    parents: list[dict] | None = Field(None, description="your parents or guardians as the school's roster has them")
    created_at: datetime
    updated_at: datetime


class CodeData(BaseModel):
    status: str = Field(description="issued | expired | redeemed | replaced (a newer code came)")
    label: str
    channel: str
    issued_at: datetime
    expires_on: date
    redeemed_at: datetime | None
    replaced_at: datetime | None


class SessionData(BaseModel):
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    current: bool


class LinkData(BaseModel):
    purpose: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class CounterData(BaseModel):
    what: str
    failures: int
    last_failure_at: datetime
    blocked_until: datetime | None


class EventData(BaseModel):
    type: str
    created_at: datetime
    published_at: datetime | None


class ParentData(BaseModel):
    school_rule: str | None
    school_rule_label: str | None
    records: list[dict] = Field(default_factory=list, description="identity keeps none: see the dossier's export")
    note: str


class MyData(BaseModel):
    about: str
    exported_at: datetime
    account: AccountData
    student: RosterData | None = Field(description="the roster record, once an activation code is redeemed")
    activation_codes: list[CodeData]
    sessions: list[SessionData]
    mail_links: list[LinkData]
    security_counters: list[CounterData]
    parent_consent: ParentData
    events: list[EventData] = Field(description="messages to the other services about you (kept 30 days)")


def _code(c, now: datetime) -> CodeData:
    status = code_status(c["issued_at"], c["expires_on"], c["redeemed_at"], now)
    replaced = c["invalidated_at"] is not None
    return CodeData(status="replaced" if replaced else status.value,
                    label="vervangen door een nieuwere code" if replaced else status.label, channel=c["channel"],
                    issued_at=c["issued_at"], expires_on=c["expires_on"], redeemed_at=c["redeemed_at"],
                    replaced_at=c["invalidated_at"])


@api.route("GET", "/v1/me/data", summary="Al mijn gegevens in identity, als JSON (recht op inzage; leerling). "
           "Het BSN alleen gemaskeerd", response=MyData, tags=("privacy",), auth=True, statuses=(404,))
async def my_data(request: web.Request) -> web.Response:
    principal = await require(request, "student")
    vault = request.app[VAULT]
    now = datetime.now(UTC)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        account = await conn.fetchrow("SELECT * FROM accounts WHERE id = $1 AND kind = 'student'", principal.account_id)
        if account is None:
            raise Problem(404, "Dit account bestaat niet (meer).")
        student = await conn.fetchrow(
            """SELECT s.*, c.name AS class_name, sc.name AS school_name, sc.city, sc.brin, sc.parent_rule
               FROM students s JOIN classes c ON c.id = s.class_id JOIN schools sc ON sc.id = s.school_id
               WHERE s.account_id = $1""", account["id"])
        codes = await conn.fetch("SELECT * FROM activation_codes WHERE student_id = $1 ORDER BY issued_at",
                                 student["id"]) if student else []
        sessions = await conn.fetch("SELECT * FROM sessions WHERE account_id = $1 ORDER BY created_at", account["id"])
        links = await conn.fetch(
            """SELECT purpose, created_at, expires_at, used_at FROM email_tokens
               WHERE account_id = $1 OR (account_id IS NULL AND email = $2) ORDER BY created_at""",
            account["id"], account["email"])
        counters = await conn.fetch(
            """SELECT scope, failures, last_failure_at, blocked_until FROM throttle
               WHERE (scope, key) IN (('login-account', $1), ('redeem', $2)) ORDER BY scope""",
            vault.lookup_hash(account["email"], purpose="login-account"),
            vault.lookup_hash(str(account["id"]), purpose="redeem"))
        subjects = [str(account["id"])] + ([str(student["id"])] if student else [])
        events = await conn.fetch("""SELECT event_type, created_at, published_at FROM outbox
                                     WHERE envelope->>'subject' = ANY($1::text[]) ORDER BY id""", subjects)
    roster = None
    if student:
        roster = RosterData.model_validate({
            **{k: student[k] for k in ("student_number", "roepnaam", "voornamen", "tussenvoegsel", "achternaam",
                                       "date_of_birth", "email", "school_year", "active", "left_on", "parents",
                                       "created_at", "updated_at")},
            "student_id": student["id"], "class": Ref(id=student["class_id"], name=student["class_name"]),
            "school": SchoolRef(id=student["school_id"], name=student["school_name"], city=student["city"],
                                brin=student["brin"]),
            "bsn": masked_bsn(vault, student["bsn_ciphertext"])})
    rule = student["parent_rule"] if student else None
    body = MyData(
        about="Alle gegevens die de identiteitsdienst van Doorstroom over jou bewaart: je account, je gegevens "
              "uit de leerlingadministratie van je school, je activatiecodes en je sessies. Je BSN staat er "
              "alleen gemaskeerd in.",
        exported_at=now,
        account=AccountData(account_id=account["id"], email=account["email"], created_at=account["created_at"],
                            email_verified_at=account["email_verified_at"],
                            password_changed_at=account["password_changed_at"], active=account["active"],
                            bsn=masked_bsn(vault, account["bsn_ciphertext"])),
        student=roster,
        activation_codes=[_code(c, now) for c in codes],
        sessions=[SessionData(created_at=x["created_at"], last_used_at=x["refreshed_at"] or x["created_at"],
                              expires_at=x["expires_at"], ended_at=x["ended_at"],
                              current=str(x["id"]) == principal.session_id) for x in sessions],
        mail_links=[LinkData(purpose=LINK_PURPOSES.get(x["purpose"], x["purpose"]), created_at=x["created_at"],
                             expires_at=x["expires_at"], used_at=x["used_at"]) for x in links],
        security_counters=[CounterData(what=THROTTLES[x["scope"]], failures=x["failures"],
                                       last_failure_at=x["last_failure_at"], blocked_until=x["blocked_until"])
                           for x in counters],
        parent_consent=ParentData(
            school_rule=rule, school_rule_label=PARENT_RULES.get(rule) if rule else None,
            note="Akkoord of inzage door je ouder of verzorger wordt bij je dossier bewaard, niet hier: zie het "
                 "dossierdeel van je gegevens."),
        events=[EventData(type=e["event_type"], created_at=e["created_at"], published_at=e["published_at"])
                for e in events])
    response = json_response(body)
    response.headers["Content-Disposition"] = 'attachment; filename="mijn-gegevens-identiteit.json"'
    return response
