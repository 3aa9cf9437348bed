"""Activation codes (manual 1.1 and 1.2): issued by a counsellor (whole school) or a mentor
(their classes) to a school year, a class or one student, by e-mail or by printed letter; redeemed
by a logged-in student, which links the account to the roster record.

- Bulk issuing (a year, a class) skips students whose account is already linked, whose code is
  still valid, and, by e-mail, students without an address: the answer lists them with the reason,
  so they can get a letter. Issuing to one student replaces a code that is still valid (a lost
  letter); the earlier code stops working.
- Only a hash of a code is stored; the code itself travels only in the event that makes the mail
  (identity.activation_code_issued) or the print job (identity.activation_letters_requested).
- ``Idempotency-Key`` (header or body field): the same request again returns the first answer and
  makes no second batch (a double click).
- Redeeming binds the account to the roster student (one account per student): where the roster
  holds the student's BSN, the BSN the account claimed at registration must match (else the same
  answer as a wrong code), and every other account that claimed that BSN and is linked to nobody
  is released (``store/bsn_claims.py``; the rule: ``accounts.py``). Tries are throttled per
  account, counted before the code is looked up, so parallel tries cannot pass the limit.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.identity.access import CODE_ISSUERS, caller
from services.identity.context import VAULT, api, settings_of, single_line_param
from services.identity.domain.activation_codes import (CodeFormatError, CodeStatus, code_status, default_expiry,
                                                       hash_code, legacy_hash_code, new_code, normalize_code)
from services.identity.domain.names import full_name, sort_name
from services.identity.domain.throttle import Limits
from services.identity.routes.sessions import fresh_access_token
from services.identity.schemas import StudentOut, single_line
from services.identity.settings import IdentitySettings
from services.identity.store import throttle
from services.identity.store.bsn_claims import release_other_claims
from services.identity.store.students import ACCOUNT_EMAIL, STUDENT_QUERY, student_event, student_out
from shared.api import Header, json_response, omittable, read_body
from shared.app import DB, OUTBOX
from shared.auth import require
from shared.events.identity_events import (ActivationCodeIssued, ActivationCodeRedeemed, ActivationLetter,
                                           ActivationLettersRequested, BsnClaimReleased)
from shared.problems import Problem
from shared.text import SingleLine

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WRONG_CODE = "Deze activatiecode klopt niet. Controleer de code, of vraag je mentor of decaan om een nieuwe."
EXPIRED_CODE = "Deze activatiecode is verlopen. Vraag je mentor of decaan om een nieuwe."
ALREADY_LINKED = ("Je account is al gekoppeld aan een leerling. Neem contact op met je mentor of decaan als dat "
                  "niet klopt.")
CHANNEL_LABEL = {"email": "per e-mail", "letter": "per brief"}


IDEMPOTENCY_KEY = Header("Idempotency-Key", "zelfde sleutel, zelfde batch: een herhaald verzoek maakt geen tweede "
                                            "(of het veld idempotency_key)")


class IssueIn(BaseModel):
    """Exactly one of school_year, class_id and student_id: who get a code."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["school_year"]}, {"required": ["class_id"]}, {"required": ["student_id"]}]})
    channel: Literal["email", "letter"]
    school_year: int = omittable(ge=1, le=8, strict=True, description="een heel leerjaar")
    class_id: uuid.UUID = omittable(description="één klas")
    student_id: uuid.UUID = omittable(description="één leerling")
    idempotency_key: single_line(min_length=1, max_length=200) | None = Field(
        None, description="of de header Idempotency-Key: zelfde sleutel, zelfde batch")

    @model_validator(mode="after")
    def _one_scope(self) -> "IssueIn":
        if sum(x is not None for x in (self.school_year, self.class_id, self.student_id)) != 1:
            raise ValueError("Kies precies één van: een leerjaar, een klas of een leerling.")
        return self


class StudentRef(BaseModel):
    student_id: uuid.UUID
    name: str
    class_name: str


class Skipped(StudentRef):
    reason: str


class BatchOut(BaseModel):
    batch_id: uuid.UUID
    channel: str
    detail: str
    expires_on: date
    issued: list[StudentRef]
    skipped: list[Skipped]


def expiry(settings: IdentitySettings) -> date:
    today = datetime.now(AMSTERDAM).date()
    if settings.activation_code_valid_days:
        return today + timedelta(days=settings.activation_code_valid_days)
    return default_expiry(today)


