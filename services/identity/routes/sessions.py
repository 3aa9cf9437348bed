"""Logging in and out: an access token (Ed25519, 15 minutes) plus a server-side session whose
opaque refresh token rotates on every use. Throttled per account and per address: a try is counted
before the password is checked (``store/throttle.py``), so parallel tries cannot pass the limit.
A logout, and a refresh token used twice (its session ends), publish identity.access_ended, so the
other services refuse the session's access tokens at once."""
from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.identity.context import HASHER, KEYRING, VAULT, api, client_ip, settings_of
from services.identity.domain.emails import normalize_email
from services.identity.domain.throttle import Limits
from services.identity.domain.tokens import hash_token, new_token
from services.identity.settings import IdentitySettings
from services.identity.store import throttle
from services.identity.store.principals import principal_for
from services.identity.store.sessions import access_ended, end_sessions
from shared.api import json_response, read_body
from shared.app import DB, OUTBOX
from shared.auth import Principal, require
from shared.problems import Problem
from shared.text import SingleLine

LOGIN_FAILED = "Het e-mailadres of het wachtwoord klopt niet."
# told only to who gave the right password: a deactivated member of staff learns why, and whom to ask
ACCOUNT_INACTIVE = ("Je account is niet meer actief: je kunt niet inloggen. Vraag je schoolbeheerder om je account "
                    "weer actief te maken als dat niet klopt.")
NOT_LOGGED_IN = "Je bent niet (meer) ingelogd. Log opnieuw in."


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: SingleLine = Field(max_length=254)
    password: SingleLine = Field(max_length=4096)


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: SingleLine = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    refresh_token: str
    role: str


def login_limits(settings: IdentitySettings) -> tuple[Limits, Limits]:
    window, block = (timedelta(minutes=settings.throttle_window_minutes),
                     timedelta(minutes=settings.throttle_block_minutes))
    return (Limits(settings.login_account_soft_limit, settings.login_account_hard_limit, window, block,
                   settings.throttle_max_delay_seconds),
            Limits(settings.login_ip_soft_limit, settings.login_ip_hard_limit, window, block,
                   settings.throttle_max_delay_seconds))


async def _tokens(request: web.Request, conn: asyncpg.Connection, principal: Principal,
                  session_id: uuid.UUID) -> TokenOut:
    refresh = new_token()
    await conn.execute("INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)",
                       hash_token(refresh), session_id)
    ring = request.app[KEYRING]
    await ring.refresh_if_stale(conn)
    return TokenOut(access_token=ring.sign(principal), expires_in=ring.token_ttl, refresh_token=refresh,
                    role=principal.role)


async def fresh_access_token(request: web.Request, conn: asyncpg.Connection, principal: Principal) -> str:
    """A new access token for the same session (after something in it changed, e.g. a redeemed code)."""
    again = await principal_for(conn, principal.account_id, uuid.UUID(principal.session_id))
    if again is None:
        raise Problem(401, NOT_LOGGED_IN, code="session-ended")
    ring = request.app[KEYRING]
    await ring.refresh_if_stale(conn)
    return ring.sign(again)


@api.route("POST", "/v1/sessions", summary="Inloggen met e-mail en wachtwoord: access token en refresh token",
           body=LoginIn, response=TokenOut, status=201, tags=("inloggen",), statuses=(401,))
