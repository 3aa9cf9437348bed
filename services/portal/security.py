"""Security headers on every answer and CSRF protection on every form post."""
from __future__ import annotations

import hmac

from aiohttp import web

from services.portal import sessions
from shared.app import SETTINGS

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # links from mails carry a token only until the portal moves it into the session (one redirect);
    # "same-origin" keeps the Origin header on our own form posts ("no-referrer" turns it into null)
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# Only over HTTPS (browsers ignore it over plain HTTP anyway): the portal is served over HTTPS when
# the request came over TLS or the deployment says so (PUBLIC_BASE_URL https://...).
HSTS = "max-age=31536000; includeSubDomains"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = {"GET", "HEAD", "OPTIONS"}


class CsrfRejected(Exception):
    """A post without the session's token: from another site, or a page that is too old."""


def _secure_headers(response: web.StreamResponse, request: web.Request) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.secure or request.app[SETTINGS].public_base_url.startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "public, max-age=86400")
    else:
        # pages carry personal data: never in a shared cache or the back-forward history of others
        response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def headers_middleware(request: web.Request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure_headers(exc, request)
        raise
    if not response.prepared:
        _secure_headers(response, request)
    return response


def _same_origin(request: web.Request) -> bool:
    """A post that names another site as its origin is refused (the CSRF token is checked as well).
    Behind a proxy the Host may differ from the public address: PUBLIC_BASE_URL counts as ours too."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return True
    public = request.app[SETTINGS].public_base_url.rstrip("/")
    return origin.rstrip("/") == public or origin.split("://", 1)[-1] == request.host


@web.middleware
async def csrf_middleware(request: web.Request, handler):
    if request.method in _SAFE or request.path in ("/healthz", "/readyz"):
        return await handler(request)
    session = sessions.current(request)
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        sent = str(form.get(CSRF_FIELD, ""))
    if (session is None or not sent or not _same_origin(request)
            or not hmac.compare_digest(sent.encode(), session.csrf_token.encode())):
        raise CsrfRejected()
    return await handler(request)
