"""Server-side sessions: the cookie carries a random id (HttpOnly, Secure, SameSite=Lax); the row,
keyed by the id's hash, holds the CSRF token, the access and refresh tokens and small page state
(flash messages, search terms, single-use link tokens kept out of URLs)."""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Awaitable, Callable

from aiohttp import web

from shared.app import DB, SETTINGS
from shared.auth import Principal
from shared.periodic import periodic

log = logging.getLogger(__name__)

SESSION_KEY = web.RequestKey("portal_session", object)
_NEW_COOKIE = web.RequestKey("portal_new_cookie", str)
_CLEAR_COOKIE = web.RequestKey("portal_clear_cookie", bool)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass
class Session:
    id_hash: str
    csrf_token: str
    data: dict[str, Any] = field(default_factory=dict)
    principal: Principal | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    access_expires_at: datetime | None = None
    dirty: bool = False

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


def _row_to_session(row) -> Session:
    principal = Principal.model_validate(row["principal"]) if row["principal"] else None
    return Session(id_hash=row["id_hash"], csrf_token=row["csrf_token"], data=dict(row["data"] or {}),
                   principal=principal, access_token=row["access_token"],
                   refresh_token=row["refresh_token"], access_expires_at=row["access_expires_at"])


async def _load(request: web.Request) -> Session | None:
    cookie = request.cookies.get(request.app[SETTINGS].session_cookie)
    if not cookie or len(cookie) > 100:
        return None
    settings = request.app[SETTINGS]
    idle = timedelta(minutes=settings.session_idle_minutes)
    async with request.app[DB].acquire(timeout=10) as conn:
        row = await conn.fetchrow(
            """UPDATE portal_sessions SET last_seen_at = now()
               WHERE id_hash = $1 AND expires_at > now() AND last_seen_at > now() - $2::interval
               RETURNING *""", _hash(cookie), idle)
    return _row_to_session(row) if row else None


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
    session = Session(id_hash=_hash(session_id), csrf_token=secrets.token_urlsafe(32), data=data,
                      principal=principal)
    if tokens:
        _apply_tokens(session, tokens)
    expires = datetime.now(UTC) + timedelta(hours=settings.session_max_hours)
    async with request.app[DB].acquire(timeout=10) as conn:
        await conn.execute(
            """INSERT INTO portal_sessions (id_hash, csrf_token, data, principal, access_token,
                   refresh_token, access_expires_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            session.id_hash, session.csrf_token, session.data,
            principal.model_dump(mode="json") if principal else None,
            session.access_token, session.refresh_token, session.access_expires_at, expires)
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
            """UPDATE portal_sessions SET principal = $2, access_token = $3, refresh_token = $4,
                   access_expires_at = $5 WHERE id_hash = $1""",
            session.id_hash, principal.model_dump(mode="json"), session.access_token,
            session.refresh_token, session.access_expires_at)


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
        stored = _row_to_session(row)
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
            """UPDATE portal_sessions SET principal = $2, access_token = $3, refresh_token = $4,
                   access_expires_at = $5 WHERE id_hash = $1""",
            session.id_hash, principal.model_dump(mode="json"), session.access_token,
            session.refresh_token, session.access_expires_at)
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
                           session.id_hash, session.data)
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