async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LoginIn)
    settings, vault, hasher = settings_of(request), request.app[VAULT], request.app[HASHER]
    email = normalize_email(body.email)
    account_limits, ip_limits = login_limits(settings)
    account_key = vault.lookup_hash(email, purpose="login-account")
    ip_key = vault.lookup_hash(client_ip(request), purpose="login-ip")
    # the try is counted before the (slow) check: parallel tries count one by one, and one beyond the
    # limit is refused without a check, with the answer of a wrong password
    checks = [("login-account", account_key, account_limits), ("login-ip", ip_key, ip_limits)]
    async with request.app[DB].acquire(timeout=10) as conn:
        if not await throttle.reserve(conn, checks):
            raise Problem(401, LOGIN_FAILED, code="login-failed")
        account = await conn.fetchrow("SELECT id, password_hash, active FROM accounts WHERE email = $1", email)
    stored = account["password_hash"] if account else None
    ok = await hasher.verify(stored, body.password)  # off the loop, and as slow for unknown addresses
    inactive = ok and not account["active"]
    ok = ok and not inactive
    # the counted try is settled (should the request end here, it stays counted: the safe side)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        if ok:
            session_id = uuid.uuid4()
            principal = await principal_for(conn, account["id"], session_id)
            ok = principal is not None
        if not ok:
            await throttle.failed(conn, "login-account", account_key, account_limits)
            await throttle.failed(conn, "login-ip", ip_key, ip_limits)
        else:
            await throttle.reset(conn, "login-account", account_key)
            await throttle.release(conn, "login-ip", ip_key)
            await conn.execute("INSERT INTO sessions (id, account_id, expires_at) VALUES ($1, $2, now() + $3::interval)",
                               session_id, account["id"], timedelta(hours=settings.session_max_hours))
            tokens = await _tokens(request, conn, principal, session_id)
    if inactive:
        raise Problem(401, ACCOUNT_INACTIVE, code="account-inactive")
    if not ok:
        raise Problem(401, LOGIN_FAILED, code="login-failed")
    if hasher.needs_rehash(stored):  # the cost settings changed since this hash was made
        new_hash = await hasher.hash(body.password)
        async with request.app[DB].acquire(timeout=10) as conn:
            await conn.execute("UPDATE accounts SET password_hash = $2 WHERE id = $1 AND password_hash = $3",
                               account["id"], new_hash, stored)
    return json_response(tokens, status=201)


@api.route("POST", "/v1/sessions/refresh", summary="Nieuw access token met het refresh token (dat daarbij vervangen wordt)",
           body=RefreshIn, response=TokenOut, tags=("inloggen",), statuses=(401,))
async def refresh(request: web.Request) -> web.Response:
    body = await read_body(request, RefreshIn)
    reused = False
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        row = await conn.fetchrow(
            """SELECT r.used_at, s.id AS session_id, s.account_id, s.ended_at IS NULL AND s.expires_at > now() AS open
               FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
               WHERE r.token_hash = $1 FOR UPDATE OF r, s""", hash_token(body.refresh_token))
        if row is None or not row["open"]:
            raise Problem(401, NOT_LOGGED_IN, code="session-ended")
        if row["used_at"] is not None:
            # a refresh token used twice: it was copied; end the session for the real owner's safety
            _, ended_at = await end_sessions(conn, row["account_id"], session_id=row["session_id"])
            await access_ended(conn, request.app[OUTBOX], row["account_id"], "session_revoked", ended_at,
                               row["session_id"])
            reused = True
        else:
            await conn.execute("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1",
                               hash_token(body.refresh_token))
            await conn.execute("UPDATE sessions SET refreshed_at = now() WHERE id = $1", row["session_id"])
            principal = await principal_for(conn, row["account_id"], row["session_id"])
            if principal is None:
                raise Problem(401, NOT_LOGGED_IN, code="session-ended")
            tokens = await _tokens(request, conn, principal, row["session_id"])
    if reused:
        raise Problem(401, NOT_LOGGED_IN, code="session-ended")
    return json_response(tokens)


@api.route("DELETE", "/v1/sessions/current", summary="Uitloggen: de sessie eindigt, het refresh token werkt niet meer",
           status=204, tags=("inloggen",), auth=True)
async def logout(request: web.Request) -> web.Response:
    principal = await require(request)
    session_id = uuid.UUID(principal.session_id)
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        ended, ended_at = await end_sessions(conn, principal.account_id, session_id=session_id)
        if ended:
            await access_ended(conn, request.app[OUTBOX], principal.account_id, "logout", ended_at, session_id)
    return web.Response(status=204)
