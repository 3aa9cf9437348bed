"""Changing the password while logged in ("wachtwoord wijzigen"): with the current password, under
the same rules as a new one. Wrong current passwords count towards a block like failed logins; the
other sessions of the account end (a stolen session does not outlive the change; identity.access_ended
tells the other services), open reset links stop working, and the owner gets a notice mail. A try is
counted before the current password is checked, so parallel tries cannot pass the limit."""
from __future__ import annotations

import uuid

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.identity.context import HASHER, VAULT, api, settings_of
from services.identity.domain.passwords import check_password
from services.identity.routes.sessions import NOT_LOGGED_IN, login_limits
from services.identity.schemas import Detail
from services.identity.store import throttle
from services.identity.store.sessions import access_ended, end_sessions
from shared.api import json_response, read_body
from shared.app import DB, OUTBOX
from shared.auth import Principal, require
from shared.events.identity_events import PasswordChanged
from shared.problems import Problem
from shared.text import SingleLine

WRONG_CURRENT = "Je huidige wachtwoord klopt niet."
TOO_MANY = "Te vaak een verkeerd wachtwoord. Probeer het over een tijdje opnieuw."


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: SingleLine = Field(max_length=4096)
    new_password: SingleLine = Field(max_length=4096)


def _invalid(field: str, *messages: str) -> Problem:
    return Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input",
                   errors=[{"field": field, "message": m} for m in messages])


async def _account(conn: asyncpg.Connection, principal: Principal) -> asyncpg.Record:
    account = await conn.fetchrow(
        """SELECT a.id, a.email, a.password_hash FROM accounts a JOIN sessions s ON s.account_id = a.id
           WHERE a.id = $1 AND a.active AND s.id = $2::uuid AND s.ended_at IS NULL AND s.expires_at > now()""",
        principal.account_id, principal.session_id)
    if account is None:
        raise Problem(401, NOT_LOGGED_IN, code="session-ended")
    return account


@api.route("POST", "/v1/me/password", summary="Wachtwoord wijzigen (ingelogd) met het huidige wachtwoord; "
           "de andere sessies eindigen", body=PasswordChangeIn, response=Detail, tags=("account",), auth=True,
           statuses=(409, 429))
async def change_password(request: web.Request) -> web.Response:
    principal = await require(request)
    body = await read_body(request, PasswordChangeIn)
    settings, hasher = settings_of(request), request.app[HASHER]
    limits, _ = login_limits(settings)
    key = request.app[VAULT].lookup_hash(str(principal.account_id), purpose="password-change")
    async with request.app[DB].acquire(timeout=10) as conn:
        account = await _account(conn, principal)
        # counted before the (slow) check: parallel tries count one by one; one beyond the limit is
        # refused without a check
        if not await throttle.reserve(conn, [("password-change", key, limits)]):
            raise Problem(429, TOO_MANY, code="too-many-tries")
    right = await hasher.verify(account["password_hash"], body.current_password)  # off the loop
    async with request.app[DB].acquire(timeout=10) as conn:
        if not right:
            await throttle.failed(conn, "password-change", key, limits)
            raise _invalid("current_password", WRONG_CURRENT)
        await throttle.reset(conn, "password-change", key)  # the right password, as a login
    if body.new_password == body.current_password:
        raise _invalid("new_password", "Kies een ander wachtwoord dan je huidige.")
    if problems := check_password(body.new_password, email=account["email"]):
        raise _invalid("new_password", *problems)
    new_hash = await hasher.hash(body.new_password)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        changed_at = await conn.fetchval(
            """UPDATE accounts SET password_hash = $2, password_changed_at = now()
               WHERE id = $1 AND password_hash = $3 RETURNING password_changed_at""",
            account["id"], new_hash, account["password_hash"])
        if changed_at is None:  # changed in between (another tab, a reset link)
            raise Problem(409, "Je wachtwoord is net op een andere manier gewijzigd. Log opnieuw in.",
                          code="password-changed")
        await conn.execute("""UPDATE email_tokens SET used_at = now()
                              WHERE account_id = $1 AND used_at IS NULL AND purpose = 'password_reset'""",
                           account["id"])
        # the other sessions end; every service refuses the tokens made until now (this session's
        # too: its refresh token, which goes on working, makes a new one)
        _, ended_at = await end_sessions(conn, account["id"], keep=uuid.UUID(principal.session_id))
        await access_ended(conn, request.app[OUTBOX], account["id"], "password_changed", ended_at)
        await request.app[OUTBOX].add(conn, PasswordChanged(
            account_id=account["id"], email=account["email"], changed_at=changed_at), subject=str(account["id"]))
    return json_response(Detail(detail="Je wachtwoord is gewijzigd. Op andere apparaten ben je uitgelogd."))
