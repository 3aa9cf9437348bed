from __future__ import annotations

from aiohttp import web

from services.dossier.settings import DossierSettings
from shared.api import Api
from shared.app import ServiceSpec, create_app

api = Api(title="Doorstroom dossier")


def make_app(settings: DossierSettings | None = None) -> web.Application:
    settings = settings or DossierSettings()
    spec = ServiceSpec(name="dossier", api=api, migrations=None)
    return create_app(spec, settings)
