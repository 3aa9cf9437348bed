from __future__ import annotations

from aiohttp import web

from services.document.settings import DocumentSettings
from shared.api import Api
from shared.app import ServiceSpec, create_app

api = Api(title="Doorstroom document")


def make_app(settings: DocumentSettings | None = None) -> web.Application:
    settings = settings or DocumentSettings()
    spec = ServiceSpec(name="document", api=api, migrations=None)
    return create_app(spec, settings)
