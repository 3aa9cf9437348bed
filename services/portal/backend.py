"""Calls to the other services' HTTP APIs, with the signed-in person's token, refreshed transparently.

The portal never reads another service's database: every page is made from these calls. Problems
(RFC 9457) come back as `ApiError` with the Dutch detail and per-field errors; an unreachable
service is `BackendDown`; a session whose tokens can no longer be refreshed is `LoginRequired`.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from services.portal import sessions
from shared import tracing
from shared.app import SETTINGS
from shared.auth import VERIFIER, Principal
from shared.problems import Problem

log = logging.getLogger(__name__)

HTTP = web.AppKey("portal_http", aiohttp.ClientSession)
REFRESH_MARGIN = timedelta(seconds=60)


@dataclass
class ApiError(Exception):
    status: int
    detail: str
    code: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code or ''} {self.detail}"

    def field_errors(self) -> dict[str, str]:
        """Per field id (the last part of a dotted field name) the first message."""
        result: dict[str, str] = {}
        for err in self.errors:
            name = str(err.get("field", "")).split(".")[-1]
            result.setdefault(name, str(err.get("message", "")))
        return result


class BackendDown(Exception):
    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.service = service


class LoginRequired(Exception):
    def __init__(self, message: str = "Log in om verder te gaan.") -> None:
        super().__init__(message)
        self.message = message


def logged_in(request: web.Request, *roles: str) -> sessions.Session:
    """The visitor's session, logged in with one of ``roles`` (any role when none are given). Not
    logged in: to the login page. Another role: 404, for a page that is not theirs is no page."""
    session = sessions.current(request)
    if session is None or not session.logged_in:
        raise LoginRequired()
    if roles and session.principal.role not in roles:
        raise web.HTTPNotFound()
    return session


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    content_type: str

    def json(self) -> Any:
        import json
        return json.loads(self.body or b"null")


async def http_client(app: web.Application) -> AsyncIterator[None]:
    timeout = aiohttp.ClientTimeout(total=app[SETTINGS].backend_timeout_seconds)
    # one session for every backend and every visitor: its connections stay open (keep-alive) and are
    # reused by the next call. No cookie jar: the APIs work with bearer tokens, and a cookie one
    # visitor's call got must never go along with another visitor's call.
    app[HTTP] = aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(),
                                      connector=aiohttp.TCPConnector(limit=300, limit_per_host=100))
    yield
    await app[HTTP].close()


def _base(request: web.Request, service: str) -> str:
    settings = request.app[SETTINGS]
    return {"identity": settings.identity_url, "dossier": settings.dossier_url,
            "document": settings.document_url}[service].rstrip("/")


async def raw_call(request: web.Request, service: str, method: str, path: str, *, token: str | None = None,
                   json: Any = None, data: Any = None, params: dict | None = None,
                   headers: dict[str, str] | None = None) -> Reply:
    """One call; 4xx answers raise ApiError, 5xx and connection failures BackendDown."""
    send = dict(headers or {})
    if token:
        send["Authorization"] = f"Bearer {token}"
    rid = request.headers.get("X-Request-ID")
    if rid:
        send["X-Request-ID"] = rid
    url = _base(request, service) + path
    try:
        # a client span of the page's trace; its traceparent goes along, so the API's work and
        # the events it writes continue the same trace (no path in it: paths carry ids)
        with tracing.span("portal", f"{method} {service}", kind=tracing.SpanKind.CLIENT,
                          attributes={"http.request.method": method, "peer.service": service}) as span:
            tracing.inject(send)
            async with request.app[HTTP].request(method, url, json=json, data=data, params=params,
                                                 headers=send) as r:
                body = await r.read()
                reply = Reply(r.status, dict(r.headers), body, r.content_type)
            span.set_attribute("http.response.status_code", reply.status)
    except (TimeoutError, aiohttp.ClientError) as exc:
        log.warning("backend unreachable", extra={"fields": {"service": service, "error": type(exc).__name__}})
        raise BackendDown(service) from None
    if reply.status >= 500:
        log.warning("backend error", extra={"fields": {"service": service, "status": reply.status,
                                                       "path": path}})
        raise BackendDown(service)
    if reply.status >= 400:
        problem: dict[str, Any] = {}
        try:
            problem = reply.json() if reply.body else {}
        except ValueError:
            problem = {}
        if not isinstance(problem, dict):
            problem = {}
        raise ApiError(reply.status, str(problem.get("detail") or "Dit lukte niet."), problem.get("code"),
                       list(problem.get("errors") or []), problem)
    return reply


async def principal_from(request: web.Request, access_token: str) -> Principal:
    try:
        return await request.app[VERIFIER].verify(access_token)
    except Problem as problem:
        raise LoginRequired(problem.detail) from None


async def refresh(request: web.Request, session: sessions.Session) -> None:
    from services.portal import api_identity  # the paths of identity live there

    async def fetch(refresh_token: str) -> tuple[Principal, dict]:
        if not refresh_token:
            raise LoginRequired("Je sessie is verlopen. Log opnieuw in.")
        tokens = await api_identity.refresh_tokens(request, refresh_token)
        return await principal_from(request, tokens["access_token"]), tokens

    try:
        if await sessions.refresh_serialised(request, session, fetch):
            return
    except ApiError:
        pass
    await sessions.log_out(request)
    raise LoginRequired("Je sessie is verlopen. Log opnieuw in.")


def _expiring(session: sessions.Session) -> bool:
    expires = session.access_expires_at
    return expires is None or expires - REFRESH_MARGIN < datetime.now(UTC)


async def _refresh_once(request: web.Request, session: sessions.Session, stale: str | None) -> None:
    """Refresh unless another call of this page did so while we waited (its token is not ``stale``)."""
    async with session.refresh_lock:
        if session.access_token == stale:
            await refresh(request, session)


async def call(request: web.Request, service: str, method: str, path: str, **kwargs: Any) -> Reply:
    """A call as the signed-in person; the access token is refreshed when (nearly) expired."""
    session = sessions.current(request)
    if session is None or not session.logged_in:
        raise LoginRequired()
    if _expiring(session):
        async with session.refresh_lock:
            if _expiring(session):
                await refresh(request, session)
    token = session.access_token
    try:
        return await raw_call(request, service, method, path, token=token, **kwargs)
    except ApiError as err:
        if err.status != 401:
            raise
    await _refresh_once(request, session, token)  # the token was refused (revoked, keys rotated): once more
    try:
        return await raw_call(request, service, method, path, token=session.access_token, **kwargs)
    except ApiError as err:
        if err.status == 401:
            await sessions.log_out(request)
            raise LoginRequired("Je sessie is verlopen. Log opnieuw in.") from None
        raise


async def together(*calls: Awaitable[Any]) -> list[Any]:
    """The API calls of one page at the same time (a page costs the slowest call, not their sum).
    The first failure cancels the others and is raised as it is (LoginRequired, ApiError,
    BackendDown), so the page's error handling stays what it is for one call."""
    tasks = [asyncio.ensure_future(c) for c in calls]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def get_json(request: web.Request, service: str, path: str, **kwargs: Any) -> Any:
    return (await call(request, service, "GET", path, **kwargs)).json()


async def send_json(request: web.Request, service: str, method: str, path: str, body: Any = None,
                    **kwargs: Any) -> Any:
    reply = await call(request, service, method, path, json=body if body is not None else {}, **kwargs)
    if not reply.body:
        return {}
    try:
        return reply.json()
    except ValueError:
        return {}
