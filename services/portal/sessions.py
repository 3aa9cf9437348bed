"""Server-side sessions: the cookie carries a random id (HttpOnly, Secure, SameSite=Lax); the row,
keyed by the id's hash, holds the access and refresh tokens and small page state (flash messages,
search terms, single-use link tokens kept out of URLs).

Nothing in the row lets one act as the user without the cookie: the tokens and the page state are
encrypted (AES-256-GCM) with a key derived from the cookie's id (HKDF-SHA256), of which the row
keeps only a SHA-256 hash, and the CSRF token is derived from the id as well. A dump of the table
alone opens no session, no link and no form."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.app import DB, SETTINGS
from shared.auth import Principal
from shared.periodic import periodic

log = logging.getLogger(__name__)

SESSION_KEY = web.RequestKey("portal_session", object)
_NEW_COOKIE = web.RequestKey("portal_new_cookie", str)
_CLEAR_COOKIE = web.RequestKey("portal_clear_cookie", bool)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _derive(session_id: str, what: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"doorstroom.portal.session.v1:{what}".encode()).derive(session_id.encode())


def _keys(session_id: str) -> tuple[bytes, str]:
    """The session's encryption key and its CSRF token, both from the cookie's id alone."""
    return _derive(session_id, "seal"), base64.urlsafe_b64encode(_derive(session_id, "csrf")).rstrip(b"=").decode()


def _seal(key: bytes, id_hash: str, column: str, value: Any) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, json.dumps(value).encode(), f"{id_hash}:{column}".encode())


def _open(key: bytes, id_hash: str, column: str, blob: bytes | None) -> Any:
    if blob is None:
        return None
    return json.loads(AESGCM(key).decrypt(blob[:12], blob[12:], f"{id_hash}:{column}".encode()))


@dataclass
class Session:
    id_hash: str
    csrf_token: str
    key: bytes = field(default=b"", repr=False)  # from the cookie; never stored
    data: dict[str, Any] = field(default_factory=dict)
    principal: Principal | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    access_expires_at: datetime | None = None
    dirty: bool = False
    # the API calls of one page may run at the same time: one of them refreshes the tokens
    refresh_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)

    @property
    def logged_in(self) -> bool:
        return self.principal is not None and self.access_token is not None

    def flash(self, message: str, kind: str = "info") -> None:
        self.data.setdefault("flash", []).append({"message": message, "kind": kind})
        self.dirty = True

    def pop_flashes(self) -> list[dict[str, str]]:
        flashes = self.data.pop("flash", [])
        if flashes:
            self.dirty = True
        return flashes

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.dirty = True

    def pop(self, key: str, default: Any = None) -> Any:
        if key in self.data:
            self.dirty = True
        return self.data.pop(key, default)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def sealed_tokens(self) -> bytes | None:
        if self.access_token is None and self.refresh_token is None:
            return None
        return _seal(self.key, self.id_hash, "tokens", {"access": self.access_token, "refresh": self.refresh_token})

    def sealed_data(self) -> bytes:
        return _seal(self.key, self.id_hash, "data", self.data)


def _row_to_session(row, key: bytes, csrf_token: str) -> Session:
    principal = Principal.model_validate(row["principal"]) if row["principal"] else None
    tokens = _open(key, row["id_hash"], "tokens", row["tokens"]) or {}
    return Session(id_hash=row["id_hash"], csrf_token=csrf_token, key=key,
                   data=dict(_open(key, row["id_hash"], "data", row["data"]) or {}),
                   principal=principal, access_token=tokens.get("access"),
                   refresh_token=tokens.get("refresh"), access_expires_at=row["access_expires_at"])


# One round trip per page: the live row, and "last seen" moved on only when it is more than a
# sixtieth of the idle time old (a minute for an hour), so most pages read the row without writing
# it. A session may so end up to that sixtieth before the full idle time: never later.
TOUCH_PARTS = 60
_LOAD = """
    WITH live AS (
        SELECT id_hash, data, principal, tokens, access_expires_at, last_seen_at FROM portal_sessions
        WHERE id_hash = $1 AND expires_at > now() AND last_seen_at > now() - $2::interval),
    touched AS (
        UPDATE portal_sessions s SET last_seen_at = now() FROM live
        WHERE s.id_hash = live.id_hash AND live.last_seen_at < now() - $3::interval)
    SELECT id_hash, data, principal, tokens, access_expires_at FROM live"""


async def _load(request: web.Request) -> Session | None:
    cookie = request.cookies.get(request.app[SETTINGS].session_cookie)
    if not cookie or len(cookie) > 100:
        return None
    settings = request.app[SETTINGS]
    idle = timedelta(minutes=settings.session_idle_minutes)
    async with request.app[DB].acquire(timeout=10) as conn:
        row = await conn.fetchrow(_LOAD, _hash(cookie), idle, idle / TOUCH_PARTS)
    if row is None:
        return None
    try:
        return _row_to_session(row, *_keys(cookie))
    except (InvalidTag, ValueError):  # not this cookie's row (cannot happen short of a hash collision)
        log.warning("portal session could not be opened")
        return None


def current(request: web.Request) -> Session | None:
    return request.get(SESSION_KEY)


async def remember_search(request: web.Request, key: str) -> None:
    """The posted search term (``q``) goes into the session, not the URL: names are personal data."""
    post = await request.post()
    current(request).put(key, str(post.get("q", "")).strip()[:100])


async def ensure(request: web.Request) -> Session:
    """The visitor's session, made now (and its cookie set on the response) when there is none."""
    session = current(request)
    if session is not None:
        return session
    return await _create(request, data={})


