"""Student registration (BSN + e-mail), the links in mails that set a password (verification,
"wachtwoord vergeten", staff invitations).

**A BSN is a claim, not a key.** Whoever knows a student's BSN must gain nothing by typing it:

- Registration makes nothing yet and answers the same (202, same text) in every case. The BSN is
  checked (elfproef) and travels, encrypted, in the verification link mailed to the address typed
  in; following the link makes an account for that *address*, with the BSN as its *claim*. Several
  accounts (addresses) may claim one BSN: a second registration with the same BSN and another
  address is mailed like the first. An address that has an account already gets a notice instead
  ("er is al een account"); so does the account bound to the BSN (see below), so a student who
  forgot their account hears of it. Nobody else is told anything about a BSN.
- The binding that counts is the activation code (``activation_codes.py``): an account is linked to
  a roster student when it redeems that student's code and, where the roster holds a BSN, its claim
  equals it. One account per roster student: the first to redeem wins; every other account that
  claimed that BSN and is linked to no student is released then (its claim is emptied and
  ``bsn_released_at`` set; its owner is told at the next login). A squatter who registered first
  with someone's BSN therefore blocks nobody: the real student registers too, gets the mail and
  redeems the code from their school.
- Registration mails are spaced: at most one per address per ``MAIL_REPEAT_SECONDS`` (the mail
  guard), and registrations are counted per client IP address (``REGISTER_IP_*``, honouring
  ``TRUSTED_PROXIES`` as login does); beyond either limit nothing is sent, with the same answer.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.identity.context import HASHER, VAULT, api, client_ip, settings_of
from services.identity.domain.bsn import BsnError, normalize_bsn
from services.identity.domain.emails import normalize_email
from services.identity.domain.passwords import check_password
from services.identity.domain.throttle import Limits
from services.identity.schemas import Detail, SingleLineEmail
from services.identity.settings import IdentitySettings
from services.identity.store import throttle
from services.identity.store.email_links import LINK_GONE, consume_link, issue_email_token, open_link
from services.identity.store.mail_guard import mail_allowed
from services.identity.store.sessions import access_ended, end_sessions
from shared.api import json_response, read_body
from shared.app import DB, OUTBOX
from shared.events.identity_events import (AccountExistsNotice, PasswordChanged, PasswordResetRequested,
                                           VerificationRequested)
from shared.problems import Problem
from shared.text import SingleLine

REGISTERED = ("Bijna klaar! We hebben een e-mail gestuurd naar het adres dat je opgaf. "
              "Klik op de link in die e-mail om verder te gaan.")
RESET_REQUESTED = ("Als er een account bij dit e-mailadres hoort, ontvang je binnen enkele minuten een e-mail "
                   "met een link om een nieuw wachtwoord te kiezen.")


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bsn: SingleLine = Field(max_length=32, description="burgerservicenummer (9 cijfers)")
    email: SingleLineEmail = Field(max_length=254)


class PasswordLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: SingleLine = Field(min_length=1, max_length=200, description="the token from the link in the mail")
    password: SingleLine = Field(max_length=4096)


class ResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: SingleLineEmail = Field(max_length=254)


def _invalid(field: str, *messages: str) -> Problem:
    return Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input",
                   errors=[{"field": field, "message": m} for m in messages])


def register_limits(settings: IdentitySettings) -> Limits:
    return Limits(settings.register_ip_soft_limit, settings.register_ip_hard_limit,
                  timedelta(minutes=settings.throttle_window_minutes),
                  timedelta(minutes=settings.throttle_block_minutes), settings.throttle_max_delay_seconds)


@api.route("POST", "/v1/registrations", summary="Account aanmaken met BSN en e-mail (stap 2); "
           "stuurt een verificatiemail", body=RegistrationIn, response=Detail, status=202, tags=("account",))
async def register(request: web.Request) -> web.Response:
    body = await read_body(request, RegistrationIn)
    try:
        bsn = normalize_bsn(body.bsn)
    except BsnError as exc:
        raise _invalid("bsn", str(exc)) from None
    settings, vault = settings_of(request), request.app[VAULT]
    email = normalize_email(str(body.email))
    bsn_hmac = vault.bsn_hash(bsn)
    ip_key = vault.lookup_hash(client_ip(request), purpose="register-ip")
    limits = register_limits(settings)
    async with request.app[DB].acquire(timeout=10) as conn:
        # every registration counts for the client's address (as a failure counts for a login),
        # in a statement of its own (a school's network behind one address waits for no one's
        # transaction); then at most one mail per address per interval. Beyond either, nothing is
        # sent, and the answer is the same.
        if await throttle.count_failure(conn, "register-ip", ip_key, limits):
            async with conn.transaction():
                if await mail_allowed(conn, vault, "register", email, settings.mail_repeat_seconds):
                    await _mail_registration(conn, request, bsn, email, bsn_hmac)
    return json_response(Detail(detail=REGISTERED), status=202)


# the account of the address typed in, and the account bound to the BSN (a redeemed code) when it
# is another: one round trip
_OWNERS = """SELECT id, email, true AS own FROM accounts WHERE email = $2
             UNION ALL
             (SELECT a.id, a.email, false FROM accounts a JOIN students s ON s.account_id = a.id
              WHERE a.bsn_hmac = $1 AND s.bsn_hmac = $1 AND a.email <> $2 LIMIT 1)"""


async def _mail_registration(conn: asyncpg.Connection, request: web.Request, bsn: str, email: str,
                             bsn_hmac: bytes) -> None:
    settings, vault, outbox = settings_of(request), request.app[VAULT], request.app[OUTBOX]
    rows = await conn.fetch(_OWNERS, bsn_hmac, email)
    owner = next((r for r in rows if r["own"]), None)
    bound = next((r for r in rows if not r["own"]), None)
    if owner is not None:
        await _exists_notice(conn, outbox, settings, owner)
    else:
        token_id = uuid.uuid4()
        token, expires_at = await issue_email_token(
            conn, purpose="verification", email=email, ttl=timedelta(hours=settings.verification_ttl_hours),
            bsn_ciphertext=vault.encrypt_bsn(bsn), bsn_hmac=bsn_hmac, token_id=token_id)
        await outbox.add(conn, VerificationRequested(
            verification_id=token_id, email=email, expires_at=expires_at,
            verify_url=settings.link(f"/account/verifieren?token={token}")), subject=str(token_id))
    # the account bound to this BSN (a redeemed code): its owner hears that someone tried
    if bound is not None and await mail_allowed(conn, vault, "exists", bound["email"], settings.mail_repeat_seconds):
        await _exists_notice(conn, outbox, settings, bound)


async def _exists_notice(conn: asyncpg.Connection, outbox, settings: IdentitySettings, owner: asyncpg.Record) -> None:
    await outbox.add(conn, AccountExistsNotice(
        account_id=owner["id"], email=owner["email"], login_url=settings.link("/inloggen"),
        reset_url=settings.link("/account/wachtwoord-vergeten")), subject=str(owner["id"]))


async def _new_password_hash(request: web.Request, password: str, email: str) -> str:
    problems = check_password(password, email=email)
    if problems:
        raise _invalid("password", *problems)
    return await request.app[HASHER].hash(password)


@api.route("POST", "/v1/registrations/confirm", summary="Link uit de verificatiemail volgen: e-mailadres "
           "bevestigd, wachtwoord gekozen, account gemaakt (stap 3-4)", body=PasswordLinkIn, response=Detail,
           tags=("account",), statuses=(409, 410))
async def confirm_registration(request: web.Request) -> web.Response:
    body = await read_body(request, PasswordLinkIn)
    async with request.app[DB].acquire(timeout=10) as conn:
        link = await open_link(conn, body.token, "verification")
    password_hash = await _new_password_hash(request, body.password, link["email"])
    try:
        async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
            await consume_link(conn, link["id"])
            await conn.execute(
                """INSERT INTO accounts (id, email, kind, password_hash, email_verified_at, bsn_ciphertext, bsn_hmac,
                                         password_changed_at)
                   VALUES ($1, $2, 'student', $3, now(), $4, $5, now())""",
                uuid.uuid4(), link["email"], password_hash, link["bsn_ciphertext"], link["bsn_hmac"])
    except asyncpg.UniqueViolationError:  # an account for this address was made meanwhile (another link)
        raise Problem(409, "Er is al een account met dit e-mailadres. Log in, of kies 'wachtwoord vergeten'.",
                      code="account-exists") from None
    return json_response(Detail(detail="Je e-mailadres is bevestigd en je wachtwoord is ingesteld. "
                                       "Je kunt nu inloggen met je e-mailadres en wachtwoord."))


@api.route("POST", "/v1/password-resets", summary="Wachtwoord vergeten: stuurt een link als het adres bekend is "
           "(zelfde antwoord als het niet bekend is)", body=ResetIn, response=Detail, status=202, tags=("account",))
async def request_reset(request: web.Request) -> web.Response:
    body = await read_body(request, ResetIn)
    settings, vault, outbox = settings_of(request), request.app[VAULT], request.app[OUTBOX]
    email = normalize_email(str(body.email))
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        account = await conn.fetchrow("SELECT id, email FROM accounts WHERE email = $1 AND active", email)
        if account and await mail_allowed(conn, vault, "reset", email, settings.mail_repeat_seconds):
            await conn.execute("""UPDATE email_tokens SET used_at = now()
                                  WHERE account_id = $1 AND purpose = 'password_reset' AND used_at IS NULL""",
                               account["id"])
            token, expires_at = await issue_email_token(
                conn, purpose="password_reset", email=email, account_id=account["id"],
                ttl=timedelta(minutes=settings.password_reset_ttl_minutes))
            await outbox.add(conn, PasswordResetRequested(
                account_id=account["id"], email=email, expires_at=expires_at,
                reset_url=settings.link(f"/account/wachtwoord-herstellen?token={token}")),
                subject=str(account["id"]))
    return json_response(Detail(detail=RESET_REQUESTED), status=202)


async def _set_password_by_link(request: web.Request, body: PasswordLinkIn, purpose: str) -> None:
    async with request.app[DB].acquire(timeout=10) as conn:
        link = await open_link(conn, body.token, purpose)
    password_hash = await _new_password_hash(request, body.password, link["email"])
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        await consume_link(conn, link["id"])
        account = await conn.fetchrow(
            """UPDATE accounts SET password_hash = $2, password_changed_at = now(),
                      email_verified_at = coalesce(email_verified_at, now())
               WHERE id = $1 AND active RETURNING id, email, password_changed_at""", link["account_id"], password_hash)
        if account is None:
            raise Problem(410, LINK_GONE, code="link-expired")
        # every open link of this account stops working, every session ends
        await conn.execute("""UPDATE email_tokens SET used_at = now() WHERE account_id = $1 AND used_at IS NULL
                              AND purpose IN ('password_reset', 'invitation')""", account["id"])
        ended, ended_at = await end_sessions(conn, account["id"])
        if purpose == "password_reset" or ended:
            # every service refuses the tokens made until now
            await access_ended(conn, request.app[OUTBOX], account["id"], "password_changed", ended_at)
            await request.app[OUTBOX].add(conn, PasswordChanged(
                account_id=account["id"], email=account["email"], changed_at=account["password_changed_at"]),
                subject=str(account["id"]))


@api.route("POST", "/v1/password-resets/confirm", summary="Nieuw wachtwoord via de link uit de mail; beëindigt "
           "alle sessies", body=PasswordLinkIn, response=Detail, tags=("account",), statuses=(410,))
async def confirm_reset(request: web.Request) -> web.Response:
    body = await read_body(request, PasswordLinkIn)
    await _set_password_by_link(request, body, "password_reset")
    return json_response(Detail(detail="Je nieuwe wachtwoord is ingesteld. Je bent overal uitgelogd; "
                                       "log opnieuw in met je nieuwe wachtwoord."))


@api.route("POST", "/v1/invitations/accept", summary="Uitnodiging aannemen: wachtwoord kiezen (medewerkers)",
           body=PasswordLinkIn, response=Detail, tags=("account",), statuses=(410,))
async def accept_invitation(request: web.Request) -> web.Response:
    body = await read_body(request, PasswordLinkIn)
    await _set_password_by_link(request, body, "invitation")
    return json_response(Detail(detail="Welkom! Je wachtwoord is ingesteld. Je kunt nu inloggen."))
