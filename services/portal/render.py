"""HTML pages from Jinja templates (autoescaped), with the session's CSRF token, flash messages
and the signed-in person's navigation."""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from services.portal import sessions
from shared.app import SETTINGS
from shared.auth import ROLE_LABELS

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

STATE_LABELS = {"part_a": "Deel A invullen", "part_b": "Deel B invullen",
                "agreement": "Akkoordverklaring invullen", "completed": "Afgerond"}
HOME_BY_ROLE = {"student": "/leerling", "mentor": "/school", "counsellor": "/school",
                "school_admin": "/beheer", "mbo_staff": "/mbo", "admin": "/platform"}


@cache
def _static_version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    return f"/static/{name}?v={_static_version(name)}"


def _when(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                value = date.fromisoformat(value[:10])
            except ValueError:
                return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(AMSTERDAM)
        return value.strftime("%d-%m-%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    return str(value)


def _day(value: Any) -> str:
    return _when(value)[:10]


def _state(value: Any) -> str:
    return STATE_LABELS.get(str(value), str(value or ""))


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(jinja2.Environment):
    """``row.name`` on the API's JSON (dicts) without the exception Jinja's own lookup raises first
    (it tries the attribute, then the key): the same answer, a third of a page's rendering less."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


@cache
def environment() -> jinja2.Environment:
    # templates are compiled once per process and kept (no stat of every template on every page:
    # they change only with a new release, which restarts the process)
    env = _Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                       autoescape=jinja2.select_autoescape(default=True), auto_reload=False, cache_size=-1,
                       undefined=jinja2.ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(static=static_url, role_labels=ROLE_LABELS)
    env.filters.update(when=_when, day=_day, state=_state)
    return env


async def render(request: web.Request, template: str, context: dict[str, Any] | None = None, *,
                 status: int = 200) -> web.Response:
    session = await sessions.ensure(request)
    settings = request.app[SETTINGS]
    principal = session.principal if session.logged_in else None
    ctx = {"request": request, "csrf_token": session.csrf_token, "flashes": session.pop_flashes(),
           "user": principal, "home": HOME_BY_ROLE.get(principal.role, "/") if principal else "/",
           "settings": settings, "path": request.path,
           "display_name": (session.get("display_name") or (principal.name if principal else "") or "")}
    ctx.update(context or {})
    html = environment().get_template(template).render(ctx)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def redirect(location: str) -> web.HTTPSeeOther:
    """303 See Other: after a post, the browser fetches the next page with GET."""
    return web.HTTPSeeOther(location)


def flash(request: web.Request, message: str, kind: str = "info") -> None:
    session = sessions.current(request)
    if session is not None:
        session.flash(message, kind)