async def _create(request: web.Request, *, data: dict, principal: Principal | None = None,
                  tokens: dict | None = None) -> Session:
    settings = request.app[SETTINGS]
    session_id = secrets.token_urlsafe(32)
    key, csrf_token = _keys(session_id)
    session = Session(id_hash=_hash(session_id), csrf_token=csrf_token, key=key, data=data, principal=principal)
    if tokens:
        _apply_tokens(session, tokens)
    expires = datetime.now(UTC) + timedelta(hours=settings.session_max_hours)
    async with request.app[DB].acquire(timeout=10) as conn:
        await conn.execute(
            """INSERT INTO portal_sessions (id_hash, data, principal, tokens, access_expires_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            session.id_hash, session.sealed_data(), principal.model_dump(mode="json") if principal else None,
            session.sealed_tokens(), session.access_expires_at, expires)
    request[SESSION_KEY] = session
    request[_NEW_COOKIE] = session_id
    return session


def _apply_tokens(session: Session, tokens: dict) -> None:
    session.access_token = tokens["access_token"]
    session.refresh_token = tokens.get("refresh_token") or session.refresh_token
    ttl = int(tokens.get("expires_in") or 900)
    session.access_expires_at = datetime.now(UTC) + timedelta(seconds=ttl)


async def log_in(request: web.Request, principal: Principal, tokens: dict) -> Session:
    """A fresh session (new id, new CSRF token: no fixation) for the one who just logged in; the
    anonymous session's page state that matters (nothing personal) is not carried over."""
    old = current(request)
    if old is not None:
        await _delete(request, old)
    return await _create(request, data={}, principal=principal, tokens=tokens)


async def store_tokens(request: web.Request, session: Session, principal: Principal, tokens: dict) -> None:
    session.principal = principal
    _apply_tokens(session, tokens)
    async with request.app[DB].acquire(timeout=10) as conn:
        await conn.execute(
            """UPDATE portal_sessions SET principal = $2, tokens = $3, access_expires_at = $4 WHERE id_hash = $1""",
            session.id_hash, principal.model_dump(mode="json"), session.sealed_tokens(), session.access_expires_at)


async def refresh_serialised(request: web.Request, session: Session,
                             fetch: Callable[[str], Awaitable[tuple[Principal, dict]]]) -> bool:
    """Refresh the session's tokens with ``fetch(refresh_token)``, one request at a time: identity
    replaces a refresh token when it is used and ends the session when one is used twice, so two
    requests of one session (also in two processes) must not both refresh. The row lock serialises
    them; the second one finds the fresh tokens and takes those. False when there is no session."""
    async with request.app[DB].acquire(timeout=10) as conn, conn.transaction():
        row = await conn.fetchrow("SELECT * FROM portal_sessions WHERE id_hash = $1 FOR UPDATE", session.id_hash)
        if row is None:
            return False
        stored = _row_to_session(row, session.key, session.csrf_token)
        fresh_until = datetime.now(UTC) + timedelta(seconds=60)
        if stored.access_token != session.access_token and stored.access_expires_at \
                and stored.access_expires_at > fresh_until:
            principal, tokens = stored.principal, None  # another request refreshed first
        else:
            principal, tokens = await fetch(stored.refresh_token or "")
        if tokens is None:
            session.principal, session.access_token = stored.principal, stored.access_token
            session.refresh_token, session.access_expires_at = stored.refresh_token, stored.access_expires_at
            return True
        session.principal = principal
        _apply_tokens(session, tokens)
        await conn.execute(
            """UPDATE portal_sessions SET principal = $2, tokens = $3, access_expires_at = $4 WHERE id_hash = $1""",
            session.id_hash, principal.model_dump(mode="json"), session.sealed_tokens(), session.access_expires_at)
    return True


async def log_out(request: web.Request) -> None:
    session = current(request)
    if session is not None:
        await _delete(request, session)
    request[SESSION_KEY] = None
    request[_CLEAR_COOKIE] = True


async def _delete(request: web.Request, session: Session) -> None:
    async with request.app[DB].acquire(timeout=10) as conn:
        await conn.execute("DELETE FROM portal_sessions WHERE id_hash = $1", session.id_hash)


async def _save(request: web.Request, session: Session) -> None:
    async with request.app[DB].acquire(timeout=10) as conn:
        await conn.execute("UPDATE portal_sessions SET data = $2 WHERE id_hash = $1",
                           session.id_hash, session.sealed_data())
    session.dirty = False


def _cookie(request: web.Request, response: web.StreamResponse) -> None:
    settings = request.app[SETTINGS]
    if request.get(_CLEAR_COOKIE) and not request.get(_NEW_COOKIE):
        response.del_cookie(settings.session_cookie, path="/", secure=settings.cookie_secure,
                            httponly=True, samesite="Lax")
    elif request.get(_NEW_COOKIE):
        # no Max-Age: the cookie ends with the browser (shared school laptops); the server ends the
        # session after SESSION_IDLE_MINUTES unused or SESSION_MAX_HOURS in any case
        response.set_cookie(settings.session_cookie, request[_NEW_COOKIE], path="/", httponly=True,
                            secure=settings.cookie_secure, samesite="Lax")


@web.middleware
async def session_middleware(request: web.Request, handler):
    if request.path.startswith("/static/") or request.path in ("/healthz", "/readyz", "/openapi.json"):
        return await handler(request)
    request[SESSION_KEY] = await _load(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        await _finish(request)
        _cookie(request, exc)
        raise
    await _finish(request)
    _cookie(request, response)
    return response


async def _finish(request: web.Request) -> None:
    session = current(request)
    if session is not None and session.dirty:
        await _save(request, session)


async def _sweep(app: web.Application) -> None:
    """Remove ended and idle sessions."""
    async with app[DB].acquire(timeout=10) as conn:
        await conn.execute("DELETE FROM portal_sessions WHERE expires_at < now() OR last_seen_at < now() - $1::interval",
                           timedelta(minutes=app[SETTINGS].session_idle_minutes))


sweeper = periodic("session-sweeper", 600, _sweep)