def _fingerprint(body: IssueIn) -> str:
    data = body.model_dump(mode="json", exclude={"idempotency_key"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


async def _scope(conn: asyncpg.Connection, who, body: IssueIn) -> tuple[str, list]:
    """SQL condition and arguments (from $2 on; $1 is the visibility) for the students in scope."""
    if body.student_id is not None:
        return "s.id = $2", [body.student_id]
    if body.class_id is not None:
        school_id = await conn.fetchval("SELECT school_id FROM classes WHERE id = $1", body.class_id)
        if school_id is None or not who.may_see_class(body.class_id, school_id):
            raise Problem(404, "Deze klas bestaat niet.")
        return "s.class_id = $2", [body.class_id]
    return "s.school_year = $2", [body.school_year]


def _skip_reason(r: asyncpg.Record, status: CodeStatus, body: IssueIn) -> str | None:
    if r["account_id"] is not None or status is CodeStatus.REDEEMED:
        return "heeft de code al ingewisseld (account gekoppeld)"
    if status is CodeStatus.ISSUED and body.student_id is None:
        return (f"heeft al een geldige code ({CHANNEL_LABEL[r['channel']]} verstrekt op "
                f"{r['issued_at'].astimezone(AMSTERDAM):%d-%m-%Y})")
    if body.channel == "email" and not r["email"]:
        return "geen e-mailadres bekend: geef deze leerling de code per brief"
    return None


@api.route("POST", "/v1/activation-codes", summary="Activatiecodes verstrekken aan een leerjaar, klas of leerling, "
           "per e-mail of brief (decaan: school; mentor: eigen klassen)", body=IssueIn, response=BatchOut,
           status=201, tags=("activatiecodes",), auth=True, statuses=(404,), headers=(IDEMPOTENCY_KEY,))
async def issue_codes(request: web.Request) -> web.Response:
    await require(request, *CODE_ISSUERS)
    body = await read_body(request, IssueIn)
    key = single_line_param(request.headers.get("Idempotency-Key", "").strip(), "Idempotency-Key")[:200] \
        or body.idempotency_key
    settings, outbox = settings_of(request), request.app[OUTBOX]
    fingerprint = _fingerprint(body)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        who = await caller(request, conn, *CODE_ISSUERS)
        account_id = who.principal.account_id
        batch_id = uuid.uuid4()
        created = await conn.fetchval(
            """INSERT INTO activation_batches (id, school_id, channel, scope, requested_by, idempotency_key, fingerprint)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (requested_by, idempotency_key) DO NOTHING
               RETURNING true""", batch_id, who.school_id, body.channel,
            "student" if body.student_id else "class" if body.class_id else "school_year", account_id, key, fingerprint)
        if not created:  # the same request again (a double click): the first answer, no second batch
            first = await conn.fetchrow(
                "SELECT fingerprint, response FROM activation_batches WHERE requested_by = $1 AND idempotency_key = $2",
                account_id, key)
            if first["fingerprint"] != fingerprint or first["response"] is None:
                raise Problem(422, "Deze Idempotency-Key hoort bij een andere opdracht. Gebruik een nieuwe sleutel.",
                              code="idempotency-key-reused")
            return json_response(first["response"], status=201, headers={"Idempotent-Replayed": "true"})

        cond, value = who.student_condition("s", 1)
        scope_sql, scope_args = await _scope(conn, who, body)
        rows = await conn.fetch(
            STUDENT_QUERY.replace("SELECT s.*", "SELECT s.*, ac.id AS code_id")
            + f" WHERE {cond} AND s.active AND {scope_sql} ORDER BY c.name, s.achternaam, s.roepnaam FOR UPDATE OF s",
            value, *scope_args)
        if body.student_id is not None and not rows:
            raise Problem(404, "Deze leerling bestaat niet.")
        now = datetime.now(UTC)
        expires_on = expiry(settings)
        issue, skipped = [], []
        for r in rows:
            name = full_name(r["roepnaam"], r["tussenvoegsel"], r["achternaam"])
            reason = _skip_reason(r, code_status(r["issued_at"], r["expires_on"], r["redeemed_at"], now), body)
            if reason:
                skipped.append(Skipped(student_id=r["id"], name=name, class_name=r["class_name"], reason=reason))
            else:
                issue.append((r, name, new_code()))
        if issue:
            ids = [r["id"] for r, _, _ in issue]
            await conn.execute("UPDATE activation_codes SET invalidated_at = now() "
                               "WHERE student_id = ANY($1::uuid[]) AND invalidated_at IS NULL", ids)
            code_ids = [uuid.uuid4() for _ in issue]
            await conn.execute(
                """INSERT INTO activation_codes (id, student_id, batch_id, code_hash, channel, expires_on)
                   SELECT i, s, $3, h, $4, $5 FROM unnest($1::uuid[], $2::uuid[], $6::text[]) AS t(i, s, h)""",
                code_ids, ids, batch_id, body.channel, expires_on,
                [hash_code(normalize_code(code), settings.code_key_bytes()) for _, _, code in issue])
            school_name = await conn.fetchval("SELECT name FROM schools WHERE id = $1", who.school_id)
            register_url = settings.link("/account/nieuw")
            await outbox.add_many(conn, [(ActivationCodeIssued(
                code_id=cid, batch_id=batch_id, student_id=r["id"], school_id=who.school_id, school_name=school_name,
                channel=body.channel, email=r["email"] if body.channel == "email" else None, student_name=name,
                code=code if body.channel == "email" else None, expires_at=expires_on, register_url=register_url),
                str(r["id"])) for cid, (r, name, code) in zip(code_ids, issue)])
            if body.channel == "letter":
                requester_email = await conn.fetchval("SELECT email FROM accounts WHERE id = $1", account_id)
                letters = sorted((ActivationLetter(
                    student_id=r["id"], student_name=name, class_name=r["class_name"], code=code,
                    sort_name=sort_name(r["roepnaam"], r["tussenvoegsel"], r["achternaam"]))
                    for r, name, code in issue), key=lambda x: (x.class_name, x.sort_name.casefold()))
                await outbox.add(conn, ActivationLettersRequested(
                    batch_id=batch_id, school_id=who.school_id, school_name=school_name, requested_by=account_id,
                    requested_by_email=requester_email, expires_at=expires_on, register_url=register_url,
                    letters=letters), subject=str(batch_id))
        n = len(issue)
        what = ("e-mail" if n == 1 else "e-mails") if body.channel == "email" else ("brief" if n == 1 else "brieven")
        detail = (f"{n} activatiecode{'s' if n != 1 else ''} verstrekt ({n} {what})."
                  + (f" {len(skipped)} leerling{'en' if len(skipped) != 1 else ''} overgeslagen." if skipped else ""))
        out = BatchOut(batch_id=batch_id, channel=body.channel, detail=detail, expires_on=expires_on,
                       issued=[StudentRef(student_id=r["id"], name=name, class_name=r["class_name"])
                               for r, name, _ in issue], skipped=skipped)
        await conn.execute("UPDATE activation_batches SET response = $2 WHERE id = $1", batch_id,
                           out.model_dump(mode="json"))
    return json_response(out, status=201)


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: SingleLine = Field(max_length=40, description="de activatiecode, bijv. 7KQM-X2RD-HP")


class RedeemOut(BaseModel):
    detail: str
    student: StudentOut
    access_token: str = Field(description="a fresh access token that names the linked student record")
    released_claims: int = Field(0, description="other accounts that had claimed this student's BSN and were "
                                                "released by this redemption")


def redeem_limits(settings: IdentitySettings) -> Limits:
    return Limits(settings.redeem_soft_limit, settings.redeem_hard_limit,
                  timedelta(minutes=settings.throttle_window_minutes),
                  timedelta(minutes=settings.throttle_block_minutes), settings.throttle_max_delay_seconds)


@api.route("POST", "/v1/activation-codes/redeem", summary="Activatiecode inwisselen (leerling, stap 6): koppelt het "
           "account aan de leerling op de school", body=RedeemIn, response=RedeemOut, tags=("activatiecodes",),
           auth=True, statuses=(409,))
async def redeem_code(request: web.Request) -> web.Response:
    principal = await require(request, "student")
    body = await read_body(request, RedeemIn)
    try:
        normalized = normalize_code(body.code)
    except CodeFormatError as exc:
        raise Problem(422, str(exc), code="invalid-input", errors=[{"field": "code", "message": str(exc)}]) from None
    settings, vault, outbox = settings_of(request), request.app[VAULT], request.app[OUTBOX]
    limits = redeem_limits(settings)
    key = vault.lookup_hash(str(principal.account_id), purpose="redeem")
    failure: str | None = None
    released: list[asyncpg.Record] = []
    async with request.app[DB].acquire(timeout=10) as conn:
        # the try is counted (in flight) before the code is looked up: parallel tries count one by
        # one, and one beyond the limit is refused without a look-up, with the answer of a wrong code
        if not await throttle.reserve(conn, [("redeem", key, limits)]):
            raise Problem(422, WRONG_CODE, code="wrong-code", errors=[{"field": "code", "message": WRONG_CODE}])
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        # the code and its student before the account: the order in which every redemption locks
        code = await conn.fetchrow(
            """SELECT ac.*, s.bsn_hmac, s.account_id FROM activation_codes ac JOIN students s ON s.id = ac.student_id
               WHERE ac.code_hash = ANY($1::text[]) FOR UPDATE OF ac, s""",
            [hash_code(normalized, settings.code_key_bytes()), legacy_hash_code(normalized)])
        account = await conn.fetchrow("SELECT id, bsn_hmac FROM accounts WHERE id = $1 FOR UPDATE",
                                      principal.account_id)
        linked = await conn.fetchval("SELECT id FROM students WHERE account_id = $1", principal.account_id)
        already_mine = code is not None and code["redeemed_by"] == account["id"] and linked == code["student_id"]
        if already_mine:  # a second click
            await throttle.release(conn, "redeem", key)
        elif (code is None or code["invalidated_at"] is not None or code["redeemed_at"] is not None
                or code["account_id"] is not None
                or (code["bsn_hmac"] is not None and code["bsn_hmac"] != account["bsn_hmac"])):
            failure = WRONG_CODE
            await throttle.failed(conn, "redeem", key, limits)
        elif code_status(code["issued_at"], code["expires_on"], None, datetime.now(UTC)) is CodeStatus.EXPIRED:
            failure = EXPIRED_CODE  # a real code, no guess
            await throttle.release(conn, "redeem", key)
        elif linked is not None:
            failure = ALREADY_LINKED  # a real code, no guess
            await throttle.release(conn, "redeem", key)
        else:
            await conn.execute("UPDATE activation_codes SET redeemed_at = now(), redeemed_by = $2 WHERE id = $1",
                               code["id"], account["id"])
            student = await conn.fetchrow(  # with the account's address: mail to the student goes there
                "UPDATE students SET account_id = $2, updated_at = now() WHERE id = $1 RETURNING *, "
                + ACCOUNT_EMAIL.format(alias="students"), code["student_id"], account["id"])
            await throttle.reset(conn, "redeem", key)
            if code["bsn_hmac"] is not None:  # bound by the BSN: the other claims on it go, and their
                # owners are told (a mail now, and GET /v1/me "notice" at their next login)
                released = await release_other_claims(conn, code["bsn_hmac"], account["id"])
                await outbox.add_many(conn, [(BsnClaimReleased(
                    account_id=r["id"], email=r["email"], released_at=r["bsn_released_at"],
                    login_url=settings.link("/inloggen")), str(r["id"])) for r in released])
            class_name = await conn.fetchval("SELECT name FROM classes WHERE id = $1", student["class_id"])
            await outbox.add(conn, ActivationCodeRedeemed(student_id=student["id"], account_id=account["id"],
                                                          school_id=student["school_id"]),
                             subject=str(student["id"]))
            await outbox.add(conn, student_event(student, class_name), subject=str(student["id"]))
        if failure is None:
            row = await conn.fetchrow(STUDENT_QUERY + " WHERE s.id = $1", code["student_id"])
            token = await fresh_access_token(request, conn, principal)
    if failure == ALREADY_LINKED:
        raise Problem(409, ALREADY_LINKED, code="already-linked")
    if failure is not None:
        raise Problem(422, failure, code="wrong-code" if failure == WRONG_CODE else "code-expired",
                      errors=[{"field": "code", "message": failure}])
    detail = "Gelukt! Je account is gekoppeld aan je school. Je kunt nu een nieuw dossier starten."
    if released:
        detail += (" Er waren nog andere accounts gemaakt met jouw BSN; die zijn nu niet meer aan jouw BSN "
                   "gekoppeld. Alleen dit account hoort bij jou als leerling.")
    return json_response(RedeemOut(detail=detail, student=student_out(row, datetime.now(UTC)), access_token=token,
                                   released_claims=len(released)))
