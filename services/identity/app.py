from __future__ import annotations

from aiohttp import web

from services.identity.settings import IdentitySettings
from services.identity.verification import api
from shared.app import ServiceSpec, create_app


def make_app(settings: IdentitySettings | None = None) -> web.Application:
    settings = settings or IdentitySettings()
    spec = ServiceSpec(name="identity", api=api, migrations="services.identity.migrations")
    return create_app(spec, settings)
