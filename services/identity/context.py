"""What identity's handlers share: the Api they register on, typed app keys, small helpers."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from services.identity.hasher import PasswordHasher
from services.identity.settings import IdentitySettings
from services.identity.signing import KeyRing
from services.identity.vault import Vault
from shared.api import Api
from shared.app import SETTINGS
from shared.problems import Problem
from shared.text import single_line_problem

api = Api(title="Doorstroom identity")

HASHER = web.AppKey("password_hasher", PasswordHasher)
VAULT = web.AppKey("vault", Vault)
KEYRING = web.AppKey("keyring", KeyRing)


def today() -> date:
    """The day in the Netherlands: leaving dates and school years are counted in it."""
    return datetime.now(ZoneInfo("Europe/Amsterdam")).date()


def settings_of(request: web.Request) -> IdentitySettings:
    settings = request.app[SETTINGS]
    assert isinstance(settings, IdentitySettings)
    return settings


def client_ip(request: web.Request) -> str:
    """The caller's address; behind ``trusted_proxies`` proxies, taken from X-Forwarded-For."""
    hops = settings_of(request).trusted_proxies
    if hops:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.remote or "unknown"


def single_line_param(value: str, field: str) -> str:
    """``value`` when it holds no control character, else 422 with the Dutch message for ``field``:
    for the query parameters and headers that no pydantic model checks."""
    if (problem := single_line_problem(value)) is not None:
        raise Problem(422, "Niet alle gegevens zijn goed ingevuld.", code="invalid-input",
                      errors=[{"field": field, "message": problem}])
    return value


def path_uuid(request: web.Request, name: str, missing: str) -> uuid.UUID:
    """A uuid from the path; anything else is simply not found."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise Problem(404, missing) from None
